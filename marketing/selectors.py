"""Read queries of the marketing app, and the fair rotation of Spotlight placements."""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db.models import Sum

from studios.models import Market, Studio

from .models import CampaignStatus, SpotlightCampaign, SpotlightDay, SpotlightPrice

SLOTS = 3


def live_campaigns(market: Market, day: date) -> list[SpotlightCampaign]:
    """Campaigns running on a market's local day (one query)."""
    return list(
        SpotlightCampaign.objects.filter(
            market=market, status=CampaignStatus.ACTIVE, starts_on__lte=day, ends_on__gte=day
        ).select_related("studio")
    )


def rotate(
    campaigns: Sequence[SpotlightCampaign], *, seed: int, slots: int = SLOTS
) -> list[SpotlightCampaign]:
    """Pick at most `slots` campaigns, each with probability proportional to its daily fee.

    Systematic sampling with probability proportional to size: a campaign whose share of the
    fees alone fills a slot is always shown; the others are drawn so that a campaign with
    fee w out of W (after those) appears with probability slots * w / W exactly. The same seed
    gives the same placements, in an order where a higher fee tends to come first.
    """
    rng = random.Random(seed)
    pool = sorted(campaigns, key=lambda c: c.pk)
    rng.shuffle(pool)
    chosen: list[SpotlightCampaign] = []
    k = min(slots, len(pool))
    while k and pool:
        total = sum(c.daily_fee_cents for c in pool)
        sure = [c for c in pool if c.daily_fee_cents * k >= total]
        if not sure:
            break
        sure = sure[:k]
        chosen += sure
        pool = [c for c in pool if c not in sure]
        k -= len(sure)
    if k and pool:
        total = sum(c.daily_fee_cents for c in pool)
        step = total / k
        point, cumulative = rng.random() * step, 0.0
        for campaign in pool:
            cumulative += campaign.daily_fee_cents
            if cumulative > point:
                chosen.append(campaign)
                point += step
                if len(chosen) == slots:
                    break
    # Show order: a fee-weighted random order (Efraimidis-Spirakis keys).
    return sorted(chosen, key=lambda c: rng.random() ** (1 / c.daily_fee_cents), reverse=True)


def least_fee(market: Market, categories: list[str]) -> int | None:
    """The price-list minimum for these categories (the highest of them), or the market's."""
    prices = dict(
        SpotlightPrice.objects.filter(market=market).values_list("category", "daily_fee_cents")
    )
    if not prices:
        return None
    if not categories:
        return prices.get("") or max(prices.values())
    return max(prices.get(c, prices.get("", 0)) for c in categories) or None


@dataclass(frozen=True)
class CampaignFigures:
    campaign: SpotlightCampaign
    impressions: int
    clicks: int
    bookings: int
    cost_cents: int

    @property
    def cost_per_booking_cents(self) -> int | None:
        return round(self.cost_cents / self.bookings) if self.bookings else None


def campaigns_for(studio: Studio, *, pk: int | None = None) -> list[CampaignFigures]:
    """A studio's campaigns (or the one with `pk`) with their totals (one query)."""
    rows = SpotlightCampaign.objects.filter(studio=studio)
    if pk is not None:
        rows = rows.filter(pk=pk)
    rows = rows.select_related("market").annotate(
        shown=Sum("days__impressions"),
        clicked=Sum("days__clicks"),
        booked=Sum("days__bookings"),
        cost=Sum("days__fee_cents"),
    )
    return [
        CampaignFigures(c, c.shown or 0, c.clicked or 0, c.booked or 0, c.cost or 0) for c in rows
    ]


def campaign_for_studio(studio: Studio, campaign_id: int) -> SpotlightCampaign | None:
    return (
        SpotlightCampaign.objects.filter(studio=studio, pk=campaign_id)
        .select_related("market")
        .first()
    )


def days_of(campaign: SpotlightCampaign) -> list[SpotlightDay]:
    return list(SpotlightDay.objects.filter(campaign=campaign).order_by("day"))
