"""Demo Spotlight price lists and a few running campaigns, so a first run shows Spotlight."""

import random
from datetime import timedelta

from django.utils import timezone

from studios.models import Category, Market, Studio

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
            demo_owner_first = sorted(
                studios,
                key=lambda s: not s.staff.filter(user__username="owner@classpass.local").exists(),
            )
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
    # (impressions and clicks; bookings come from real reservations only).
    now = timezone.now()
    billed = sum(services.bill_due(now=now - timedelta(days=back)) for back in range(6, -1, -1))
    for day in SpotlightDay.objects.filter(impressions=0, day__lt=now.date()):
        day.impressions = rng.randint(60, 400)
        day.clicks = day.impressions * rng.randint(3, 9) // 100
        day.save(update_fields=["impressions", "clicks"])
    return f"{prices} Spotlight prices, {campaigns} campaigns, {billed} days billed"
