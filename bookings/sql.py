"""The engine's two locked reads, written as SQL once (docs/locking.md, docs/performance.md).

Compiling these ORM queries (three joins, FOR UPDATE, three correlated subqueries) cost more
than running them: about 4 ms of Python per booking. Here the SQL is built once per process
from the models' own metadata, and rows become model instances through the same database
converters the ORM applies, so the result is what the ORM would return.
"""

from datetime import datetime
from functools import cache

from django.db import connection
from django.db.models import Model

from members.models import Member
from studios.models import ClassSession, ClassType, Market, Studio

from .models import LIVE_STATUSES, Reservation, ReservationKind, WaitlistEntry, WaitlistStatus


class _Shape:
    """One model's columns in a SELECT, and how to turn them back into an instance."""

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
def _session_query(lock: bool) -> tuple[str, list[_Shape]]:
    shapes = [
        _Shape(ClassSession, "s"),
        _Shape(Studio, "st"),
        _Shape(Market, "m"),
        _Shape(ClassType, "ct"),
    ]
    sql = (
        f"SELECT {', '.join(s.sql for s in shapes)} "
        f"FROM {ClassSession._meta.db_table} s "
        f"JOIN {Studio._meta.db_table} st ON st.id = s.studio_id "
        f"JOIN {Market._meta.db_table} m ON m.id = st.market_id "
        f"JOIN {ClassType._meta.db_table} ct ON ct.id = s.class_type_id "
        "WHERE s.id = %s"
    )
    if lock and connection.features.has_select_for_update_of:
        sql += " FOR UPDATE OF s"
    return sql, shapes


def fetch_session(session_id: int, *, lock: bool) -> ClassSession | None:
    """The session with its studio, market and class type; FOR UPDATE OF the session row."""
    sql, (session_shape, studio_shape, market_shape, type_shape) = _session_query(lock)
    with connection.cursor() as cursor:
        cursor.execute(sql, [session_id])
        row = cursor.fetchone()
    if row is None:
        return None
    offset = 0
    session = session_shape.build(row, offset)
    offset += len(session_shape.fields)
    studio = studio_shape.build(row, offset)
    offset += len(studio_shape.fields)
    market = market_shape.build(row, offset)
    offset += len(market_shape.fields)
    studio.market = market
    session.studio = studio
    session.class_type = type_shape.build(row, offset)
    return session


@cache
def _member_query(lock: bool) -> tuple[str, _Shape]:
    shape = _Shape(Member, "mb")
    live = ", ".join(f"'{status}'" for status in LIVE_STATUSES)
    r, w = Reservation._meta.db_table, WaitlistEntry._meta.db_table
    # The class falls in the current cycle when it starts before the renewal, else in the next
    # one; the booking window is shorter than a cycle, so nothing booked lies beyond that.
    sql = (
        f"SELECT {shape.sql}, "
        f"(SELECT COUNT(*) FROM {r} r WHERE r.member_id = mb.id AND r.studio_id = %(studio)s "
        f"  AND r.kind = '{ReservationKind.STANDARD}' AND r.status IN ({live}) "
        "  AND ((mb.next_renewal_at > %(start)s AND r.starts_at >= mb.cycle_started_at "
        "        AND r.starts_at < mb.next_renewal_at) "
        "    OR (mb.next_renewal_at <= %(start)s AND r.starts_at >= mb.next_renewal_at))), "
        f"EXISTS (SELECT 1 FROM {r} r WHERE r.member_id = mb.id AND r.session_id = %(session)s "
        f"  AND r.status IN ({live})), "
        f"EXISTS (SELECT 1 FROM {w} w WHERE w.member_id = mb.id AND w.session_id = %(session)s "
        f"  AND w.status = '{WaitlistStatus.WAITING}') "
        f"FROM {Member._meta.db_table} mb WHERE mb.id = %(member)s"
    )
    if lock and connection.features.has_select_for_update_of:
        sql += " FOR UPDATE OF mb"
    return sql, shape


def fetch_member_context(session: ClassSession, member_id: int, *, lock: bool) -> Member | None:
    """The member row (FOR UPDATE when `lock`) with cycle_visits, booked_here, waiting_here."""
    sql, shape = _member_query(lock)
    start: datetime = session.starts_at
    params = {
        "studio": session.studio_id,
        "start": start,
        "session": session.pk,
        "member": member_id,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    member = shape.build(row, 0)
    visits, booked, waiting = row[len(shape.fields) :]
    member.cycle_visits, member.booked_here, member.waiting_here = (
        int(visits),
        bool(booked),
        bool(waiting),
    )
    return member
