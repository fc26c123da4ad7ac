"""SQL compiled once per process, for the few statements on the booking path.

`Model.objects.create` compiles its INSERT on every call: on the booking path that was about a
third of a millisecond of Python per row, more than the database took (docs/performance.md).
`insert` builds the statement once per model from its metadata and fills it through the
fields' own `pre_save` and `get_db_prep_save`, so defaults, `auto_now_add`, JSON and time zones
come out as the ORM would write them. It sends no model signals, so it refuses a model that has
receivers for them (tests/test_compiled_sql.py reads the rows back and compares them with the
ORM's).
"""

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
def _insert_query(model: type[Model]) -> tuple[str, list, bool]:
    meta = model._meta
    pk = meta.pk
    fields = [f for f in meta.concrete_fields if not (f is pk and f.db_returning)]
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
    """INSERT `obj` (a new instance) and set its primary key, as obj.save() would."""
    _no_receivers(type(obj))
    sql, fields, returning = _insert_query(type(obj))
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        pk = cursor.fetchone()[0] if returning else cursor.lastrowid
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias
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
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, obj.pk])
