"""Demo plans and members, each with a few months of credit history made by the real services."""

import random
from datetime import datetime, timedelta

from django.utils import timezone

from studios.demo import FIRST, LAST, demo_user
from studios.models import Market

from . import services
from .models import Member, Plan, SubscriptionStatus

# Plans per market: (name, credits, price in minor units), scaled by the market's credit value.
PLANS = [("Lite", 25, 0.95), ("Core", 50, 0.9), ("Plus", 80, 0.85), ("Max", 120, 0.8)]
MEMBERS = 400
DEMO_MEMBER = "member@classpass.local"  # whom the README signs in as: see crowd()


def seed(*, scale: int = 1, seed: int = 42) -> str:
    rng = random.Random(seed + 1)
    now = timezone.now()
    markets = list(Market.objects.order_by("id"))
    plans = {}
    for market in markets:
        for name, credits, discount in PLANS:
            # A plan sells credits slightly below their payout value; bigger plans, better rates.
            price = round(credits * market.credit_value_cents * discount / 100) * 100 - 1
            plans.setdefault(market.pk, []).append(
                Plan.objects.get_or_create(
                    market=market,
                    name=name,
                    defaults={"credits_per_cycle": credits, "price_cents": price},
                )[0]
            )
    new_york = markets[0]
    people = [(DEMO_MEMBER, new_york, "Maya", "Member", 1)]
    for i in range(MEMBERS * scale):
        people.append(
            (
                f"member{i:05d}@demo.classpass.local",
                markets[i % len(markets)],
                rng.choice(FIRST),
                rng.choice(LAST),
                None,
            )
        )
    created = 0
    for email, market, first, last, plan_index in people:
        user = demo_user(email, first_name=first, last_name=last)
        member, made = Member.objects.get_or_create(
            user=user, defaults={"home_market": market, "email_confirmed_at": timezone.now()}
        )
        if not made:
            continue
        created += 1
        roll = rng.random()
        if roll < 0.05 and plan_index is None:
            continue  # signed up, never subscribed: an à-la-carte customer
        plan = plans[market.pk][plan_index if plan_index is not None else rng.randrange(len(PLANS))]
        started = now - timedelta(days=rng.randint(3, 95), hours=rng.randint(0, 23))
        services.choose_plan(member, plan, now=started)
        services.renew_due_cycles_for(member, now=now)
        if rng.random() < 0.1:
            services.adjust_credits(
                member, amount=rng.choice([2, 5, 10]), note="Goodwill credits from support."
            )
        if plan_index is None and 0.05 <= roll < 0.1:
            services.pause(member)
        elif plan_index is None and 0.1 <= roll < 0.14:
            services.cancel_plan(member)
    active = Member.objects.filter(status=SubscriptionStatus.ACTIVE).count()
    return f"{sum(len(p) for p in plans.values())} plans, {created} new members, {active} active"


def crowd():
    """The active members whose demo bookings fill the classes: all but the demo member.

    The demo member books a few classes of their own (bookings.demo) and keeps the rest of
    their credits for whoever tries the demo as them; a later seed that booked for them, or
    put them on a waitlist that a released spot then fills, would spend those credits."""
    return Member.objects.filter(status=SubscriptionStatus.ACTIVE).exclude(
        user__username=DEMO_MEMBER
    )


# The demo's past bookings were made this long before their class (a free cancellation two
# days ahead came after its booking).
BOOKED_AHEAD = timedelta(days=3)


def had_plan_for(member: Member, starts_at: datetime) -> bool:
    """Whether `member`'s plan had begun when they would have booked a class starting at
    `starts_at` (BOOKED_AHEAD): the demo's history books nobody into a class before they
    joined, with credits they were not yet granted."""
    return member.cycle_anchor is not None and member.cycle_anchor <= starts_at - BOOKED_AHEAD
