"""Every write about studios: session generation from schedules and the earnings ledger."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import ClassSession, EarningEntry, EarningKind, Schedule, Studio


def local_to_utc(day: date, at, tz: ZoneInfo) -> datetime:
    """The UTC instant of a studio-local wall time.

    A wall time that does not exist (the spring-forward gap) moves forward by the gap, as a
    wall clock would show it; an ambiguous one (the fall-back hour) takes its first occurrence.
    """
    # With fold=0, zoneinfo reads a wall time in the gap with the offset in force before the
    # change (so 02:30 becomes 03:30 after it) and an ambiguous one as its first occurrence.
    return datetime.combine(day, at, tzinfo=tz).replace(fold=0).astimezone(UTC)


def sessions_for_schedule(schedule: Schedule, *, start: date, end: date) -> list[ClassSession]:
    """Unsaved sessions of `schedule` for each matching local day in [start, end)."""
    tz = schedule.studio.market.tzinfo
    first = max(start, schedule.starts_on)
    last = min(end, schedule.ends_on + timedelta(days=1)) if schedule.ends_on else end
    weekdays = set(schedule.weekdays)
    result = []
    day = first
    while day < last:
        if day.weekday() in weekdays:
            result.append(
                ClassSession(
                    studio_id=schedule.studio_id,
                    schedule=schedule,
                    class_type_id=schedule.class_type_id,
                    instructor_id=schedule.instructor_id,
                    starts_at=local_to_utc(day, schedule.local_start_time, tz),
                    duration_minutes=schedule.duration_minutes,
                    capacity=schedule.capacity,
                    network_spots=schedule.network_spots,
                    credit_price=schedule.credit_price,
                )
            )
        day += timedelta(days=1)
    return result


def generate_sessions(
    *,
    start: date | None = None,
    weeks: int | None = None,
    schedules=None,
    batch_size: int = 2000,
) -> int:
    """Create the sessions of every schedule from `start` for `weeks` weeks. Idempotent.

    Existing sessions are never touched (one per schedule and start instant, enforced by a
    unique constraint), so a rerun, or two overlapping runs, add nothing twice.
    Returns how many sessions were created.
    """
    start = start or timezone.localdate()
    weeks = settings.SESSION_GENERATION_WEEKS if weeks is None else weeks
    end = start + timedelta(weeks=weeks)
    queryset = schedules if schedules is not None else Schedule.objects.all()
    queryset = (
        queryset.filter(starts_on__lt=end)
        .exclude(ends_on__lt=start)
        .select_related("studio__market")
    )
    created = 0
    pending: list[ClassSession] = []

    def flush() -> int:
        # ignore_conflicts skips slots generated before; count what is really new.
        before = ClassSession.objects.filter(schedule__in={s.schedule_id for s in pending}).count()
        with transaction.atomic():
            ClassSession.objects.bulk_create(pending, ignore_conflicts=True, batch_size=batch_size)
        after = ClassSession.objects.filter(schedule__in={s.schedule_id for s in pending}).count()
        pending.clear()
        return after - before

    for schedule in queryset.iterator(chunk_size=500):
        pending.extend(sessions_for_schedule(schedule, start=start, end=end))
        if len(pending) >= batch_size:
            created += flush()
    if pending:
        created += flush()
    return created


def record_earning(
    studio: Studio,
    *,
    kind: str,
    amount_cents: int,
    occurred_at: datetime,
    reference: str,
    session: ClassSession | None = None,
    description: str = "",
    by=None,
) -> EarningEntry:
    """Append one entry to a studio's earnings ledger, once per reference (idempotent)."""
    entry, _ = EarningEntry.objects.get_or_create(
        reference=reference,
        defaults={
            "studio": studio,
            "kind": kind,
            "amount_cents": amount_cents,
            "currency": studio.market.currency,
            "occurred_at": occurred_at,
            "session": session,
            "description": description,
            "created_by": by,
        },
    )
    return entry


def record_earnings_bulk(rows: list[dict]) -> None:
    """Append many entries at once; references already on the ledger are skipped."""
    EarningEntry.objects.bulk_create(
        [EarningEntry(currency=row["studio"].market.currency, **row) for row in rows],
        ignore_conflicts=True,
    )


def adjust_earnings(
    studio: Studio, *, amount_cents: int, description: str, by=None
) -> EarningEntry:
    """An admin's correction to a studio's ledger, as a new signed entry with a reason."""
    if amount_cents == 0:
        raise ValueError("An adjustment moves at least one cent.")
    if not description.strip():
        raise ValueError("Say why the studio's earnings are adjusted.")
    return EarningEntry.objects.create(
        studio=studio,
        kind=EarningKind.ADJUSTMENT,
        amount_cents=amount_cents,
        currency=studio.market.currency,
        occurred_at=timezone.now(),
        description=description.strip(),
        created_by=by,
    )
