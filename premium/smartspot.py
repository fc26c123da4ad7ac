"""SmartSpot: release places that will likely be empty in classes sold out on the network.

For each class of the next 48 hours that is sold out on the network while the room has space,
the forecast is the mean number of places empty at start in the slot's history (room left at
the end plus no-shows), falling back to the studio, then the category. SmartSpot releases a
share of it, within the studio's cap and never past the room. docs/scans.md explains the model.
"""

import math
from collections import defaultdict
from datetime import datetime, timedelta

from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import Least

from bookings.models import WaitlistEntry, WaitlistStatus
from studios import outbox
from studios.models import ClassSession, SessionStatus

from . import history
from .models import PremiumSettings, SmartSpotRelease

MODEL_VERSION = "smartspot-v1"
WINDOW = timedelta(hours=48)
SHARE = 0.6  # release this share of the forecast empties, rounded down: a cautious first model
BATCH = 1000


def plan(
    market_id: int,
    studio_ids: list[int],
    *,
    now: datetime,
    categories: dict[str, history.Stats] | None = None,
) -> list[SmartSpotRelease]:
    """The releases a scan would make for these studios (unsaved). `categories`: the market's
    history by category, when the run has read it already."""
    caps = {
        s.studio_id: s.smartspot_cap
        for s in PremiumSettings.objects.filter(studio_id__in=studio_ids, smartspot_enabled=True)
    }
    # A studio without settings runs with the defaults (SmartSpot on, cap 2).
    default_cap = PremiumSettings._meta.get_field("smartspot_cap").default
    disabled = set(
        PremiumSettings.objects.filter(
            studio_id__in=studio_ids, smartspot_enabled=False
        ).values_list("studio_id", flat=True)
    )
    candidates = (
        ClassSession.objects.filter(
            studio_id__in=[s for s in studio_ids if s not in disabled],
            status=SessionStatus.SCHEDULED,
            starts_at__gt=now,
            starts_at__lte=now + WINDOW,
            network_spots__gt=0,
            network_booked__gte=F("network_spots"),
            capacity__gt=F("studio_booked") + F("network_booked") + F("premium_booked"),
        )
        .exclude(Exists(SmartSpotRelease.objects.filter(session=OuterRef("pk"))))
        .values(
            "pk",
            "schedule_id",
            "studio_id",
            "class_type__category",
            "capacity",
            "network_spots",
            "network_booked",
            "premium_booked",
            "studio_booked",
        )
    )
    rows = list(candidates)
    if not rows:
        return []
    past = history.load(market_id, studio_ids, now=now, categories=categories)
    releases = []
    for row in rows:
        level, stats = past.best(
            schedule_id=row["schedule_id"],
            studio_id=row["studio_id"],
            category=row["class_type__category"],
        )
        room_left = (
            row["capacity"] - row["studio_booked"] - row["network_booked"] - row["premium_booked"]
        )
        cap = caps.get(row["studio_id"], default_cap)
        spots = min(cap, room_left, math.floor(stats.mean_empty * SHARE))
        if spots < 1:
            continue
        releases.append(
            SmartSpotRelease(
                session_id=row["pk"],
                studio_id=row["studio_id"],
                spots_released=spots,
                network_spots_before=row["network_spots"],
                forecast_empty=round(stats.mean_empty, 3),
                inputs=stats.as_inputs(level)
                | {"room_left": room_left, "cap": cap, "share": SHARE},
                model_version=MODEL_VERSION,
            )
        )
    return releases


def apply(releases: list[SmartSpotRelease], *, run_id: int | None) -> int:
    """Record the releases and raise the classes' network spots, set-based; waiting members first.

    The UPDATE adds to the current allocation (never a value read earlier) and stops at the
    room's capacity, so a concurrent edit or booking is never overwritten.
    """
    for release in releases:
        release.run_id = run_id
    SmartSpotRelease.objects.bulk_create(releases, batch_size=BATCH)
    # One UPDATE per number of spots released (a handful: the caps are small) rather than a
    # CASE with a branch per class, which Django took longer to build than PostgreSQL to run.
    by_spots: dict[int, list[int]] = defaultdict(list)
    for release in releases:
        by_spots[release.spots_released].append(release.session_id)
    for spots, session_ids in sorted(by_spots.items()):
        for start in range(0, len(session_ids), BATCH):
            ClassSession.objects.filter(pk__in=session_ids[start : start + BATCH]).update(
                network_spots=Least(F("network_spots") + spots, F("capacity"))
            )
    waiting = (
        WaitlistEntry.objects.filter(
            session_id__in=[r.session_id for r in releases], status=WaitlistStatus.WAITING
        )
        .values_list("session_id", flat=True)
        .distinct()
    )
    for session_id in waiting:
        outbox.publish("bookings.services.promote_waitlist", session_id)
    return sum(r.spots_released for r in releases)


def record_outcomes(*, now: datetime) -> int:
    """After a released class, store what happened: places sold, people attending, places empty."""
    from bookings.models import ReservationStatus

    due = SmartSpotRelease.objects.filter(
        outcome_at__isnull=True, session__starts_at__lt=now - timedelta(hours=1)
    )
    updated = 0
    for release in due.select_related("session").annotate(
        came=Count(
            "session__reservations",
            filter=Q(session__reservations__status=ReservationStatus.ATTENDED),
        )
    )[:5000]:
        session = release.session
        live_network = session.network_booked
        release.sold = max(
            0, min(release.spots_released, live_network - release.network_spots_before)
        )
        release.attended = release.came
        release.empty = max(0, session.capacity - session.studio_booked - release.came)
        release.outcome_at = now
        release.save(update_fields=["sold", "attended", "empty", "outcome_at"])
        updated += 1

    return updated
