"""Django admin: money typed in major units and shown in currency (studios.admin.MoneyAdmin), and
what stays fixed once rows depend on it."""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from members.models import Payment, PaymentKind, PaymentStatus, Plan
from premium.models import PremiumSettings

pytestmark = pytest.mark.django_db


def plan_form(market, **fields):
    return {
        "name": "Core",
        "market": market.pk,
        "credits_per_cycle": 50,
        "price_cents": "47.49",
        "is_active": "on",
        **fields,
    }


def test_a_plan_price_is_typed_in_major_units_and_shown_in_its_currency(admin_client, market):
    add = reverse("admin:members_plan_add")
    assert admin_client.post(add, plan_form(market)).status_code == 302
    plan = Plan.objects.get()
    assert plan.price_cents == 4749
    # A whole number is a whole amount of money, not of cents.
    response = admin_client.post(add, plan_form(market, name="Max", price_cents="47"))
    assert response.status_code == 302
    assert Plan.objects.get(name="Max").price_cents == 4700

    listed = admin_client.get(reverse("admin:members_plan_changelist")).content.decode()
    assert "$47.49" in listed and "$47.00" in listed and "4749" not in listed
    change = reverse("admin:members_plan_change", args=[plan.pk])
    page = admin_client.get(change).content.decode()
    assert 'value="47.49"' in page and "Price (USD)" in page

    # Saving another field leaves the price as it was, and the history says what changed.
    assert admin_client.post(change, plan_form(market, name="Core Plus")).status_code == 302
    plan.refresh_from_db()
    assert (plan.name, plan.price_cents) == ("Core Plus", 4749)
    message = LogEntry.objects.filter(object_id=str(plan.pk)).latest("pk").get_change_message()
    assert "Name" in message and "Price" not in message


@pytest.mark.parametrize(
    "price, error",
    [
        ("4749 cents", "Enter a number."),
        ("-1", "greater than or equal to 0"),
        ("47.499", "no more than 2 decimal places"),
        ("1000000", "less than or equal to 999999.99"),
    ],
)
def test_a_malformed_price_is_a_form_error(admin_client, market, price, error):
    response = admin_client.post(
        reverse("admin:members_plan_add"), plan_form(market, price_cents=price)
    )
    assert response.status_code == 200 and error in response.content.decode()
    assert not Plan.objects.exists()


def test_ledger_and_settings_pages_show_money_in_the_rows_currency(admin_client, studio, member):
    studio.market.currency = "GBP"
    studio.market.save(update_fields=["currency"])
    PremiumSettings.objects.create(studio=studio, price_cents=3250, max_spots=2)
    payment = Payment.objects.create(
        member=member,
        kind=PaymentKind.A_LA_CARTE,
        amount_cents=2900,
        currency="EUR",
        status=PaymentStatus.SUCCEEDED,
        provider="local",
        reference="test:1",
    )
    # A ledger's entry is read only: its page shows the amount, not a field holding cents.
    page = admin_client.get(reverse("admin:members_payment_change", args=[payment.pk]))
    page = page.content.decode()
    assert "À la carte €29.00 (succeeded)" in page  # its title
    assert "€29.00 refunded" not in page and "€0.00 refunded or pending" in page
    assert "2900" not in page
    listed = admin_client.get(reverse("admin:members_payment_changelist")).content.decode()
    assert "€29.00" in listed
    listed = admin_client.get(reverse("admin:premium_premiumsettings_changelist")).content.decode()
    assert "£32.50" in listed
    listed = admin_client.get(reverse("admin:studios_studio_changelist")).content.decode()
    assert f"£{studio.payout_rate_cents / 100:.2f}" in listed


def test_a_reservations_page_shows_its_price_and_payout_as_money(admin_client, member, session):
    from bookings.models import Reservation

    reservation = Reservation.objects.create(
        member=member,
        session=session,
        studio=session.studio,
        starts_at=session.starts_at,
        credits_spent=0,
        money_paid_cents=2850,
        currency="USD",
        studio_payout_cents=1975,
    )
    page = admin_client.get(reverse("admin:bookings_reservation_change", args=[reservation.pk]))
    page = page.content.decode()
    assert "$28.50" in page and "$19.75" in page
    assert "2850" not in page and "1975" not in page


def market_form(market, **fields):
    return {
        "name": market.name,
        "slug": market.slug,
        "timezone": market.timezone,
        "currency": market.currency,
        "credit_value_cents": "2.00",
        "booking_window_days": market.booking_window_days,
        "booking_opens_at": "12:00",
        "default_cancellation_window_hours": market.default_cancellation_window_hours,
        "late_cancel_fee_cents": "10.00",
        "missed_class_fee_cents": "15.00",
        **fields,
    }


def test_a_markets_currency_and_timezone_are_fixed_once_it_has_studios_or_plans(
    admin_client, market
):
    """Amounts are minor units of the market's currency and classes are instants made from its
    wall times: another currency would re-denominate every price, another timezone would move
    every class already generated away from its schedule."""
    from tests import factories

    change = reverse("admin:studios_market_change", args=[market.pk])
    # A new market, with nothing in it yet, can still be set right.
    assert 'name="currency"' in admin_client.get(change).content.decode()
    moved = market_form(market, currency="EUR", timezone="Europe/Berlin")
    assert admin_client.post(change, moved).status_code == 302
    market.refresh_from_db()
    assert (market.currency, market.timezone) == ("EUR", "Europe/Berlin")

    factories.StudioFactory(market=market)
    page = admin_client.get(change).content.decode()
    assert 'name="currency"' not in page and 'name="timezone"' not in page
    back = market_form(market, currency="USD", timezone="Asia/Tokyo", credit_value_cents="2.50")
    assert admin_client.post(change, back).status_code == 302
    market.refresh_from_db()
    assert (market.currency, market.timezone) == ("EUR", "Europe/Berlin")
    assert market.credit_value_cents == 250  # the rest of the market is still edited here


def test_a_studio_and_a_plan_stay_in_their_market(admin_client, studio, market):
    from tests import factories

    other = factories.MarketFactory()
    studio_page = reverse("admin:studios_studio_change", args=[studio.pk])
    assert 'name="market"' not in admin_client.get(studio_page).content.decode()
    plan = factories.PlanFactory(market=market)
    plan_page = reverse("admin:members_plan_change", args=[plan.pk])
    assert 'name="market"' not in admin_client.get(plan_page).content.decode()
    response = admin_client.post(plan_page, plan_form(other, name="Moved", price_cents="9.99"))
    assert response.status_code == 302
    plan.refresh_from_db()
    assert (plan.market, plan.name, plan.price_cents) == (market, "Moved", 999)
    # Both are still made in any market.
    add = admin_client.get(reverse("admin:studios_studio_add")).content.decode()
    assert 'name="market"' in add


def schedule_form(schedule, **fields):
    return {
        "studio": schedule.studio_id,
        "class_type": schedule.class_type_id,
        "instructor": schedule.instructor_id or "",
        "weekdays": "[0, 1, 2, 3, 4, 5, 6]",
        "local_start_time": "09:00",
        "duration_minutes": 60,
        "capacity": 20,
        "network_spots": 10,
        "credit_price": 8,
        "starts_on": schedule.starts_on.isoformat(),
        "ends_on": "",
        **fields,
    }


def test_a_schedule_saved_in_admin_moves_its_classes_as_the_dashboard_does(admin_client, studio):
    """Saved as a row alone, a new time left the upcoming classes at the old one, and the next
    nightly run added the new time beside them: two classes a day."""
    from datetime import time

    from django.utils import timezone

    from studios.models import ClassSession, Schedule
    from studios.services import generate_sessions
    from tests import factories

    add = reverse("admin:studios_schedule_add")
    template = factories.ScheduleFactory.build(studio=studio)
    template.class_type = factories.ClassTypeFactory(studio=studio)
    template.instructor = None
    template.starts_on = timezone.localdate()
    assert admin_client.post(add, schedule_form(template)).status_code == 302
    schedule = Schedule.objects.get()
    upcoming = ClassSession.objects.filter(schedule=schedule, starts_at__gt=timezone.now())
    assert upcoming.count() >= 7  # generated at once, as from the dashboard

    change = reverse("admin:studios_schedule_change", args=[schedule.pk])
    response = admin_client.post(change, schedule_form(schedule, local_start_time="18:30"))
    assert response.status_code == 302
    generate_sessions()  # the nightly run
    tz = studio.market.tzinfo
    times = {timezone.localtime(s.starts_at, tz).time() for s in upcoming}
    assert times == {time(18, 30)}
    days = [timezone.localtime(s.starts_at, tz).date() for s in upcoming]
    assert len(days) == len(set(days))  # one class a day

    # A schedule is not deleted (its classes would stay on sale as one-offs): it is ended, and
    # its unbooked classes after its last day go.
    delete = reverse("admin:studios_schedule_delete", args=[schedule.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    last = timezone.localdate(timezone=tz) + timezone.timedelta(days=2)
    schedule.refresh_from_db()
    ended = schedule_form(schedule, local_start_time="18:30", ends_on=last.isoformat())
    assert admin_client.post(change, ended).status_code == 302
    assert Schedule.objects.filter(pk=schedule.pk).exists()
    assert max(timezone.localtime(s.starts_at, tz).date() for s in upcoming.all()) <= last
    assert ClassSession.objects.filter(schedule__isnull=True).count() == 0


def test_a_schedule_in_admin_refuses_another_studios_class_type(admin_client, studio):
    from studios.models import Schedule
    from tests import factories

    theirs = factories.ClassTypeFactory()  # another studio's
    template = factories.ScheduleFactory.build(studio=studio, instructor=None)
    template.class_type = theirs
    response = admin_client.post(reverse("admin:studios_schedule_add"), schedule_form(template))
    assert response.status_code == 200
    assert "Pick one of this studio&#x27;s class types." in response.content.decode()
    assert not Schedule.objects.exists()


def test_a_class_type_and_an_instructor_stay_at_their_studio(admin_client, studio):
    from tests import factories

    for made, name in (
        (factories.ClassTypeFactory(studio=studio), "classtype"),
        (factories.InstructorFactory(studio=studio), "instructor"),
    ):
        page = admin_client.get(reverse(f"admin:studios_{name}_change", args=[made.pk]))
        assert 'name="studio"' not in page.content.decode()
        add = admin_client.get(reverse(f"admin:studios_{name}_add")).content.decode()
        assert 'name="studio"' in add


def test_an_instructor_who_taught_is_retired_not_deleted(admin_client, session):
    """Deleting an instructor erased them from every class and schedule they taught; the
    delete is refused while anything names them, and retiring (is_active) keeps them."""
    from studios.models import Instructor
    from tests import factories

    teacher = factories.InstructorFactory(studio=session.studio)
    session.instructor = teacher
    session.save(update_fields=["instructor"])
    delete = reverse("admin:studios_instructor_delete", args=[teacher.pk])
    page = admin_client.post(delete, {"post": "yes"}).content.decode()
    assert "<title>Cannot delete instructor" in page
    session.refresh_from_db()
    assert session.instructor == teacher
    unused = factories.InstructorFactory(studio=session.studio)
    deleted = admin_client.post(
        reverse("admin:studios_instructor_delete", args=[unused.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 302
    assert list(Instructor.objects.all()) == [teacher]


def test_class_and_reservation_lists_show_the_start_in_the_studio_s_time(
    admin_client, member, session
):
    from datetime import UTC, datetime

    from bookings.models import Reservation

    # 23:30 UTC on Friday is 18:30 on Friday in New York; admin's own columns say Saturday.
    session.starts_at = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)
    session.save(update_fields=["starts_at"])
    reservation = Reservation.objects.create(
        member=member,
        session=session,
        studio=session.studio,
        starts_at=session.starts_at,
        credits_spent=8,
        currency="USD",
        studio_payout_cents=1400,
    )
    for url in [
        reverse("admin:studios_classsession_changelist"),
        reverse("admin:bookings_reservation_changelist"),
        reverse("admin:studios_classsession_change", args=[session.pk]),
        reverse("admin:bookings_reservation_change", args=[reservation.pk]),
    ]:
        page = admin_client.get(url).content.decode()
        assert "Starts (studio time)" in page and "Fri 27 Nov 2026, 18:30 EST" in page, url


def test_a_team_changes_in_admin_through_the_team_services(admin_client, studio):
    """Audited, e-mailed, and never leaving a studio without an owner, as on the Team page."""
    from django.core import mail

    from studios.models import AuditEntry, StaffMembership, StaffRole
    from studios.outbox import relay

    add = reverse("admin:studios_staffmembership_add")
    form = {"studio": studio.pk, "email": "New.Owner@Example.com", "role": StaffRole.OWNER}
    assert admin_client.post(add, form).status_code == 302
    owner = StaffMembership.objects.get()
    assert (owner.user.email, owner.role) == ("new.owner@example.com", StaffRole.OWNER)
    assert AuditEntry.objects.filter(studio=studio, action="staff added").exists()
    relay()
    assert mail.outbox[-1].to == ["new.owner@example.com"]
    again = admin_client.post(add, form).content.decode()
    assert "already on the team" in again and StaffMembership.objects.count() == 1

    # The only owner is neither demoted nor removed; the refusal says why.
    change = reverse("admin:studios_staffmembership_change", args=[owner.pk])
    assert 'name="studio"' not in admin_client.get(change).content.decode()
    refused = admin_client.post(change, {"role": StaffRole.MANAGER}, follow=True)
    assert "keeps at least one owner" in refused.content.decode()
    owner.refresh_from_db()
    assert owner.role == StaffRole.OWNER
    delete = reverse("admin:studios_staffmembership_delete", args=[owner.pk])
    gone = admin_client.post(delete, {"post": "yes"}, follow=True).content.decode()
    assert "keeps at least one owner" in gone and StaffMembership.objects.filter(pk=owner.pk)

    # With a second owner, both go through, audited.
    assert admin_client.post(add, {**form, "email": "second@example.com"}).status_code == 302
    assert admin_client.post(change, {"role": StaffRole.MANAGER}).status_code == 302
    owner.refresh_from_db()
    assert owner.role == StaffRole.MANAGER
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not StaffMembership.objects.filter(pk=owner.pk).exists()
    actions = set(AuditEntry.objects.filter(studio=studio).values_list("action", flat=True))
    assert {"staff added", "staff role", "staff removed"} <= actions
    # The studio's page lists its team to read; it changes on the team's own page.
    page = admin_client.get(reverse("admin:studios_studio_change", args=[studio.pk]))
    assert "second@example.com" in page.content.decode()
    assert 'name="staff-0-role"' not in page.content.decode()


def test_a_studio_s_settings_changed_in_admin_reach_its_audit_log(admin_client, studio):
    """The owner reads every change of their settings in the audit log, admin's too."""
    import json

    from studios.models import AuditEntry

    page = reverse("admin:studios_studio_change", args=[studio.pk])
    form = {
        "name": "Renamed Studio",
        "slug": studio.slug,
        "address": studio.address,
        "latitude": "",
        "longitude": "",
        "description": "  Mats and towels included.  ",
        "categories": json.dumps(studio.categories),
        "monthly_visit_limit": studio.monthly_visit_limit,
        "cancellation_window_hours": studio.cancellation_window_hours,
        "booking_cutoff_minutes": studio.booking_cutoff_minutes,
        "payout_rate_cents": "21.50",
        "is_active": "on",
        "staff-TOTAL_FORMS": 0,
        "staff-INITIAL_FORMS": 0,
    }
    response = admin_client.post(page, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    studio.refresh_from_db()
    assert (studio.name, studio.payout_rate_cents) == ("Renamed Studio", 2150)
    assert studio.description == "Mats and towels included."
    settings = AuditEntry.objects.get(studio=studio, action="settings")
    assert settings.after == {"payout_rate_cents": 2150} and settings.user.is_superuser
    assert AuditEntry.objects.get(studio=studio, action="profile").after == {
        "description": "Mats and towels included."
    }


def test_class_types_and_instructors_in_admin_go_through_the_audited_services(admin_client, studio):
    from studios.models import AuditEntry, ClassType

    add = reverse("admin:studios_classtype_add")
    form = {
        "studio": studio.pk,
        "name": "  Sunrise Flow ",
        "category": "yoga",
        "duration_minutes": 60,
        "description": "",
        "is_active": "on",
    }
    assert admin_client.post(add, form).status_code == 302
    made = ClassType.objects.get(studio=studio)
    assert made.name == "Sunrise Flow"  # as the schedule page saves it
    # A name is unique per studio whatever its case: refused, with why, nothing saved.
    again = admin_client.post(add, {**form, "name": "SUNRISE FLOW"}, follow=True)
    assert "already has a class type of that name" in again.content.decode()
    assert ClassType.objects.filter(studio=studio).count() == 1
    change = reverse("admin:studios_classtype_change", args=[made.pk])
    edited = {**form, "name": "Sunrise Flow", "duration_minutes": 75, "is_active": ""}
    assert admin_client.post(change, edited).status_code == 302
    made.refresh_from_db()
    assert (made.duration_minutes, made.is_active) == (75, False)
    logged = AuditEntry.objects.filter(studio=studio, target="Sunrise Flow")
    assert [entry.after for entry in logged.order_by("pk")] == [
        {"name": "Sunrise Flow", "category": "yoga", "duration_minutes": 60, "description": ""},
        {"duration_minutes": 75},
        {"is_active": False},
    ]
    assert all(entry.user.is_superuser for entry in logged)
    instructor = {"studio": studio.pk, "name": "Ana Costa", "bio": "", "is_active": "on"}
    assert admin_client.post(reverse("admin:studios_instructor_add"), instructor).status_code == 302
    assert AuditEntry.objects.filter(studio=studio, target="Ana Costa").exists()


def test_a_class_added_in_admin_is_checked_and_audited_as_the_api_s(admin_client, studio):
    from django.utils import timezone

    from studios.models import AuditEntry, ClassSession
    from tests import factories

    add = reverse("admin:studios_classsession_add")
    ours = factories.ClassTypeFactory(studio=studio)
    theirs = factories.ClassTypeFactory()  # another studio's
    day = timezone.now() + timezone.timedelta(days=3)
    form = {
        "studio": studio.pk,
        "class_type": theirs.pk,
        "instructor": "",
        "starts_at_0": f"{day:%Y-%m-%d}",
        "starts_at_1": "18:00:00",
        "duration_minutes": 60,
        "capacity": 10,
        "network_spots": 12,
        "studio_booked": 0,
        "credit_price": 8,
    }
    refused = admin_client.post(add, form).content.decode()
    assert "Pick one of this studio&#x27;s class types." in refused
    assert "Network spots cannot exceed the room&#x27;s capacity." in refused
    past = {**form, "class_type": ours.pk, "network_spots": 5, "starts_at_0": "2020-01-01"}
    assert "A new class must start in the future." in admin_client.post(add, past).content.decode()
    assert not ClassSession.objects.exists()
    made = {**form, "class_type": ours.pk, "network_spots": 5}
    assert admin_client.post(add, made).status_code == 302
    session = ClassSession.objects.get()
    assert (session.network_spots, session.status, session.schedule) == (5, "scheduled", None)
    assert AuditEntry.objects.filter(action="class created", target=f"session:{session.pk}")
