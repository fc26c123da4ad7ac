"""The demo data (`seed_demo`) and the admin over it.

Loading the demo takes most of a minute on a slow machine, so this module loads it once, for
real, before its tests: each test runs in a transaction that is rolled back after it, as
everywhere else, and the module empties the database when it is done.
"""

import pytest
from django.contrib.admin.sites import site
from django.core.management import call_command
from django.db import connection
from django.db.models import F, Sum
from django.urls import reverse

from members.models import CreditEntry, Member, Plan
from studios.models import ClassSession, Market, StaffMembership, Studio
from tests.invariants import assert_invariants


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    try:
        with django_db_blocker.unblock():
            call_command("seed_demo", verbosity=0)
        yield
    finally:  # also after a load that failed half-way: the other modules start empty
        with django_db_blocker.unblock():
            call_command("flush", interactive=False, verbosity=0)


def planner_row_count(model) -> int:
    """How many rows the database's planner statistics say the table has."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table]
            )
            return int(cursor.fetchone()[0])
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s", [model._meta.db_table])
        return int(cursor.fetchone()[0].split()[0])


@pytest.mark.django_db
def test_seed_demo_is_realistic_idempotent_and_leaves_planner_statistics(demo):
    # The planner knows what was loaded (the command ends with ANALYZE), not the empty tables.
    assert planner_row_count(ClassSession) == ClassSession.objects.count() > 0
    counts = (
        Market.objects.count(),
        Studio.objects.count(),
        ClassSession.objects.count(),
        Member.objects.count(),
    )
    assert counts[0] >= 3 and counts[1] >= 40 and counts[3] >= 200
    assert len({m.timezone for m in Market.objects.all()}) >= 3
    assert len({m.currency for m in Market.objects.all()}) >= 3
    assert all(Plan.objects.filter(market=m).count() >= 3 for m in Market.objects.all())
    assert StaffMembership.objects.filter(user__email="owner@classpass.local").count() == 2
    from django.utils import timezone

    now = timezone.now()
    assert ClassSession.objects.filter(starts_at__lt=now, network_booked__gt=0).exists()
    assert ClassSession.objects.filter(starts_at__gt=now + timezone.timedelta(days=21)).exists()
    assert CreditEntry.objects.count() > 200
    # Made-up bookings, renewals and promotions e-mail nobody: nothing waits in the outbox.
    from studios.models import OutboxMessage

    assert not OutboxMessage.objects.exists()
    call_command("seed_demo")
    assert counts == (
        Market.objects.count(),
        Studio.objects.count(),
        ClassSession.objects.count(),
        Member.objects.count(),
    )
    for member in Member.objects.annotate(total=Sum("credit_entries__amount")):
        assert member.credit_balance == (member.total or 0)
    assert_invariants()  # no room overbooked, counters match the reservations
    # ...and no class sold more Premium spots than its studio's cap.
    from premium.models import PremiumSettings

    caps = dict(PremiumSettings.objects.values_list("studio_id", "max_spots"))
    assert not [
        s.pk
        for s in ClassSession.objects.filter(premium_booked__gt=0)
        if s.premium_booked > caps[s.studio_id]
    ]
    # Each demo campaign began days ago and was charged for every day it ran, once (the seed
    # ran twice), and its past days were shown to members.
    from marketing.models import SpotlightCampaign, SpotlightDay
    from studios.models import EarningEntry, EarningKind

    for campaign in SpotlightCampaign.objects.select_related("market"):
        today = timezone.localtime(now, campaign.market.tzinfo).date()
        charges = EarningEntry.objects.filter(
            kind=EarningKind.SPOTLIGHT, reference__startswith=f"spotlight:{campaign.pk}:"
        )
        assert charges.count() == (today - campaign.starts_on).days + 1
    assert not SpotlightDay.objects.filter(
        day__lt=now.date() - timezone.timedelta(days=1), impressions=0
    ).exists()
    from bookings.models import PremiumReason, Reservation, ReservationKind, ReservationStatus
    from members.demo import BOOKED_AHEAD
    from members.models import PaymentKind, PaymentStatus, SubscriptionStatus

    # Nobody was booked into a class, with credits, before their plan began.
    early = Reservation.objects.filter(
        credits_spent__gt=0, starts_at__lt=F("member__cycle_anchor") + BOOKED_AHEAD
    )
    assert not early.exists(), list(early.values_list("pk", "starts_at", "member__cycle_anchor"))
    # A past Premium visit's reason held when it was booked: the network had no spot for the
    # member, or the member had used the studio's monthly visits (the demo's history counts
    # them by calendar month, as it enforced the limit), or it was bought for money without a
    # plan, and paid.
    for premium in Reservation.objects.filter(
        kind__in=[ReservationKind.PREMIUM, ReservationKind.A_LA_CARTE], starts_at__lt=now
    ).select_related("session", "studio", "member", "payment"):
        session = premium.session
        if premium.kind == ReservationKind.A_LA_CARTE:
            assert premium.premium_reason == PremiumReason.A_LA_CARTE
            assert premium.member.status == SubscriptionStatus.NONE
            assert premium.credits_spent == 0 < premium.money_paid_cents
            assert premium.payment.kind == PaymentKind.A_LA_CARTE
            assert premium.payment.status == PaymentStatus.SUCCEEDED
            assert premium.payment.amount_cents == premium.money_paid_cents
            assert premium.payment.member_id == premium.member_id
        elif premium.premium_reason == PremiumReason.ZERO_ALLOCATION:
            assert session.network_spots == 0
        elif premium.premium_reason == PremiumReason.NETWORK_SOLD_OUT:
            assert 0 < session.network_spots <= session.network_booked
        else:
            assert premium.premium_reason == PremiumReason.LIMIT_REACHED
            month_start = premium.starts_at.replace(
                day=1, hour=0, minute=0, second=0, microsecond=0
            )
            used = Reservation.objects.filter(
                member_id=premium.member_id,
                studio=premium.studio,
                kind=ReservationKind.STANDARD,
                status__in=[ReservationStatus.ATTENDED, ReservationStatus.MISSED],
                starts_at__gte=month_start,
                starts_at__lt=premium.starts_at,
            ).count()
            assert used >= premium.studio.monthly_visit_limit, premium.pk


@pytest.mark.django_db
def test_the_demo_owner_sees_recommendations_and_spotlight_bookings_with_rows_behind_them(demo):
    from datetime import time, timedelta

    from bookings.models import Reservation, Source
    from marketing.models import SpotlightCampaign
    from premium.models import Opportunity, OpportunityStatus
    from premium.selectors import premium_revenue
    from studios.services import local_to_utc

    owned = Studio.objects.filter(staff__user__email="owner@classpass.local")
    # Whatever the weekday the demo is loaded on, each of the owner's studios has a class sold
    # out on the network with members waiting, so Opportunities has a recommendation to show.
    for studio in owned:
        assert Opportunity.objects.filter(
            session__studio=studio, status=OpportunityStatus.OPEN
        ).exists(), studio.slug
        # ...and its Premium page reports past Premium visits (classes that offered the
        # network no spots, or sold out there, with room left).
        assert premium_revenue(studio), studio.slug
    # Each Spotlight day's bookings are that many of the studio's reservations for the day's
    # classes, made from the placement: the figures the owner sees have rows behind them.
    for campaign in SpotlightCampaign.objects.select_related("market"):
        for day in campaign.days.all():
            tz = campaign.market.tzinfo
            assert (
                day.bookings
                == Reservation.objects.filter(
                    session__studio=campaign.studio,
                    source=Source.SPOTLIGHT,
                    starts_at__gte=local_to_utc(day.day, time(0), tz),
                    starts_at__lt=local_to_utc(day.day + timedelta(days=1), time(0), tz),
                ).count()
            )
            assert day.bookings <= day.clicks
    shown = SpotlightCampaign.objects.filter(studio__in=owned).aggregate(n=Sum("days__bookings"))
    assert shown["n"] > 0


@pytest.mark.django_db
def test_the_demo_owner_has_decided_recommendations_and_an_audit_log_that_names_them(demo, client):
    """At each of the owner's studios, one recommendation is accepted, whose added spots went
    to the members waiting, one is dismissed where three were made, and others are open: the
    Opportunities page reports them, and the change the acceptance made is in the studio's
    audit log, by the owner, named by its class."""
    from django.contrib.auth import get_user_model

    from bookings.models import Reservation, ReservationStatus, Source
    from premium.models import Opportunity, OpportunityStatus
    from premium.selectors import accepted_revenue
    from studios.models import AuditEntry
    from studios.templatetags.money import format_money

    owner = get_user_model().objects.get(email="owner@classpass.local")
    client.force_login(owner)
    for studio in Studio.objects.filter(staff__user=owner):
        mine = Opportunity.objects.filter(studio=studio).select_related("session__class_type")
        accepted = mine.get(status=OpportunityStatus.ACCEPTED)
        dismissed = list(mine.filter(status=OpportunityStatus.DISMISSED))
        assert mine.filter(status=OpportunityStatus.OPEN).exists(), studio.slug
        assert len(dismissed) == (mine.count() >= 3)
        assert {o.decided_by for o in [accepted, *dismissed]} == {owner}
        session = accepted.session
        assert session.network_spots == accepted.network_spots_before + accepted.suggested_spots
        promoted = Reservation.objects.filter(
            session=session, source=Source.WAITLIST, status=ReservationStatus.BOOKED
        ).count()
        sold = accepted_revenue(studio)["sold"]
        assert 0 < sold <= min(promoted, accepted.suggested_spots), studio.slug
        (entry,) = AuditEntry.objects.filter(studio=studio, target=f"session:{session.pk}")
        assert entry.user == owner
        assert entry.changes == [
            ("network_spots", accepted.network_spots_before, session.network_spots)
        ]
        page = client.get(reverse("partner:opportunities", args=[studio.slug])).content.decode()
        worth = format_money(studio.payout_rate_cents * sold, studio.market.currency)
        assert (
            f"1 accepted · {accepted.suggested_spots} spots added · {sold} sold, worth "
            f"{worth} at your rate"
        ) in page
        assert page.count("Accepted<div") == 1 and page.count("Dismissed<div") == len(dismissed)
        log = client.get(reverse("partner:settings", args=[studio.slug])).content.decode()
        assert "class changed " + session.class_type.name in log


@pytest.mark.django_db
def test_the_demo_owner_sees_smartspot_s_past_releases_and_their_accuracy(demo, client):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from bookings.models import Counter, Reservation, ReservationStatus
    from premium.models import SmartSpotRelease
    from premium.selectors import smartspot_accuracy

    client.force_login(get_user_model().objects.get(email="owner@classpass.local"))
    for studio in Studio.objects.filter(staff__user__email="owner@classpass.local"):
        past = SmartSpotRelease.objects.filter(
            studio=studio, session__starts_at__lt=timezone.now()
        ).select_related("session")
        assert past.count() >= 5, studio.slug
        # Every past release has its outcome, and the outcome has rows behind it: the places
        # sold are network reservations beyond the spots offered before the release, those
        # who came are the class's attended reservations.
        for release in past:
            session = release.session
            assert release.outcome_at is not None
            assert 0 < release.spots_released <= session.capacity - release.network_spots_before
            assert session.network_spots == release.network_spots_before + release.spots_released
            live = Reservation.objects.filter(
                session=session,
                status__in=[ReservationStatus.ATTENDED, ReservationStatus.MISSED],
            )
            network = live.filter(counter=Counter.NETWORK).count()
            assert release.sold == min(
                release.spots_released, network - release.network_spots_before
            )
            assert release.attended == live.filter(status=ReservationStatus.ATTENDED).count()
        assert past.filter(sold__gt=0).exists(), studio.slug
        accuracy = smartspot_accuracy(studio)
        weeks = past.filter(session__starts_at__gte=timezone.now() - timezone.timedelta(weeks=8))
        assert accuracy.classes == weeks.count() > 0 and accuracy.accuracy is not None
        page = client.get(reverse("partner:smartspot", args=[studio.slug])).content.decode()
        assert f"{accuracy.classes} classes with outcomes" in page


@pytest.mark.django_db
def test_the_demo_member_has_classes_ahead_and_can_book_as_the_readme_walks_through(demo):
    from datetime import timedelta

    from django.utils import timezone
    from rest_framework.test import APIClient

    from bookings.demo import DEMO_MEMBER_KEEPS
    from bookings.models import Reservation, ReservationStatus
    from members.demo import DEMO_MEMBER
    from members.services import create_api_token

    member = Member.objects.get(user__username=DEMO_MEMBER)
    now = timezone.now()
    booked = Reservation.objects.filter(
        member=member, starts_at__gt=now, status=ReservationStatus.BOOKED
    )
    assert booked.count() >= 3
    # They keep credits for whoever tries the demo: no later seed booked for them.
    assert member.credit_balance >= DEMO_MEMBER_KEEPS
    # The README's walk-through: a class of tomorrow with spots left, booked for credits (the
    # first whose standard offer is open to the member: the walk-through's first one may be at
    # a studio whose monthly limit the demo member has reached, on some days).
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {create_api_token(member.user)[1]}")
    day = (now + timedelta(days=1)).date().isoformat()
    results = client.get("/api/v1/sessions/", {"day": day}).json()["results"]
    session = next(
        (
            r["id"]
            for r in results
            if r["spots_left"]
            and any(
                o["kind"] == "standard" and o["available"]
                for o in client.get(f"/api/v1/sessions/{r['id']}/").json()["offers"]
            )
        ),
        None,
    )
    assert session is not None, f"no class on {day} the demo member can book for credits"
    response = client.post(
        "/api/v1/reservations/",
        {"session": session, "offer": "standard"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="walk-through",
    )
    assert response.status_code == 201, response.content
    before = member.credit_balance
    member.refresh_from_db()
    assert member.credit_balance == before - response.json()["credits_spent"] >= 0


@pytest.mark.django_db
def test_the_demo_s_history_is_dated_when_it_happened_and_its_ledgers_add_up_in_that_order(
    demo, client
):
    from collections import defaultdict

    from django.utils import timezone

    from bookings.models import Reservation
    from members.demo import BOOKED_AHEAD, DEMO_MEMBER
    from members.models import CreditKind, Payment, PaymentKind
    from members.services import MIN_ROLLOVER_CAP, add_months

    now = timezone.now()
    members = Member.objects.select_related("user").in_bulk()
    ledgers = defaultdict(list)
    for entry in CreditEntry.objects.order_by("created_at", "pk"):
        ledgers[entry.member_id].append(entry)
    grants = {(e.member_id, e.reference): e for e in CreditEntry.objects.filter(kind="grant")}
    for pk, ledger in ledgers.items():
        member, balance = members[pk], 0
        for entry in ledger:
            assert entry.created_at <= now, entry
            if entry.kind == CreditKind.EXPIRY:  # it took what was above the cap, then
                grant = grants[(pk, f"cycle:{entry.reference.removeprefix('expiry:')}")]
                assert balance + entry.amount == max(grant.amount, MIN_ROLLOVER_CAP), entry
            balance += entry.amount
            assert entry.balance_after == balance >= 0, (member, entry)
            if entry.kind == CreditKind.GRANT:  # when its cycle began
                cycle = int(entry.reference.rsplit(":", 1)[1])
                assert entry.created_at == add_months(member.cycle_anchor, cycle), entry
        assert member.credit_balance == balance
    # A past reservation, and the credits or money it took, three days before its class; its
    # member had signed up before that.
    history = Reservation.objects.filter(starts_at__lt=now - BOOKED_AHEAD).select_related("member")
    assert history.count() > 1000
    for reservation in history:
        assert reservation.created_at == reservation.starts_at - BOOKED_AHEAD, reservation.pk
        assert reservation.member.created_at < reservation.created_at
    paid = dict(
        CreditEntry.objects.filter(kind="booking", reference__startswith="reservation:")
        .filter(created_at__lt=now - BOOKED_AHEAD)
        .values_list("reference", "created_at")
    )
    starts = dict(Reservation.objects.values_list("pk", "starts_at"))
    assert paid and all(
        when == starts[int(reference.split(":")[1])] - BOOKED_AHEAD
        for reference, when in paid.items()
    )
    first_charges = Payment.objects.filter(kind=PaymentKind.PLAN, reference__endswith=":0")
    assert first_charges.exists()
    for charge in first_charges.select_related("member"):
        assert charge.created_at == charge.member.cycle_anchor
    # The demo member's credit history reads in time order, with its own dates.
    demo_member = Member.objects.get(user__username=DEMO_MEMBER)
    client.force_login(demo_member.user)
    page = client.get(reverse("members:account")).content.decode()
    first = timezone.localtime(demo_member.cycle_anchor, demo_member.home_market.tzinfo)
    assert f"{first:%-d %b %Y, %H:%M}</td><td>Cycle grant" in page


ADMIN_LIST_QUERIES = 10
ADMIN_CHANGE_QUERIES = 14


@pytest.mark.django_db
def test_admin_pages_run_a_fixed_number_of_queries_over_the_demo_data(demo, admin_client):
    """A list shows up to 100 rows; a row's text (its columns, and the checkbox's label,
    which is the object's str()) must not query per row, nor a select's options per option."""
    from django.test.utils import CaptureQueriesContext

    heavy = []
    for model in site._registry:
        if model._meta.app_label not in {"studios", "members", "bookings", "premium", "marketing"}:
            continue
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        with CaptureQueriesContext(connection) as listed:
            assert admin_client.get(reverse(f"{name}_changelist")).status_code == 200
        if len(listed) > ADMIN_LIST_QUERIES:
            heavy.append(f"{model.__name__} list: {len(listed)}")
        if (latest := model._default_manager.order_by("-pk").first()) is None:
            continue
        with CaptureQueriesContext(connection) as changed:
            assert admin_client.get(reverse(f"{name}_change", args=[latest.pk])).status_code == 200
        if len(changed) > ADMIN_CHANGE_QUERIES:
            heavy.append(f"{model.__name__} change: {len(changed)}")
    assert heavy == [], "admin pages whose queries grow with the rows: " + ", ".join(heavy)
