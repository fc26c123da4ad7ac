"""Demo Spotlight price lists and a few running campaigns, so a first run shows Spotlight."""

import random
from datetime import time, timedelta

from django.utils import timezone

from bookings.models import Reservation, ReservationKind, ReservationStatus, Source
from studios.demo import demo_owner_studios
from studios.models import Category, Market, Studio
from studios.services import local_to_utc

from . import services
from .models import SpotlightCampaign, SpotlightDay, SpotlightPrice


def seed(*, scale: int = 1, seed: int = 42) -> str:
    rng = random.Random(seed + 7)
    prices = 0
    for market in Market.objects.all():
        base = market.credit_value_cents * 8  # a day of Spotlight costs about 8 credits' worth
        _, made = SpotlightPrice.objects.get_or_create(
            market=market, category="", defaults={"daily_fee_cents": base}
        )
        prices += made
        for category in (Category.YOGA, Category.CYCLING, Category.PILATES):
            _, made = SpotlightPrice.objects.get_or_create(
                market=market, category=category, defaults={"daily_fee_cents": base * 3 // 4}
            )
            prices += made
    campaigns = 0
    if not SpotlightCampaign.objects.exists():
        for market in Market.objects.all():
            today = timezone.localtime(timezone.now(), market.tzinfo).date()
            studios = list(Studio.objects.filter(market=market).order_by("pk"))
            owned = set(demo_owner_studios().values_list("pk", flat=True))
            demo_owner_first = sorted(studios, key=lambda s: s.pk not in owned)
            for studio in demo_owner_first[:4]:
                least = SpotlightPrice.objects.get(market=market, category="").daily_fee_cents
                # Demo campaigns began days ago; owners can only start one tomorrow.
                SpotlightCampaign.objects.create(
                    studio=studio,
                    market=market,
                    starts_on=today - timedelta(days=rng.randint(2, 6)),
                    ends_on=today + timedelta(days=rng.randint(7, 20)),
                    daily_fee_cents=least + rng.choice([0, 200, 500, 1000]),
                )
                campaigns += 1
    # Each day since the campaigns began is charged as it would have been, and shown to members
    # (impressions and clicks); its bookings are some of the studio's real past reservations of
    # that day's classes, marked as made from the placement, so each one is a row behind it.
    now = timezone.now()
    billed = sum(services.bill_due(now=now - timedelta(days=back)) for back in range(6, -1, -1))
    booked = 0
    for day in SpotlightDay.objects.filter(impressions=0, day__lt=now.date()).select_related(
        "campaign__market"
    ):
        day.impressions = rng.randint(60, 400)
        day.clicks = day.impressions * rng.randint(3, 9) // 100
        day.bookings = _book_from_placement(day, rng)
        day.save(update_fields=["impressions", "clicks", "bookings"])
        booked += day.bookings
    return (
        f"{prices} Spotlight prices, {campaigns} campaigns, {billed} days billed, "
        f"{booked} bookings from Spotlight"
    )


def _book_from_placement(day: SpotlightDay, rng: random.Random) -> int:
    """Mark up to a third of the day's clicks' worth of the studio's web bookings for classes
    of that (studio-local) day as made from its Spotlight placement; returns how many."""
    tz = day.campaign.market.tzinfo
    starts = local_to_utc(day.day, time(0), tz)
    ends = local_to_utc(day.day + timedelta(days=1), time(0), tz)
    ids = list(
        Reservation.objects.filter(
            session__studio_id=day.campaign.studio_id,
            starts_at__gte=starts,
            starts_at__lt=min(ends, timezone.now()),
            source=Source.WEB,
            kind=ReservationKind.STANDARD,
            status__in=[ReservationStatus.ATTENDED, ReservationStatus.MISSED],
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    chosen = rng.sample(ids, min(len(ids), rng.randint(day.clicks // 4, day.clicks // 3)))
    return Reservation.objects.filter(pk__in=chosen).update(source=Source.SPOTLIGHT)
