"""Demo Premium settings for every studio, and past Premium visits in each credit scenario."""

import random
from bisect import bisect_right
from collections import defaultdict
from datetime import UTC, time, timedelta
from operator import itemgetter

from django.db.models import Count, F, Max, Min
from django.db.models.functions import TruncMonth
from django.utils import timezone

from bookings.demo import LIVE_STATUSES_PAST, PastBooking, Timelines, given_back_at, write_past
from bookings.models import PremiumReason, Reservation, ReservationKind, ReservationStatus
from members.demo import BOOKED_AHEAD, crowd, had_plan_for
from members.models import Member, SubscriptionStatus
from studios.demo import demo_owner_studios
from studios.models import ClassSession, Studio
from studios.services import local_to_utc

from . import scans, smartspot
from .models import PremiumSettings, ScanKind, ScanRun, SmartSpotRelease
from .offers import premium_credits
from .selectors import DEFAULT_MAX_SPOTS, default_price_cents


def seed(*, scale: int = 1, seed: int = 42) -> str:
    rng = random.Random(seed + 5)
    created = 0
    for studio in Studio.objects.filter(premium_settings__isnull=True).select_related("market"):
        PremiumSettings.objects.create(
            studio=studio,
            enabled=rng.random() < 0.9,
            price_cents=default_price_cents(studio),
            max_spots=DEFAULT_MAX_SPOTS,
            a_la_carte_enabled=rng.random() < 0.85,
        )
        created += 1
    if ScanRun.objects.exists():
        return f"{created} premium settings; scans already seeded"
    past_releases = _past_releases(rng)
    history = _history(rng)
    smartspot.record_outcomes(now=timezone.now())
    demand = _demand_for_the_demo_owner(rng)
    # A first run of each scan, so the dashboard shows releases and recommendations at once;
    # released places go to waiting members as the outbox would do it, without the e-mails,
    # and so before the Opportunities scan, as at night (03:00 and 03:30).
    from bookings import services

    _, released = scans.run_inline(ScanKind.SMARTSPOT)
    for session_id in SmartSpotRelease.objects.values_list("session_id", flat=True):
        services.promote_waitlist(session_id)
    _, recommended = scans.run_inline(ScanKind.OPPORTUNITIES)
    decided = _decide_as_the_demo_owner()
    return (
        f"{created} premium settings; {past_releases}; "
        f"{history} past Premium visits; {demand} demo bookings; "
        f"{sum(r.written for r in released)} SmartSpot releases; "
        f"{sum(r.written for r in recommended)} recommendations, {decided} decided"
    )


# How SmartSpot's past releases at the demo owner's studios sold: most often all of them.
RELEASES_SOLD = 0.75
MISSED = 0.1  # of the members who booked a released place, the share who did not come


def _past_releases(rng: random.Random) -> str:
    """SmartSpot's last weeks at the demo owner's studios, so that their SmartSpot page shows
    releases with forecast against outcome, and an accuracy, from the first visit.

    Each past night (03:00 studio time) the scan's own plan ran for the next 48 hours, from
    the history before that night, and its releases raised those classes' network spots; then
    members booked most released places (as a waiting list or a search would fill them) and
    came, or did not. The hot slot of each studio (studios.demo) sells out on the network week
    after week, so SmartSpot looks at it every night. Outcomes are recorded as the nightly
    task does, once these and the Premium visits below are written.
    """
    now = timezone.now()
    studios = list(demo_owner_studios().select_related("market"))
    first = ClassSession.objects.filter(studio__in=studios).aggregate(first=Min("starts_at"))
    if first["first"] is None or SmartSpotRelease.objects.exists():
        return "no past SmartSpot releases"
    markets = {studio.market_id: studio.market for studio in studios}
    # Only classes whose history is written (bookings.demo: three hours ago and earlier).
    written = now - timedelta(hours=3)
    releases = []
    for market_id, market in sorted(markets.items()):
        studio_ids = [studio.pk for studio in studios if studio.market_id == market_id]
        day = timezone.localtime(first["first"], market.tzinfo).date() - timedelta(days=1)
        while (night := local_to_utc(day, time(3), market.tzinfo)) < written:
            planned = smartspot.plan(market_id, studio_ids, now=night)
            starts = dict(
                ClassSession.objects.filter(pk__in=[r.session_id for r in planned]).values_list(
                    "pk", "starts_at"
                )
            )
            kept = [r for r in planned if starts[r.session_id] < written]
            if kept:
                smartspot.apply(kept, run_id=None)
                releases += kept
            day += timedelta(days=1)
    booked = write_past(_sell_released(rng, releases))
    return f"{len(releases)} past SmartSpot releases ({len(booked)} places booked)"


def _sell_released(rng: random.Random, releases: list[SmartSpotRelease]) -> list:
    """Members who booked the released places: had a plan then, could afford it, had visits
    left at the studio that month (counted by calendar month, as the history does) and were
    not in the class already."""
    sessions = ClassSession.objects.select_related("studio__market").in_bulk(
        [r.session_id for r in releases]
    )
    members: dict[int, list[Member]] = defaultdict(list)
    for member in crowd().order_by("pk"):
        members[member.home_market_id].append(member)
    balance = {m.pk: m.credit_balance for pool in members.values() for m in pool}
    timelines = Timelines(balance, timezone.now())
    visits = {
        (row["member_id"], row["studio_id"], row["month"].year, row["month"].month): row["n"]
        for row in Reservation.objects.filter(
            studio_id__in={s.studio_id for s in sessions.values()},
            kind=ReservationKind.STANDARD,
            status__in=LIVE_STATUSES_PAST,
        )
        .values("member_id", "studio_id")
        .annotate(month=TruncMonth("starts_at", tzinfo=UTC), n=Count("pk"))
    }
    taken = set(
        Reservation.objects.filter(session_id__in=sessions).values_list("member_id", "session_id")
    )
    planned = []
    for release in sorted(releases, key=lambda r: sessions[r.session_id].starts_at):
        session = sessions[release.session_id]
        wanted = release.spots_released
        if rng.random() >= RELEASES_SOLD:
            wanted = rng.randint(0, wanted - 1)
        pool = members[session.studio.market_id]
        booked = session.starts_at - BOOKED_AHEAD
        for member in rng.sample(pool, len(pool)):
            if wanted == 0:
                break
            key = (member.pk, session.studio_id, session.starts_at.year, session.starts_at.month)
            if (
                balance[member.pk] < 2 * session.credit_price
                or (member.pk, session.pk) in taken
                or visits.get(key, 0) >= session.studio.monthly_visit_limit
                or not had_plan_for(member, session.starts_at)
                or not timelines.affords(member.pk, session.credit_price, booked)
            ):
                continue
            balance[member.pk] -= session.credit_price
            taken.add((member.pk, session.pk))
            visits[key] = visits.get(key, 0) + 1
            wanted -= 1
            status = (
                ReservationStatus.MISSED if rng.random() < MISSED else ReservationStatus.ATTENDED
            )
            timelines.book(
                member.pk, session.credit_price, booked, back=given_back_at(session, status)
            )
            planned.append(PastBooking(session, member, status))
    return planned


def _history(rng: random.Random) -> int:
    """Past classes with room left that sold out on the network (DESIGN.md's case b), or
    offered it no spots (case c), sold a Premium spot or two; members who had reached a
    studio's monthly limit booked Premium there later that month (case a)."""
    now = timezone.now()
    if Reservation.objects.filter(starts_at__lt=now, kind=ReservationKind.PREMIUM).exists():
        return 0
    settings = {s.studio_id: s for s in PremiumSettings.objects.filter(enabled=True)}
    balance = dict(crowd().values_list("pk", "credit_balance"))
    members = {m.pk: m for m in Member.objects.filter(pk__in=balance)}
    timelines = Timelines(balance, now)
    closed_to_network = (
        ClassSession.objects.filter(
            starts_at__lt=now, studio_id__in=settings, network_booked__gte=F("network_spots")
        )
        .select_related("studio__market")
        .order_by("starts_at")
    )
    taken = set(
        Reservation.objects.filter(starts_at__lt=now).values_list("member_id", "session_id")
    )
    by_market: dict[int, list[int]] = {}
    for member in members.values():
        by_market.setdefault(member.home_market_id, []).append(member.pk)
    planned = []
    for session in closed_to_network:
        if session.room_left <= 0:
            continue
        reason = (
            PremiumReason.ZERO_ALLOCATION
            if session.network_spots == 0
            else PremiumReason.NETWORK_SOLD_OUT
        )
        premium = settings[session.studio_id]
        credits = premium_credits(premium.price_cents, session.studio.market.credit_value_cents)
        wanted = rng.randint(0, min(2, session.room_left, premium.max_spots))
        for member_pk in rng.sample(by_market.get(session.studio.market_id, []), 8):
            if wanted == 0:
                break
            if (
                balance[member_pk] < 2 * credits
                or (member_pk, session.pk) in taken
                or not had_plan_for(members[member_pk], session.starts_at)
                or not timelines.affords(member_pk, credits, session.starts_at - BOOKED_AHEAD)
            ):
                continue
            timelines.book(member_pk, credits, session.starts_at - BOOKED_AHEAD)
            taken.add((member_pk, session.pk))
            balance[member_pk] -= credits
            wanted -= 1
            planned.append(
                PastBooking(
                    session,
                    members[member_pk],
                    ReservationStatus.ATTENDED,
                    kind=ReservationKind.PREMIUM,
                    premium_reason=reason,
                    credits=credits,
                    payout_cents=premium.price_cents,
                )
            )
    roomy = _roomy_classes(settings, now)
    sold: dict[int, int] = {}  # Premium spots each of those classes sold below
    planned += _past_limit_reached(settings, members, balance, timelines, taken, roomy, sold, now)
    planned += _past_a_la_carte(rng, settings, taken, roomy, sold)
    return len(write_past(planned))


def _roomy_classes(settings: dict, now) -> dict[int, list]:
    """Past classes of Premium studios with room beyond their network spots, which were not all
    taken (the sold-out ones are case b's): (starts_at, pk, premium spots left), in time order,
    by studio. Premium never takes a spot the network still offers."""
    roomy: dict[int, list] = {}
    for studio_id, starts_at, pk, beyond, premium_booked in (
        ClassSession.objects.filter(
            starts_at__lt=now, studio_id__in=settings, network_booked__lt=F("network_spots")
        )
        .annotate(
            beyond=F("capacity") - F("studio_booked") - F("premium_booked") - F("network_spots")
        )
        .filter(beyond__gt=0)
        .order_by("starts_at")
        .values_list("studio_id", "starts_at", "pk", "beyond", "premium_booked")
    ):
        left = min(beyond, settings[studio_id].max_spots - premium_booked)
        if left > 0:
            roomy.setdefault(studio_id, []).append((starts_at, pk, left))
    return roomy


def _past_limit_reached(settings, members, balance, timelines, taken, roomy, sold, now) -> list:
    """The members who reached a studio's monthly limit in the demo's history (counted by
    calendar month, as that history enforced it) and could afford it booked one Premium spot
    there later in the month: in the first class with Premium spots left."""
    reached = (
        Reservation.objects.filter(
            starts_at__lt=now,
            member_id__in=members,
            studio_id__in=settings,
            kind=ReservationKind.STANDARD,
            status__in=LIVE_STATUSES_PAST,
        )
        .values("member_id", "studio_id", "studio__monthly_visit_limit")
        .annotate(
            month=TruncMonth("starts_at", tzinfo=UTC), visits=Count("pk"), last=Max("starts_at")
        )
        .filter(visits__gte=F("studio__monthly_visit_limit"))
        .order_by("month", "studio_id", "member_id")
    )
    credit_value = dict(
        Studio.objects.filter(pk__in=settings).values_list("pk", "market__credit_value_cents")
    )
    chosen = []  # (session pk, member pk, credits)
    for row in reached:
        member_pk, studio_id = row["member_id"], row["studio_id"]
        credits = premium_credits(settings[studio_id].price_cents, credit_value[studio_id])
        if balance[member_pk] < credits:
            continue
        month_end = (row["month"] + timedelta(days=32)).replace(day=1)
        classes = roomy.get(studio_id, [])
        for starts_at, pk, left in classes[bisect_right(classes, row["last"], key=itemgetter(0)) :]:
            if starts_at >= month_end:
                break
            if (
                left - sold.get(pk, 0) > 0
                and (member_pk, pk) not in taken
                and timelines.affords(member_pk, credits, starts_at - BOOKED_AHEAD)
            ):
                timelines.book(member_pk, credits, starts_at - BOOKED_AHEAD)
                chosen.append((pk, member_pk, credits))
                balance[member_pk] -= credits
                taken.add((member_pk, pk))
                sold[pk] = sold.get(pk, 0) + 1
                break
    sessions = ClassSession.objects.select_related("studio__market").in_bulk(
        {pk for pk, _, _ in chosen}
    )
    return [
        PastBooking(
            sessions[pk],
            members[member_pk],
            ReservationStatus.ATTENDED,
            kind=ReservationKind.PREMIUM,
            premium_reason=PremiumReason.LIMIT_REACHED,
            credits=credits,
            payout_cents=settings[sessions[pk].studio_id].price_cents,
        )
        for pk, member_pk, credits in chosen
    ]


def _past_a_la_carte(rng, settings, taken, roomy, sold) -> list:
    """People with an account and no plan bought a class or two for money (case d), at studios
    that sell à la carte, in classes with Premium spots left: the same spots and price."""
    buyers: dict[int, list[Member]] = {}
    for member in Member.objects.filter(status=SubscriptionStatus.NONE).order_by("pk"):
        buyers.setdefault(member.home_market_id, []).append(member)
    studios = {
        studio.pk: studio
        for studio in Studio.objects.filter(
            pk__in=[pk for pk, s in settings.items() if s.a_la_carte_enabled and pk in roomy]
        ).select_related("market")
    }
    by_market: dict[int, list[int]] = {}
    for studio in studios.values():
        by_market.setdefault(studio.market_id, []).append(studio.pk)
    chosen = []  # (session pk, member)
    for market_id, members in sorted(buyers.items()):
        for member in members:
            for _ in range(rng.randint(1, 2)):
                if not by_market.get(market_id):
                    break
                studio_id = rng.choice(sorted(by_market[market_id]))
                _, pk, left = rng.choice(roomy[studio_id])
                if left - sold.get(pk, 0) > 0 and (member.pk, pk) not in taken:
                    chosen.append((pk, member))
                    taken.add((member.pk, pk))
                    sold[pk] = sold.get(pk, 0) + 1
    sessions = ClassSession.objects.in_bulk({pk for pk, _ in chosen})
    planned = []
    for pk, member in chosen:
        session = sessions[pk]
        session.studio = studios[session.studio_id]
        price = settings[session.studio_id].price_cents
        planned.append(
            PastBooking(
                session,
                member,
                ReservationStatus.ATTENDED,
                kind=ReservationKind.A_LA_CARTE,
                premium_reason=PremiumReason.A_LA_CARTE,
                money_cents=price,
                payout_cents=price,
            )
        )
    return planned


# Where the demo owner's studios get demand: a class SmartSpot looks at (the next 48 hours)
# and two only Opportunities sees (up to 14 days ahead), so that both pages have something to
# show whatever the weekday (a studio may hold no class over the weekend), and the owner has
# one recommendation to accept and one left open (_decide_as_the_demo_owner).
DEMO_DEMAND_WINDOWS = (
    (timedelta(hours=3), timedelta(hours=44)),
    (timedelta(days=2), timedelta(days=8)),
    (timedelta(days=2), timedelta(days=8)),  # the next class after the one above
)
DEMO_WAITING = 5  # members left waiting at each class: more than SmartSpot's cap releases


def _demand_for_the_demo_owner(rng: random.Random) -> int:
    """Sell out classes of each demo owner studio on the network, with members waiting: the
    first class of each window with room beyond its network spots, not picked before."""
    from bookings import services
    from bookings.errors import BookingError

    now = timezone.now()
    sold = 0
    for studio in demo_owner_studios():
        members = list(crowd().filter(home_market_id=studio.market_id).order_by("pk"))
        picked = []
        for after, before in DEMO_DEMAND_WINDOWS:
            session = (
                ClassSession.objects.filter(
                    studio=studio,
                    starts_at__gt=now + after,
                    starts_at__lt=now + before,
                    network_spots__gt=0,
                    capacity__gt=F("network_spots") + F("studio_booked") + 2,
                )
                .exclude(pk__in=picked)
                .order_by("starts_at")
                .first()
            )
            if session is None:
                continue
            picked.append(session.pk)
            waiting = 0
            for member in rng.sample(members, len(members)):
                if waiting >= DEMO_WAITING:
                    break
                try:
                    services.book(member, session.pk)
                    sold += 1
                except BookingError:  # sold out, or not for this member (limit, credits)
                    try:
                        services.join_waitlist(member, session.pk)
                        waiting += 1
                    except BookingError:
                        continue
    return sold


def _decide_as_the_demo_owner() -> int:
    """The demo owner's decisions on the night's recommendations, made through the dashboard's
    services, so that the class, its waitlist and the studio's audit log change as they would:
    at each of their studios with two or more, the class with the most members waiting is
    accepted (its new spots go to them) and, with three or more, the last class recommended is
    dismissed. At least one stays open, so the page still has a recommendation to decide."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    from bookings.models import WaitlistStatus
    from studios.demo import DEMO_OWNER

    from . import services
    from .models import Opportunity, OpportunityStatus

    owner = get_user_model().objects.get(username=DEMO_OWNER)
    decided = 0
    for studio in demo_owner_studios():
        recommended = list(
            Opportunity.objects.filter(studio=studio, status=OpportunityStatus.OPEN)
            .select_related("session", "studio")
            .annotate(
                waiting=Count(
                    "session__waitlist",
                    filter=Q(session__waitlist__status=WaitlistStatus.WAITING),
                )
            )
            .order_by("session__starts_at", "pk")
        )
        if len(recommended) < 2:
            continue
        accepted = max(recommended, key=lambda o: o.waiting)  # the first with most waiting
        services.accept_opportunity(accepted, by=owner, scope="session")
        decided += 1
        if len(recommended) >= 3:
            dismissed = next(o for o in reversed(recommended) if o is not accepted)
            services.dismiss_opportunity(dismissed, by=owner)
            decided += 1
    return decided
