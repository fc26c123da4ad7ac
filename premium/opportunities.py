"""Opportunities: where a studio would sell more by offering more network spots.

For each class of the next 14 days whose room has space the network is not offered, demand is
read from the class itself (sold out early, members waiting) and the slot's fill history. A
class with demand gets one recommendation (upserted: a rerun updates, never duplicates) with
the spots to add, the expected revenue and the reason in words.
"""

import math
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q

from bookings.models import WaitlistEntry, WaitlistStatus
from studios.models import ClassSession, SessionStatus

from . import history
from .models import Opportunity, OpportunityStatus

WINDOW = timedelta(days=14)
COLUMNS = (
    "pk",
    "schedule_id",
    "studio_id",
    "studio__payout_rate_cents",
    "class_type__category",
    "starts_at",
    "capacity",
    "network_spots",
    "network_booked",
    "studio_booked",
    "premium_booked",
    "waiting",
)
HIGH_FILL = 0.9
MAX_SUGGESTED = 5


class Found(NamedTuple):
    """A recommendation as a scan finds it, before it is written. _upsert_unnest reads the
    fields by position."""

    session_id: int
    studio_id: int
    suggested_spots: int
    expected_revenue_cents: int
    reason: str


def plan(
    market_id: int,
    studio_ids: list[int],
    *,
    now: datetime,
    categories: dict[str, history.Stats] | None = None,
) -> list[Found]:
    """The recommendations for these studios (unsaved). `categories`: the market's history by
    category, when the run has read it already."""
    past = history.load(market_id, studio_ids, now=now, categories=categories)
    popular = [
        pk
        for pk, stats in past.by_schedule.items()
        if stats.classes >= history.MIN_SAMPLES and stats.fill >= HIGH_FILL
    ]
    # Only classes with a demand signal reach Python: sold out, waited for, or a popular slot.
    # Members waiting are demand only while no network spot is open: with one open (released
    # by SmartSpot inside the promotion cutoff, or passed over as no longer eligible) they, or
    # anyone, can book it, and more spots would not sell.
    network_full = Q(network_booked__gte=F("network_spots"))
    demand = (
        (Q(network_spots__gt=0) & network_full)
        | Q(schedule_id__in=popular)
        | (
            network_full
            & Q(
                Exists(
                    WaitlistEntry.objects.filter(
                        session=OuterRef("pk"), status=WaitlistStatus.WAITING
                    )
                )
            )
        )
    )
    rows = list(
        ClassSession.objects.filter(
            studio_id__in=studio_ids,
            status=SessionStatus.SCHEDULED,
            starts_at__gt=now,
            starts_at__lte=now + WINDOW,
            capacity__gt=F("network_spots") + F("studio_booked") + F("premium_booked"),
        )
        .filter(demand)
        .exclude(opportunity__status__in=[OpportunityStatus.ACCEPTED, OpportunityStatus.DISMISSED])
        .annotate(waiting=Count("waitlist", filter=Q(waitlist__status=WaitlistStatus.WAITING)))
        .values_list(*COLUMNS, named=True)
    )
    found = []
    for row in rows:
        level, stats = past.best(
            schedule_id=row.schedule_id,
            studio_id=row.studio_id,
            category=row.class_type__category,
        )
        unoffered = row.capacity - row.network_spots - row.studio_booked - row.premium_booked
        sold_out = row.network_spots > 0 and row.network_booked >= row.network_spots
        waiting = row.waiting if row.network_booked >= row.network_spots else 0
        days_ahead = (row.starts_at - now).total_seconds() / 86400
        popular = level == "slot" and stats.fill >= HIGH_FILL
        reasons = []
        if sold_out and days_ahead >= 1:
            reasons.append(f"sold out {days_ahead:.0f} day{'s' if days_ahead >= 1.5 else ''} ahead")
        if waiting:
            reasons.append(f"{waiting} member{'s' if waiting > 1 else ''} waiting")
        if popular:
            reasons.append(
                f"this slot sold {stats.fill:.0%} of its network spots over {stats.classes} classes"
            )
        if not reasons or not (sold_out or waiting or popular):
            continue
        early_extra = math.ceil(row.network_spots * 0.25) if sold_out else 1
        spots = min(unoffered, MAX_SUGGESTED, max(1, waiting, early_extra))
        likely = 0.95 if waiting else max(0.5, min(stats.fill, 0.95))
        found.append(
            Found(
                session_id=row.pk,
                studio_id=row.studio_id,
                suggested_spots=spots,
                expected_revenue_cents=round(spots * row.studio__payout_rate_cents * likely),
                reason=("; ".join(reasons) + ".").capitalize(),
            )
        )
    return found


def apply(found: list[Found], *, studio_ids: list[int], run_id: int, now: datetime) -> int:
    """Upsert the recommendations; open ones that no longer hold, or whose class began, expire.

    An expired recommendation that holds again reopens; decided ones are never candidates.
    """
    if connection.vendor == "postgresql":
        _upsert_unnest(found, run_id=run_id, now=now)
    else:
        Opportunity.objects.bulk_create(
            [Opportunity(**f._asdict(), run_id=run_id) for f in found],
            update_conflicts=True,
            unique_fields=["session"],
            update_fields=[
                "suggested_spots",
                "expected_revenue_cents",
                "reason",
                "run",
                "status",
                "updated_at",
            ],
            batch_size=1000,
        )
    # Open ones this run did not find again: the upsert stamped every found one with this run.
    Opportunity.objects.filter(studio_id__in=studio_ids, status=OpportunityStatus.OPEN).filter(
        Q(session__starts_at__lte=now) | Q(run_id__isnull=True) | ~Q(run_id=run_id)
    ).update(status=OpportunityStatus.EXPIRED, updated_at=now)
    return len(found)


def _upsert_unnest(found: list[Found], *, run_id: int | None, now: datetime) -> None:
    """The same upsert as one statement over arrays, whatever the number of rows (42,000 rows
    took 1.3-1.7 s on a slow benchmark machine)."""
    table = Opportunity._meta.db_table
    columns = zip(*found, strict=True) if found else [()] * len(Found._fields)
    sessions, studios, spots, revenue, reasons = map(list, columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (session_id, studio_id, run_id, suggested_spots,
                                 expected_revenue_cents, reason, status, scope, created_at,
                                 updated_at)
            SELECT s, st, %(run)s, n, r, why, %(open)s, '', %(now)s, %(now)s
            FROM unnest(%(sessions)s::bigint[], %(studios)s::bigint[], %(spots)s::int[],
                        %(revenue)s::int[], %(reasons)s::text[]) AS u(s, st, n, r, why)
            ON CONFLICT (session_id) DO UPDATE SET
                suggested_spots = EXCLUDED.suggested_spots,
                expected_revenue_cents = EXCLUDED.expected_revenue_cents,
                reason = EXCLUDED.reason, run_id = EXCLUDED.run_id,
                status = EXCLUDED.status, updated_at = EXCLUDED.updated_at
            """,
            {
                "run": run_id,
                "open": OpportunityStatus.OPEN,
                "now": now,
                "sessions": sessions,
                "studios": studios,
                "spots": spots,
                "revenue": revenue,
                "reasons": reasons,
            },
        )
