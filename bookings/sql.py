"""The engine's locking read, its read under the locks and its spot claim, written as SQL once
(docs/locking.md, docs/performance.md).

Compiling these ORM queries (three joins, FOR UPDATE, three correlated subqueries) cost more
than running them: about 4 ms of Python per booking. Here the SQL is built once per process
from the models' own metadata, and rows become model instances through the same database
converters the ORM applies, so the result is what the ORM would return.
"""

from datetime import datetime
from functools import cache

from django.db import connection

from members.models import Member
from studios.db import RowShape, next_id_sql, update_one
from studios.models import ClassSession, ClassType, Market, Studio

from .models import (
    LIVE_STATUSES,
    Counter,
    Reservation,
    ReservationKind,
    WaitlistEntry,
    WaitlistStatus,
)


@cache
def _session_query(lock: bool, member: bool = False) -> tuple[str, list[RowShape]]:
    shapes = [
        RowShape(ClassSession, "s"),
        RowShape(Studio, "st"),
        RowShape(Market, "m"),
        RowShape(ClassType, "ct"),
    ]
    columns = ", ".join(s.sql for s in shapes)
    if member:  # and an id for the reservation, so that its rows can go in one batch
        columns += f", {next_id_sql(Reservation) or 'NULL'}"
    sql = (
        f"SELECT {columns} "
        f"FROM {ClassSession._meta.db_table} s "
        f"JOIN {Studio._meta.db_table} st ON st.id = s.studio_id "
        f"JOIN {Market._meta.db_table} m ON m.id = st.market_id "
        f"JOIN {ClassType._meta.db_table} ct ON ct.id = s.class_type_id "
    )
    if member:
        sql += f"JOIN {Member._meta.db_table} mb ON mb.id = %s "
    sql += "WHERE s.id = %s"
    if lock and connection.features.has_select_for_update_of:
        # PostgreSQL locks the rows in the order of this list: the session, then the member.
        sql += " FOR UPDATE OF s, mb" if member else " FOR UPDATE OF s"
    return sql, shapes


def _build_session(row: tuple, shapes: list[RowShape]) -> ClassSession:
    session_shape, studio_shape, market_shape, type_shape = shapes
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


def fetch_session(session_id: int, *, lock: bool) -> ClassSession | None:
    """The session with its studio, market and class type; FOR UPDATE OF the session row."""
    sql, shapes = _session_query(lock)
    with connection.cursor() as cursor:
        cursor.execute(sql, [session_id])
        row = cursor.fetchone()
    return None if row is None else _build_session(row, shapes)


def lock_for_booking(session_id: int, member_id: int) -> tuple[ClassSession, int | None] | None:
    """Lock the session (with its studio, market and class type), then the member, in one
    statement (docs/locking.md); None when either row is missing. Also returns an id taken
    for the reservation on PostgreSQL (a refused booking leaves a gap in the sequence)."""
    sql, shapes = _session_query(True, True)
    with connection.cursor() as cursor:
        cursor.execute(sql, [member_id, session_id])
        row = cursor.fetchone()
    return None if row is None else (_build_session(row, shapes), row[-1])


@cache
def _member_query() -> tuple[str, RowShape]:
    shape = RowShape(Member, "mb")
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
    return sql, shape


def fetch_member_context(session: ClassSession, member_id: int) -> Member | None:
    """The member row with cycle_visits, booked_here and waiting_here.

    No lock is taken here. To decide a booking, lock the member row in an earlier statement:
    a statement that waits for a row lock still reads other rows as of its start, so counting
    in the locking statement would miss the visit that the transaction ahead of it committed
    (tests/bookings/test_concurrency.py).
    """
    sql, shape = _member_query()
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


@cache
def _occupy_query(counter: str) -> str:
    def col(name: str) -> str:
        return connection.ops.quote_name(ClassSession._meta.get_field(name).column)

    taken = col("network_booked" if counter == Counter.NETWORK else "premium_booked")
    booked = " + ".join(col(name) for name in ("studio_booked", "network_booked", "premium_booked"))
    room = f"{col('capacity')} > {booked}"
    sql = (
        f"UPDATE {connection.ops.quote_name(ClassSession._meta.db_table)} "
        f"SET {taken} = {taken} + 1 WHERE {col('id')} = %s AND {room}"
    )
    if counter == Counter.NETWORK:
        sql += f" AND {col('network_booked')} < {col('network_spots')}"
    return sql


def occupy(session_id: int, counter: str, refusal: Exception) -> None:
    """Take one spot on `counter` if the room (and, on the network, the allocation) has one;
    raise `refusal` if not (inside studios.db.batched(), when the batch is sent)."""
    update_one(_occupy_query(counter), [session_id], refusal)
