"""SQL compiled once per process, for the few statements on the booking path.

`Model.objects.create` compiles its INSERT on every call: on the booking path that was about a
third of a millisecond of Python per row, more than the database took (docs/performance.md).
`insert` builds the statement once per model from its metadata and fills it through the
fields' own `pre_save` and `get_db_prep_save`, so defaults, `auto_now_add`, JSON and time zones
come out as the ORM would write them. It sends no model signals, so it refuses a model that has
receivers for them (tests/test_compiled_sql.py reads the rows back and compares them with the
ORM's). Inside `batched()`, a booking's rows go to PostgreSQL as one statement.
"""

import threading
from contextlib import contextmanager
from functools import cache

from django.db import connection
from django.db.models import Model, signals


class RowShape:
    """One model's columns in a hand-written SELECT, and how to turn them back into an instance
    through the same database converters the ORM applies (bookings/sql.py, members/auth.py)."""

    def __init__(self, model: type[Model], alias: str):
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        self.sql = ", ".join(f'{alias}."{f.column}"' for f in self.fields)
        self.cols = [f.get_col(alias) for f in self.fields]
        self.converters = [
            (i, col, connection.ops.get_db_converters(col) + f.get_db_converters(connection))
            for i, (f, col) in enumerate(zip(self.fields, self.cols, strict=True))
        ]
        self.converters = [c for c in self.converters if c[2]]  # most columns need none

    def build(self, row: tuple, offset: int) -> Model:
        values = list(row[offset : offset + len(self.fields)])
        for i, col, converters in self.converters:
            for convert in converters:
                values[i] = convert(values[i], col, connection)
        return self.model.from_db(connection.alias, self.attnames, values)


@cache
def _insert_query(model: type[Model], with_pk: bool = False) -> tuple[str, list, bool]:
    meta = model._meta
    pk = meta.pk
    fields = [f for f in meta.concrete_fields if with_pk or not (f is pk and f.db_returning)]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    returning = connection.features.can_return_columns_from_insert
    if returning:
        sql += f" RETURNING {quote(pk.column)}"
    return sql, fields, returning


def _no_receivers(model: type[Model]) -> None:
    for signal in (signals.pre_save, signals.post_save):
        if signal.has_listeners(model):
            raise TypeError(f"{model.__name__} has save signal receivers: use .save() instead.")


def insert[M: Model](obj: M) -> M:
    """INSERT `obj` (a new instance) and set its primary key, as obj.save() would.

    A primary key already set (see next_id_sql) is written as it is. Inside batched(), the row is
    sent when the batch ends, and only then does a row without a primary key get one.
    """
    _no_receivers(type(obj))
    sql, fields, returning = _insert_query(type(obj), obj.pk is not None)
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    obj._state.adding = False
    obj._state.db = connection.alias
    if (batch := _batch_of_connection()) is not None:
        batch.add(sql, values, returns=obj if returning else None)
        return obj
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        pk = cursor.fetchone()[0] if returning else cursor.lastrowid
    obj.pk = pk
    return obj


@cache
def _update_query(model: type[Model], names: tuple[str, ...]) -> tuple[str, list]:
    meta = model._meta
    fields = [meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"
    return sql, fields


def save_fields(obj: Model, *names: str) -> None:
    """UPDATE the named fields of a saved instance, as obj.save(update_fields=names) would."""
    _no_receivers(type(obj))
    sql, fields = _update_query(type(obj), names)
    values = [f.get_db_prep_save(f.pre_save(obj, False), connection) for f in fields]
    if (batch := _batch_of_connection()) is not None:
        batch.add(sql, [*values, obj.pk], updates=(type(obj), obj.pk))
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, obj.pk])


# --- several writes in one statement -------------------------------------------------------


@cache
def next_id_sql(model: type[Model]) -> str | None:
    """SQL that takes the next primary key from `model`'s sequence (PostgreSQL), so that rows
    written in the same batch can refer to it; None where the database has no sequences."""
    if connection.vendor != "postgresql":
        return None
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [meta.db_table, meta.pk.column])
        sequence = cursor.fetchone()[0]
    if sequence is None:  # a booking's batch needs its keys ahead: say so, write nothing
        raise LookupError(f"{meta.db_table}.{meta.pk.column} is not filled from a sequence.")
    return f"nextval('{sequence}'::regclass)"


def take_id(model: type[Model]) -> int | None:
    """The next primary key of `model`, taken now (PostgreSQL); None elsewhere."""
    if (sql := next_id_sql(model)) is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql}")
        return cursor.fetchone()[0]


def update_one(sql: str, params: list, refusal: Exception) -> None:
    """Run an UPDATE that must change one row, and raise `refusal` when it changes none.

    Inside batched() it runs with the batch, and `refusal` is raised when the batch is sent;
    the caller's transaction (or savepoint) must then roll the batch's other writes back.
    """
    if (batch := _batch_of_connection()) is not None:
        batch.add(f"{sql} RETURNING 1", params, refusal=refusal)
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        changed = cursor.rowcount
    if changed != 1:
        raise refusal


class _Batch:
    def __init__(self):
        self.statements: list[str] = []
        self.params: list = []
        self.returning: list[tuple[int, Model]] = []  # (statement, row) for RETURNING pk
        self.refusals: list[tuple[int, Exception]] = []  # (statement, raised if no row)
        self.updated: set[tuple] = set()

    def add(self, sql: str, params: list, *, returns=None, updates=None, refusal=None) -> None:
        if updates is not None:
            if updates in self.updated:  # one statement cannot change a row twice
                raise ValueError(f"{updates[0].__name__} {updates[1]} is updated twice.")
            self.updated.add(updates)
        if returns is not None:
            self.returning.append((len(self.statements), returns))
        if refusal is not None:
            self.refusals.append((len(self.statements), refusal))
        self.statements.append(sql)
        self.params.extend(params)

    def send(self) -> None:
        if not self.statements:
            return
        parts = ", ".join(f"w{i} AS ({sql})" for i, sql in enumerate(self.statements))
        results = [f"(SELECT * FROM w{i})" for i, _ in self.returning]
        results += [f"(SELECT count(*) FROM w{i})" for i, _ in self.refusals]
        with connection.cursor() as cursor:
            cursor.execute(f"WITH {parts} SELECT {', '.join(results) or 'NULL'}", self.params)
            row = cursor.fetchone()
        pks, changes = row[: len(self.returning)], row[len(self.returning) :][: len(self.refusals)]
        for (_, refusal), changed in zip(self.refusals, changes, strict=True):
            if changed != 1:
                raise refusal
        for (_, obj), pk in zip(self.returning, pks, strict=True):
            obj.pk = pk


_local = threading.local()


def _batch_of_connection() -> _Batch | None:
    return getattr(_local, "batch", None)


@contextmanager
def batched():
    """Send the insert(), save_fields() and update_one() calls made inside as one statement.

    On PostgreSQL the writes go as one WITH query: one round trip and one statement for the
    server to run instead of one per row (docs/performance.md). Its parts run on one snapshot
    and cannot see each other's rows, so none may depend on another (take a row's primary key
    ahead with next_id_sql or take_id) and none may update the same row twice. Elsewhere, and when
    nested, the writes go one by one as usual. Use inside a transaction and open no savepoint
    inside; on an error nothing of the batch is sent.
    """
    if connection.vendor != "postgresql" or _batch_of_connection() is not None:
        yield
        return
    batch = _local.batch = _Batch()
    try:
        yield
    finally:
        _local.batch = None
    batch.send()
