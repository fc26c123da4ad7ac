"""Partner Dashboard pages of the bookings app, and tenant isolation across every partner URL."""

from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from bookings import services
from bookings.models import Reservation, ReservationKind
from marketing.models import SpotlightCampaign
from members.models import Payment, PaymentKind
from studios.models import ClassSession, EarningEntry, StaffRole
from tests import factories

pytestmark = pytest.mark.django_db


def url(name, studio, *args):
    return reverse(f"partner:{name}", args=[studio.slug, *args])


@pytest.fixture
def staff_client(client, studio):
    def login(role=StaffRole.OWNER):
        client.force_login(factories.StaffFactory(studio=studio, role=role).user)
        return client

    return login


def a_timezone_with_hours_left_today(market) -> None:
    """Put the market in a zone where the local day has at least two hours left."""
    from zoneinfo import ZoneInfo

    for name in (
        "UTC",
        "Pacific/Kiritimati",
        "Pacific/Pago_Pago",
        "Asia/Tokyo",
        "America/New_York",
    ):
        if timezone.localtime(timezone.now(), ZoneInfo(name)).hour < 22:
            market.timezone = name
            market.save()
            return


def test_overview_shows_todays_fill_and_the_months(staff_client, studio, active_member, settings):
    a_timezone_with_hours_left_today(studio.market)
    session = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(minutes=30), studio_booked=4
    )
    services.book(active_member, session.pk)
    settings.ATTENDANCE_DEFAULT_AFTER = timedelta(hours=36)
    page = staff_client().get(url("overview", studio)).content.decode()
    assert session.class_type.name in page and "1/10" in page
    assert "Visits this month" in page and "<svg" in page
    # The earnings say when a visit counts, so that this week's low bar reads right.
    assert "or 36 hours after the class if nobody marks it" in page


def test_the_months_visits_are_classes_that_started_and_bookings_ahead_are_apart(
    staff_client, studio, active_member
):
    """A booking of a class still to come is not a visit yet: the month's visits count what
    has started (as the weekly chart does), and the rest of the month's bookings stand apart."""
    from datetime import time as clock

    from bookings.selectors import month_figures
    from studios.services import local_to_utc

    tz = studio.market.tzinfo
    now = timezone.now()
    first = timezone.localtime(now, tz).date().replace(day=1)
    this_from = local_to_utc(first, clock(0), tz)
    next_from = local_to_utc((first + timedelta(days=31)).replace(day=1), clock(0), tz)
    last_from = local_to_utc((first - timedelta(days=1)).replace(day=1), clock(0), tz)
    when = {
        "earlier this month": this_from + (now - this_from) / 2,
        "later this month": now + (next_from - now) / 2,
        "last month": last_from + (this_from - last_from) / 2,
        "next month": next_from + timedelta(days=1),
    }
    for starts_at in when.values():
        session = factories.ClassSessionFactory(studio=studio, starts_at=starts_at)
        Reservation.objects.create(
            member=active_member,
            session=session,
            studio=studio,
            starts_at=starts_at,
            credits_spent=1,
            currency="USD",
            studio_payout_cents=1500,
            status="attended" if starts_at < now else "booked",
        )

    figures = month_figures(studio)

    assert (figures.visits, figures.visits_before) == (1, 1)
    assert figures.booked_ahead == 1
    page = staff_client().get(url("overview", studio)).content.decode()
    assert "1 more booked this month" in page


def test_front_desk_sees_the_overview_without_money(staff_client, studio):
    page = staff_client(StaffRole.FRONT_DESK).get(url("overview", studio)).content.decode()
    assert "Earnings this month" not in page
    assert "Schedule</a>" not in page and "Earnings</a>" not in page


def test_the_front_desk_pages_through_days_to_yesterdays_and_tomorrows_rosters(
    staff_client, studio
):
    """The morning after an evening class, its no-shows are still to mark: the overview opens
    any day of the year either side of today, and a roster leads back to its day."""
    from datetime import time as clock

    from studios.services import local_to_utc

    tz = studio.market.tzinfo
    today = timezone.localtime(timezone.now(), tz).date()
    yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)
    last_night = local_to_utc(yesterday, clock(20), tz)
    evening = factories.ClassSessionFactory(
        studio=studio, starts_at=last_night, class_type__name="Late Flow"
    )
    ahead = factories.ClassSessionFactory(
        studio=studio, starts_at=local_to_utc(tomorrow, clock(7), tz), class_type__name="Dawn Ride"
    )
    # Another studio's class, the same evening.
    factories.ClassSessionFactory(starts_at=last_night, class_type__name="Not Ours")
    client = staff_client(StaffRole.FRONT_DESK)

    page = client.get(url("overview", studio), {"day": yesterday.isoformat()}).content.decode()
    assert "<h1>Yesterday" in page
    assert "Late Flow" in page and url("roster", studio, evening.pk) in page
    assert "Dawn Ride" not in page and "Not Ours" not in page
    assert f'href="?day={(yesterday - timedelta(days=1)).isoformat()}"' in page
    assert f'href="?day={today.isoformat()}"' in page

    page = client.get(url("overview", studio), {"day": tomorrow.isoformat()}).content.decode()
    assert "<h1>Tomorrow" in page and "Dawn Ride" in page and "Late Flow" not in page
    assert url("roster", studio, ahead.pk) in page

    roster = client.get(url("roster", studio, evening.pk)).content.decode()
    assert f"{url('overview', studio)}?day={yesterday.isoformat()}" in roster

    # Anything that is not a day of the reach is today, not an error page.
    for bad in ("yesterday", "2026-02-30", (today + timedelta(days=400)).isoformat()):
        page = client.get(url("overview", studio), {"day": bad}).content.decode()
        assert "<h1>Today" in page and "Late Flow" not in page and "Dawn Ride" not in page
    far = (today - timedelta(days=366)).isoformat()
    page = client.get(url("overview", studio), {"day": far}).content.decode()
    assert "<h1>Today" not in page and "No classes on this day." in page
    assert "← " not in page  # the reach ends here


def test_roster_shows_kind_source_and_visits(staff_client, studio, active_member):
    earlier = factories.ClassSessionFactory(studio=studio, credit_price=2)
    services.book(active_member, earlier.pk)
    session = factories.ClassSessionFactory(studio=studio, credit_price=2)
    reservation = services.book(active_member, session.pk)
    Reservation.objects.filter(pk=reservation.pk).update(
        kind=ReservationKind.A_LA_CARTE, premium_reason="a_la_carte"
    )
    page = (
        staff_client(StaffRole.FRONT_DESK).get(url("roster", studio, session.pk)).content.decode()
    )
    assert active_member.user.email in page
    assert "Premium" in page  # à la carte shows as Premium to the studio
    assert "2 / 2" in page  # visits this cycle / overall at this studio


def test_check_in_and_undo_within_the_class_day(staff_client, studio, active_member):
    a_timezone_with_hours_left_today(studio.market)
    session = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(minutes=20)
    )
    reservation = services.book(active_member, session.pk)
    client = staff_client(StaffRole.FRONT_DESK)
    client.post(url("roster_action", studio, session.pk, reservation.pk, "check_in"))
    reservation.refresh_from_db()
    assert reservation.status == "attended"
    assert EarningEntry.objects.filter(studio=studio).count() == 1
    client.post(url("roster_action", studio, session.pk, reservation.pk, "undo"))
    reservation.refresh_from_db()
    assert reservation.status == "booked"
    assert sum(e.amount_cents for e in EarningEntry.objects.filter(studio=studio)) == 0
    client.post(url("roster_action", studio, session.pk, reservation.pk, "check_in"))
    assert (
        sum(e.amount_cents for e in EarningEntry.objects.filter(studio=studio))
        == studio.payout_rate_cents
    )


def test_no_show_and_its_undo_keep_the_ledgers_whole(studio, active_member):
    a_timezone_with_hours_left_today(studio.market)  # the undo comes 45 minutes from now
    start = timezone.now() - timedelta(minutes=10)
    session = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(minutes=30)
    )
    reservation = services.book(active_member, session.pk)
    services.mark_missed(reservation.pk, now=start + timedelta(minutes=50))
    active_member.refresh_from_db()
    assert active_member.credit_balance == 30
    services.undo_mark(reservation.pk, now=start + timedelta(minutes=55))
    active_member.refresh_from_db()
    assert active_member.credit_balance == 22
    fee = Payment.objects.get(kind=PaymentKind.MISSED_CLASS_FEE)
    assert Payment.objects.get(kind=PaymentKind.REFUND).amount_cents == -fee.amount_cents
    services.mark_missed(reservation.pk, now=start + timedelta(minutes=60))  # a second mark works
    assert Payment.objects.filter(kind=PaymentKind.MISSED_CLASS_FEE).count() == 2


def test_undo_is_refused_after_the_class_day(studio, active_member):
    session = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(minutes=30)
    )
    reservation = services.book(active_member, session.pk)
    services.mark_attended(reservation.pk, now=session.starts_at)
    from bookings.errors import NotCancellable

    with pytest.raises(NotCancellable, match="end of the class's day"):
        services.undo_mark(reservation.pk, now=session.starts_at + timedelta(days=1, hours=1))


def test_staff_cancel_a_class_and_everyone_is_refunded(staff_client, studio, active_member):
    session = factories.ClassSessionFactory(studio=studio)
    services.book(active_member, session.pk)
    client = staff_client(StaffRole.MANAGER)
    client.post(url("cancel_class", studio, session.pk), {})  # not confirmed: nothing happens
    session.refresh_from_db()
    assert session.status == "scheduled"
    client.post(url("cancel_class", studio, session.pk), {"confirm": "yes"})
    session.refresh_from_db()
    active_member.refresh_from_db()
    assert session.status == "cancelled" and active_member.credit_balance == 30


def test_a_class_that_has_started_offers_no_cancelling_and_refuses_it(
    staff_client, studio, active_member
):
    session = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(minutes=30)
    )
    reservation = services.book(active_member, session.pk)
    client = staff_client(StaffRole.MANAGER)
    assert "Cancel this class" in client.get(url("roster", studio, session.pk)).content.decode()
    session.starts_at = timezone.now() - timedelta(minutes=5)  # the class is under way
    session.save(update_fields=["starts_at"])
    services.mark_attended(reservation.pk)
    assert "Cancel this class" not in client.get(url("roster", studio, session.pk)).content.decode()
    page = client.post(url("cancel_class", studio, session.pk), {"confirm": "yes"}, follow=True)
    assert "This class has started; it can no longer be cancelled." in page.content.decode()
    session.refresh_from_db()
    reservation.refresh_from_db()
    assert (session.status, reservation.status) == ("scheduled", "attended")


def test_raising_network_spots_promotes_the_waitlist(staff_client, studio, market, plan):
    from members import services as members_services

    session = factories.ClassSessionFactory(studio=studio, network_spots=1)
    first, waiting = (
        factories.MemberFactory(home_market=market),
        factories.MemberFactory(home_market=market),
    )
    for m in (first, waiting):
        members_services.choose_plan(m, plan)
    services.book(first, session.pk)
    services.join_waitlist(waiting, session.pk)
    staff_client().post(
        url("session_edit", studio, session.pk),
        {"capacity": 20, "network_spots": 2, "studio_booked": 0},
    )
    assert Reservation.objects.filter(member=waiting, session=session, status="booked").exists()


def test_front_desk_gets_a_403_that_says_why(staff_client, studio):
    client = staff_client(StaffRole.FRONT_DESK)
    for name in ("schedule", "settings", "earnings"):
        response = client.get(url(name, studio))
        assert response.status_code == 403
        assert "your role here is front desk" in response.content.decode()


def test_roster_offers_check_in_and_no_show_only_when_they_can_be_taken(
    staff_client, studio, active_member
):
    session = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(hours=5), credit_price=2
    )
    services.book(active_member, session.pk)
    client = staff_client(StaffRole.FRONT_DESK)
    address = url("roster", studio, session.pk)
    opens = timezone.localtime(session.starts_at - timedelta(hours=1), studio.market.tzinfo)
    page = client.get(address).content.decode()
    assert ">Check in<" not in page and ">No-show<" not in page
    assert f"Check-in opens {opens:%a} {opens.day} {opens:%b} at {opens:%H:%M}" in page
    for hours, check_in, no_show in ((0.5, True, False), (-0.5, True, True)):
        ClassSession.objects.filter(pk=session.pk).update(
            starts_at=timezone.now() + timedelta(hours=hours)
        )
        page = client.get(address).content.decode()
        assert (">Check in<" in page, ">No-show<" in page) == (check_in, no_show), hours
        assert "Check-in opens" not in page


def test_roster_query_count_does_not_grow(
    staff_client, studio, market, plan, django_assert_max_num_queries
):
    from members import services as members_services

    session = factories.ClassSessionFactory(studio=studio, network_spots=20, capacity=30)
    client = staff_client()
    for batch in (2, 10):
        while Reservation.objects.filter(session=session).count() < batch:
            m = factories.MemberFactory(home_market=market)
            members_services.choose_plan(m, plan)
            services.book(m, session.pk)
        with django_assert_max_num_queries(8):
            assert client.get(url("roster", studio, session.pk)).status_code == 200
        with django_assert_max_num_queries(10):
            assert client.get(url("overview", studio)).status_code == 200


def partner_urls(values: dict) -> list[str]:
    """Every URL pattern under /partner/<studio_slug>/, filled with this studio's objects."""
    urls = []
    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLResolver) and pattern.namespace == "partner":
            for inner in pattern.url_patterns:
                for leaf in inner.url_patterns:
                    assert isinstance(leaf, URLPattern)
                    names = ["studio_slug", *leaf.pattern.converters]
                    urls.append(
                        reverse(f"partner:{leaf.name}", kwargs={n: values[n] for n in names})
                    )
    assert len(urls) >= 14
    return urls


def test_every_partner_url_is_a_404_for_other_studios_staff_and_members(
    client, studio, active_member
):
    session = factories.ClassSessionFactory(studio=studio)
    reservation = services.book(active_member, session.pk)
    schedule = factories.ScheduleFactory(studio=studio)
    colleague = factories.StaffFactory(studio=studio, role=StaffRole.MANAGER)
    opportunity = factories.OpportunityFactory(session=session)
    campaign = SpotlightCampaign.objects.create(
        studio=studio,
        market=studio.market,
        starts_on=session.starts_at.date(),
        ends_on=session.starts_at.date(),
        daily_fee_cents=1000,
    )
    urls = partner_urls(
        {
            "campaign_id": campaign.pk,
            "studio_slug": studio.slug,
            "session_id": session.pk,
            "reservation_id": reservation.pk,
            "schedule_id": schedule.pk,
            "opportunity_id": opportunity.pk,
            "membership_id": colleague.pk,
            "kind": "class-types",
            "item_id": schedule.class_type_id,
            "action": "check_in",
            "decision": "accept",
            "year": 2026,
            "month": 11,
        }
    )
    outsiders = [
        factories.StaffFactory(role=StaffRole.OWNER).user,  # owner of another studio
        active_member.user,  # a member
    ]
    for user in outsiders:
        client.force_login(user)
        for address in urls:
            for method in (client.get, client.post):
                response = method(address)
                assert response.status_code == 404, (user, address, response.status_code)
    reservation.refresh_from_db()
    opportunity.refresh_from_db()
    assert reservation.status == "booked" and opportunity.status == "open"
    campaign.refresh_from_db()
    assert campaign.status == "active"
    colleague.refresh_from_db()  # still on the team, still a manager
    assert colleague.role == StaffRole.MANAGER
    name = schedule.class_type.name
    schedule.class_type.refresh_from_db()
    assert schedule.class_type.name == name


def test_another_studios_objects_are_404_even_for_own_staff(staff_client, studio, active_member):
    other = factories.StudioFactory(market=studio.market)
    foreign = factories.ClassSessionFactory(studio=other)
    reservation = services.book(active_member, foreign.pk)
    client = staff_client()
    assert client.get(url("roster", studio, foreign.pk)).status_code == 404
    assert client.get(url("session_edit", studio, foreign.pk)).status_code == 404
    assert (
        client.post(
            url("roster_action", studio, foreign.pk, reservation.pk, "check_in")
        ).status_code
        == 404
    )
    assert (
        client.post(url("cancel_class", studio, foreign.pk), {"confirm": "yes"}).status_code == 404
    )
    foreign.refresh_from_db()
    assert foreign.status == "scheduled"
