"""Spotlight writes: buying and steering campaigns, counting, billing.

Counting never writes to the database on a page view: impressions, clicks and bookings are
added to cache counters (Redis in production) and a task flushes them into SpotlightDay rows.
Each counts for the local day of the classes it was for (the searched day, the class's day).
"""

from collections import defaultdict
from contextlib import suppress
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from studios import services as studio_services
from studios.models import Category, EarningKind, Studio
from studios.templatetags.money import format_money

from .errors import SpotlightError
from .models import CampaignStatus, SpotlightCampaign, SpotlightDay
from .selectors import least_fee

METRICS = ("impressions", "clicks", "bookings")
COUNTER_TTL = 7 * 24 * 3600
FLUSH_LOCK = "spotlight:flush-lock"
FLUSH_LOCK_TTL = 300  # seconds; a flush takes well under one
# A campaign is bought at most a year ahead and for at most a year at a time.
MAX_DAYS_AHEAD = 365
MAX_DAYS = 366


def local_today(studio: Studio) -> date:
    return timezone.localtime(timezone.now(), studio.market.tzinfo).date()


# --- buying and steering --------------------------------------------------------------------


def buy(
    studio: Studio,
    *,
    by,
    starts_on: date,
    ends_on: date,
    daily_fee_cents: int,
    categories: list[str],
) -> SpotlightCampaign:
    """Buy days of placement. Nothing is charged now; each day is charged as it begins."""
    errors = {}
    today = local_today(studio)
    market = studio.market
    unknown = set(categories) - set(Category.values)
    if unknown:
        errors["categories"] = f"Unknown categories: {', '.join(sorted(unknown))}."
    if starts_on <= today:
        errors["starts_on"] = (
            f"Campaigns start tomorrow ({today + timedelta(days=1):%-d %b}) at the earliest."
        )
    if ends_on < starts_on:
        errors["ends_on"] = "The last day must not be before the first."
    if starts_on > today + timedelta(days=MAX_DAYS_AHEAD):
        errors["starts_on"] = f"Campaigns start at most {MAX_DAYS_AHEAD} days ahead."
    elif ends_on - starts_on >= timedelta(days=MAX_DAYS):
        errors["ends_on"] = f"A campaign runs at most {MAX_DAYS} days; buy the next one later."
    least = least_fee(market, categories)
    if least is None:
        errors["daily_fee_cents"] = f"Spotlight is not on sale in {market.name} yet."
    elif daily_fee_cents < least:
        errors["daily_fee_cents"] = (
            f"The daily fee must be at least {format_money(least, market.currency)} "
            f"(the {market.name} price list)."
        )
    if errors:
        raise SpotlightError(fields=errors)
    with transaction.atomic(durable=True):
        # One purchase per studio at a time: two at once (a double click, two owners) would
        # each find no overlap and both be charged for the same days.
        Studio.objects.select_for_update().filter(pk=studio.pk).first()
        if clash := clashing(studio, starts_on=starts_on, ends_on=ends_on, categories=categories):
            raise SpotlightError(
                fields={
                    "starts_on": (
                        f"You already have a Spotlight campaign from {clash.starts_on:%-d %b} "
                        f"to {clash.ends_on:%-d %b} for these categories."
                    )
                }
            )
        return SpotlightCampaign.objects.create(
            studio=studio,
            market=market,
            starts_on=starts_on,
            ends_on=ends_on,
            daily_fee_cents=daily_fee_cents,
            categories=sorted(categories),
            created_by=by,
        )


def clashing(
    studio: Studio, *, starts_on: date, ends_on: date, categories: list[str]
) -> SpotlightCampaign | None:
    """A running or paused campaign of the studio that would be charged for the same days and
    categories: buying or adding one beside it would charge the studio twice."""
    overlapping = SpotlightCampaign.objects.filter(
        studio=studio,
        status__in=[CampaignStatus.ACTIVE, CampaignStatus.PAUSED],
        starts_on__lte=ends_on,
        ends_on__gte=starts_on,
    ).order_by("starts_on")
    return next((c for c in overlapping if _categories_overlap(c.categories, categories)), None)


def _categories_overlap(a: list[str], b: list[str]) -> bool:
    return not a or not b or bool(set(a) & set(b))


def _steer(
    campaign: SpotlightCampaign, *, allowed: tuple[str, ...], to: str, verb: str
) -> SpotlightCampaign:
    changed = SpotlightCampaign.objects.filter(pk=campaign.pk, status__in=allowed).update(status=to)
    if not changed:
        raise SpotlightError(
            f"This campaign is {campaign.get_status_display().lower()}; it cannot be {verb}."
        )
    campaign.status = to
    return campaign


def pause(campaign: SpotlightCampaign) -> SpotlightCampaign:
    """Stop showing the campaign; days while it is paused are not charged."""
    return _steer(
        campaign, allowed=(CampaignStatus.ACTIVE,), to=CampaignStatus.PAUSED, verb="paused"
    )


def resume(campaign: SpotlightCampaign) -> SpotlightCampaign:
    return _steer(
        campaign, allowed=(CampaignStatus.PAUSED,), to=CampaignStatus.ACTIVE, verb="resumed"
    )


def end(campaign: SpotlightCampaign) -> SpotlightCampaign:
    """End now: no future day is charged (a day already begun stays charged)."""
    today = local_today(campaign.studio)
    _steer(
        campaign,
        allowed=(CampaignStatus.ACTIVE, CampaignStatus.PAUSED),
        to=CampaignStatus.ENDED,
        verb="ended",
    )
    if campaign.ends_on > today:
        last = max(today, campaign.starts_on)
        SpotlightCampaign.objects.filter(pk=campaign.pk).update(ends_on=last)
        campaign.ends_on = last
    return campaign


# --- counting, without a write per page view -------------------------------------------------


def _key(campaign_id: int, day: date, metric: str) -> str:
    return f"spotlight:{campaign_id}:{day.isoformat()}:{metric}"


def count(campaign_ids: list[int], day: date, metric: str) -> None:
    for campaign_id in campaign_ids:
        key = _key(campaign_id, day, metric)
        cache.add(key, 0, COUNTER_TTL)
        try:
            cache.incr(key)
        except ValueError:  # evicted between add and incr: start again
            cache.set(key, 1, COUNTER_TTL)


def flush_counters(*, now: datetime | None = None) -> int:
    """Move the cache counters into SpotlightDay rows. Safe to run twice, and at once: a run
    that finds another running moves nothing, and each counter is decremented by exactly what
    was added to the database.

    A count belongs to the day of the classes it was for: a search of Friday's classes, a click
    on a Friday class's placement and its booking count for Friday, whenever they happen. So
    the days flushed are the last two and every day members can search ahead (the market's
    booking window), read from the cache in one round trip.
    """
    # One flush at a time: two that read the same counters would both add them (a backlog of
    # minute tasks runs at once when workers come back). A flush that finds another running
    # leaves the counts to it; the lock expires on its own if its holder died.
    if not cache.add(FLUSH_LOCK, 1, FLUSH_LOCK_TTL):
        return 0
    try:
        return _flush(now or timezone.now())
    finally:
        cache.delete(FLUSH_LOCK)


def _flush(now: datetime) -> int:
    recent = SpotlightCampaign.objects.filter(
        ends_on__gte=(now - timedelta(days=3)).date()
    ).select_related("market")
    keys = {}
    for campaign in recent:
        today = timezone.localtime(now, campaign.market.tzinfo).date()
        day = max(campaign.starts_on, today - timedelta(days=2))
        last = min(campaign.ends_on, today + timedelta(days=campaign.market.booking_window_days))
        while day <= last:
            for metric in METRICS:
                keys[_key(campaign.pk, day, metric)] = (campaign, day, metric)
            day += timedelta(days=1)
    counted = cache.get_many(list(keys))
    deltas: dict[tuple, dict[str, int]] = defaultdict(dict)
    for key, value in counted.items():
        if value:
            campaign, day, metric = keys[key]
            deltas[(campaign, day)][metric] = value
    moved = 0
    for (campaign, day), metrics in deltas.items():
        with transaction.atomic():
            SpotlightDay.objects.get_or_create(campaign=campaign, day=day)
            SpotlightDay.objects.filter(campaign=campaign, day=day).update(
                **{m: F(m) + v for m, v in metrics.items()}
            )
        for metric, value in metrics.items():
            # A counter that expired since it was read has nothing left to take off.
            with suppress(ValueError):
                cache.decr(_key(campaign.pk, day, metric), value)
        moved += sum(metrics.values())
    return moved


# --- billing ---------------------------------------------------------------------------------


CATCH_UP_DAYS = 3  # past days a late billing run still charges, if they were shown


def bill_due(*, now: datetime | None = None) -> int:
    """Charge each running campaign for the local day that has begun, once (idempotent), and
    catch up on the last CATCH_UP_DAYS days that went unbilled while the campaign was shown.

    The fee is a negative entry on the studio's earnings ledger, so it appears on the payout
    statement as a Spotlight deduction. A day is due as it begins; if no run charged it (the
    worker was down all that day), a later run charges it when the day has impressions, the
    proof that the campaign was live then: a day it was paused is never charged.
    """
    now = now or timezone.now()
    billed = 0
    running = (
        SpotlightCampaign.objects.filter(status=CampaignStatus.ACTIVE)
        .filter(
            Q(starts_on__lte=now.date() + timedelta(days=1))
            & Q(ends_on__gte=now.date() - timedelta(days=1))
        )
        .select_related("studio__market")
    )
    for campaign in running:
        day = timezone.localtime(now, campaign.market.tzinfo).date()
        if campaign.starts_on <= day <= campaign.ends_on:
            billed += _bill_day(campaign, day)
    missed = SpotlightDay.objects.filter(
        fee_cents=0,
        impressions__gt=0,
        day__gte=now.date() - timedelta(days=CATCH_UP_DAYS + 1),
        day__lte=now.date(),
    ).select_related("campaign__studio__market", "campaign__market")
    for shown in missed:
        campaign = shown.campaign
        today = timezone.localtime(now, campaign.market.tzinfo).date()
        if today - timedelta(days=CATCH_UP_DAYS) <= shown.day < today and (
            campaign.starts_on <= shown.day <= campaign.ends_on
        ):
            billed += _bill_day(campaign, shown.day)
    return billed


def _bill_day(campaign: SpotlightCampaign, day: date) -> int:
    """Charge one local day of a campaign; 0 when it was charged before."""
    tz = campaign.market.tzinfo
    with transaction.atomic():
        entry = studio_services.record_earning(
            campaign.studio,
            kind=EarningKind.SPOTLIGHT,
            amount_cents=-campaign.daily_fee_cents,
            occurred_at=studio_services.local_to_utc(day, time(0), tz),
            reference=f"spotlight:{campaign.pk}:{day.isoformat()}",
            description=f"Spotlight {day:%-d %b}",
        )
        SpotlightDay.objects.get_or_create(campaign=campaign, day=day)
        return SpotlightDay.objects.filter(campaign=campaign, day=day, fee_cents=0).update(
            fee_cents=-entry.amount_cents
        )
