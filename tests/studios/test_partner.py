"""Partner Dashboard pages of the studios app: schedules, classes, settings, earnings."""

import csv
import io
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from studios import selectors, services
from studios.models import (
    AuditEntry,
    ClassSession,
    EarningEntry,
    EarningKind,
    Schedule,
    StaffMembership,
    StaffRole,
)
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(studio):
    return factories.StaffFactory(studio=studio, role=StaffRole.OWNER).user


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def url(name, studio, *args):
    return reverse(f"partner:{name}", args=[studio.slug, *args])


def schedule_form(studio, **overrides):
    class_type = factories.ClassTypeFactory(studio=studio)
    data = {
        "class_type": class_type.pk,
        "weekdays": ["0", "2"],
        "local_start_time": "07:30",
        "duration_minutes": 50,
        "capacity": 20,
        "network_spots": 8,
        "credit_price": 9,
        "starts_on": timezone.localdate().isoformat(),
        "ends_on": "",
    }
    data.update(overrides)
    return data


def test_a_user_with_several_studios_picks_one(client, studio):
    user = factories.UserFactory()
    other = factories.StudioFactory(market=studio.market, name="Zed Studio")
    factories.StaffFactory(user=user, studio=studio)
    factories.StaffFactory(user=user, studio=other, role=StaffRole.FRONT_DESK)
    client.force_login(user)
    page = client.get(reverse("partner_home")).content.decode()
    assert studio.name in page and "Zed Studio" in page
    single = factories.StaffFactory(studio=other).user
    client.force_login(single)
    assert client.get(reverse("partner_home")).url == url("overview", other)


def test_create_a_schedule_generates_its_classes(owner_client, studio):
    response = owner_client.post(url("schedule_new", studio), schedule_form(studio))
    assert response.status_code == 302
    schedule = Schedule.objects.get(studio=studio)
    assert schedule.weekdays == [0, 2]
    assert ClassSession.objects.filter(schedule=schedule).count() >= 6
    assert AuditEntry.objects.filter(studio=studio, action="schedule created").exists()
    # The schedule page lists it with the days it runs.
    page = owner_client.get(url("schedule", studio)).content.decode()
    assert "<td>Mon, Wed</td>" in page


def test_schedule_forms_start_from_the_studios_own_today(client):
    """The new schedule's first day and a schedule's last day default to today where the
    studio is. At any instant, one of these two markets (UTC+14 and UTC-11) is on another date
    than UTC."""
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        studio = factories.StudioFactory(market=factories.MarketFactory(timezone=zone))
        owner = factories.StaffFactory(studio=studio, role=StaffRole.OWNER).user
        client.force_login(owner)
        today = timezone.localdate(timezone=ZoneInfo(zone)).isoformat()
        page = client.get(url("schedule_new", studio)).content.decode()
        assert f'name="starts_on" value="{today}"' in page, zone
        schedule = factories.ScheduleFactory(studio=studio)
        page = client.get(url("schedule_edit", studio, schedule.pk)).content.decode()
        assert f'name="ends_on" value="{today}"' in page, zone


@pytest.mark.parametrize(
    "override, message",
    [
        ({"network_spots": 21}, "cannot exceed the room"),
        ({"credit_price": -1}, "greater than or equal to 1"),
        ({"ends_on": "2000-01-01"}, "must not be before the start"),
        ({"weekdays": []}, "This field is required"),
        # The day after the last one would not exist: refused, not a 500.
        ({"starts_on": "9999-12-30", "ends_on": "9999-12-31"}, "Plan at most 5 years ahead"),
        ({"ends_on": "9999-12-31"}, "Plan at most 5 years ahead"),
    ],
)
def test_bad_schedules_get_form_errors_and_save_nothing(owner_client, studio, override, message):
    response = owner_client.post(url("schedule_new", studio), schedule_form(studio, **override))
    assert response.status_code == 200 and message in response.content.decode()
    assert not Schedule.objects.exists()


def test_a_time_in_the_dst_gap_is_refused(owner_client, studio):
    # New York skips 02:00-03:00 on 2027-03-14 (a Sunday).
    data = schedule_form(studio, local_start_time="02:30", weekdays=["6"], starts_on="2027-03-01")
    response = owner_client.post(url("schedule_new", studio), data)
    assert "does not exist on Sun 14 Mar 2027" in response.content.decode()
    assert not Schedule.objects.exists()


def test_editing_a_schedule_updates_upcoming_classes(owner_client, studio):
    owner_client.post(url("schedule_new", studio), schedule_form(studio))
    schedule = Schedule.objects.get()
    data = schedule_form(studio, capacity=30, network_spots=12, credit_price=11)
    data["class_type"] = schedule.class_type_id
    response = owner_client.post(url("schedule_edit", studio, schedule.pk), data)
    assert response.status_code == 302
    future = ClassSession.objects.filter(schedule=schedule, starts_at__gt=timezone.now())
    assert {(s.capacity, s.network_spots, s.credit_price) for s in future} == {(30, 12, 11)}


def test_a_schedule_edit_changes_only_what_changed_on_the_schedule(owner_client, studio):
    owner_client.post(url("schedule_new", studio), schedule_form(studio))
    schedule = Schedule.objects.get()
    future = ClassSession.objects.filter(schedule=schedule, starts_at__gt=timezone.now())
    shown = schedule_form(studio, class_type=schedule.class_type_id)  # the page as opened
    # Meanwhile the schedule offers two more network spots (an accepted recommendation)...
    values = {name: getattr(schedule, name) for name in services.SCHEDULE_FIELDS}
    services.update_schedule(schedule, by=None, **{**values, "network_spots": 10})
    # ...and SmartSpot releases one more in the first class.
    raised = future.earliest("starts_at")
    services.update_session(studio, raised.pk, by=None, network_spots=11)
    # The page, opened before both, changes the credit price only.
    initials = {f"initial-{k}": v for k, v in shown.items()}
    response = owner_client.post(
        url("schedule_edit", studio, schedule.pk), {**shown, "credit_price": 12, **initials}
    )
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert (schedule.network_spots, schedule.credit_price) == (10, 12)
    by_class = {s.pk: (s.network_spots, s.credit_price) for s in future}
    assert by_class.pop(raised.pk) == (11, 12)  # its own raise stays
    assert set(by_class.values()) == {(10, 12)}


def test_a_schedule_edit_leaves_what_one_class_has_of_its_own_and_lists_it(owner_client, studio):
    owner_client.post(url("schedule_new", studio), schedule_form(studio), follow=True)
    schedule = Schedule.objects.get()
    first, second, third, *rest = ClassSession.objects.filter(
        schedule=schedule, starts_at__gt=timezone.now()
    ).order_by("starts_at")
    substitute = factories.InstructorFactory(studio=studio, name="Sam Sub")
    services.update_session(studio, first.pk, by=None, network_spots=6)  # an event that day
    services.update_session(studio, second.pk, by=None, network_spots=11)  # a SmartSpot release
    services.update_session(studio, third.pk, by=None, instructor=substitute)
    teacher = factories.InstructorFactory(studio=studio, name="Tia Teacher")
    data = schedule_form(
        studio, class_type=schedule.class_type_id, network_spots=12, instructor=teacher.pk
    )
    response = owner_client.post(url("schedule_edit", studio, schedule.pk), data, follow=True)
    for one in (first, second, third, *rest):
        one.refresh_from_db()
    assert (first.network_spots, second.network_spots, third.network_spots) == (6, 11, 12)
    assert {s.network_spots for s in rest} == {12}
    assert third.instructor == substitute
    assert {s.instructor for s in (first, second, *rest)} == {teacher}
    shown = [str(m) for m in response.context["messages"]]
    assert shown[0] == f"Schedule saved; {2 + len(rest) + 1} upcoming classes updated."
    assert len(shown) == 4
    assert shown[1].endswith("keeps its own 6 network spots.")
    assert shown[2].endswith("keeps its own 11 network spots.")
    assert shown[3].endswith("keeps its own instructor (Sam Sub).")


def test_moving_a_schedule_regenerates_unbooked_classes(owner_client, studio):
    owner_client.post(url("schedule_new", studio), schedule_form(studio))
    schedule = Schedule.objects.get()
    data = schedule_form(studio, local_start_time="18:00")
    data["class_type"] = schedule.class_type_id
    owner_client.post(url("schedule_edit", studio, schedule.pk), data)
    tz = studio.market.tzinfo
    times = {
        timezone.localtime(s.starts_at, tz).time()
        for s in ClassSession.objects.filter(schedule=schedule)
    }
    assert times == {time(18)}


def test_ending_a_schedule_removes_unbooked_classes_after_the_last_day(owner_client, studio):
    owner_client.post(url("schedule_new", studio), schedule_form(studio))
    schedule = Schedule.objects.get()
    last = timezone.localdate() + timedelta(days=7)
    owner_client.post(url("schedule_end", studio, schedule.pk), {"ends_on": last.isoformat()})
    schedule.refresh_from_db()
    assert schedule.ends_on == last
    tz = studio.market.tzinfo
    assert all(
        timezone.localtime(s.starts_at, tz).date() <= last
        for s in ClassSession.objects.filter(schedule=schedule)
    )


def test_saving_a_stale_settings_page_keeps_what_another_manager_changed(owner_client, studio):
    from premium.models import PremiumSettings

    shown = {
        "monthly_visit_limit": studio.monthly_visit_limit,
        "cancellation_window_hours": studio.cancellation_window_hours,
        "booking_cutoff_minutes": studio.booking_cutoff_minutes,
        "payout_rate_cents": f"{studio.payout_rate_cents / 100:.2f}",
    }
    page = owner_client.get(url("settings", studio)).content.decode()
    assert f'name="initial-monthly_visit_limit" value="{studio.monthly_visit_limit}"' in page
    services.update_settings(studio, by=None, cancellation_window_hours=48)  # someone else
    response = owner_client.post(
        url("settings", studio),
        {**shown, "monthly_visit_limit": 6, **{f"initial-{k}": v for k, v in shown.items()}},
    )
    assert response.status_code == 302
    studio.refresh_from_db()
    assert (studio.monthly_visit_limit, studio.cancellation_window_hours) == (6, 48)
    assert AuditEntry.objects.filter(action="settings").latest("pk").after == {
        "monthly_visit_limit": 6
    }
    # Premium's settings page works the same way.
    PremiumSettings.objects.create(studio=studio, price_cents=3000, max_spots=2)
    premium = {"enabled": "on", "price_cents": "30.00", "max_spots": 2, "smartspot_cap": 3}
    initials = {f"initial-{k}": v for k, v in premium.items()} | {
        "initial-enabled": "True",
        "initial-a_la_carte_enabled": "True",
        "initial-smartspot_enabled": "True",
    }
    PremiumSettings.objects.filter(studio=studio).update(max_spots=5)  # someone else
    owner_client.post(
        reverse("partner:premium", args=[studio.slug]),
        {"form": "settings", **premium, "price_cents": "32.50", **initials},
    )
    saved = PremiumSettings.objects.get(studio=studio)
    assert (saved.price_cents, saved.max_spots, saved.a_la_carte_enabled) == (3250, 5, False)


def test_a_class_edit_cannot_leave_more_bookings_than_the_room_holds(owner_client, studio):
    session = factories.ClassSessionFactory(
        studio=studio, capacity=20, network_spots=10, network_booked=8, studio_booked=6
    )
    response = owner_client.post(
        url("session_edit", studio, session.pk),
        {"capacity": 12, "network_spots": 10, "studio_booked": 6},
    )
    page = response.content.decode()
    assert response.status_code == 200 and "The room holds 12, but 14 would be booked" in page
    response = owner_client.post(
        url("session_edit", studio, session.pk),
        {"capacity": 20, "network_spots": 5, "studio_booked": 6},
    )
    assert "8 members already hold network spots" in response.content.decode()
    response = owner_client.post(
        url("session_edit", studio, session.pk),
        {"capacity": 20, "network_spots": 21, "studio_booked": 0},
    )
    assert "cannot exceed the room" in response.content.decode()
    session.refresh_from_db()
    assert (session.capacity, session.network_spots, session.studio_booked) == (20, 10, 6)


def test_a_class_edit_is_saved_and_audited(owner_client, studio, owner):
    session = factories.ClassSessionFactory(studio=studio)
    response = owner_client.post(
        url("session_edit", studio, session.pk),
        {"capacity": 25, "network_spots": 12, "studio_booked": 3},
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert (session.capacity, session.network_spots, session.studio_booked) == (25, 12, 3)
    entry = AuditEntry.objects.get(action="class changed")
    assert entry.user == owner and entry.before["capacity"] == 20 and entry.after["capacity"] == 25


def test_settings_are_validated_and_every_change_audited(owner_client, studio, owner):
    bad = owner_client.post(
        url("settings", studio),
        {
            "monthly_visit_limit": 0,
            "cancellation_window_hours": 12,
            "booking_cutoff_minutes": 5,
            "payout_rate_cents": "15.00",
        },
    )
    assert bad.status_code == 200 and "greater than or equal to 1" in bad.content.decode()
    good = owner_client.post(
        url("settings", studio),
        {
            "monthly_visit_limit": 4,
            "cancellation_window_hours": 24,
            "booking_cutoff_minutes": 5,
            "payout_rate_cents": "17.50",
        },
    )
    assert good.status_code == 302
    studio.refresh_from_db()
    assert (
        studio.monthly_visit_limit,
        studio.cancellation_window_hours,
        studio.payout_rate_cents,
    ) == (4, 24, 1750)
    entry = AuditEntry.objects.get(action="settings")
    assert entry.user == owner
    assert entry.before == {
        "monthly_visit_limit": 3,
        "cancellation_window_hours": 12,
        "payout_rate_cents": 1500,
    }
    assert entry.after == {
        "monthly_visit_limit": 4,
        "cancellation_window_hours": 24,
        "payout_rate_cents": 1750,
    }
    assert "monthly_visit_limit" in owner_client.get(url("settings", studio)).content.decode()


def test_managers_do_not_see_the_audit_log(client, studio):
    manager = factories.StaffFactory(studio=studio, role=StaffRole.MANAGER).user
    client.force_login(manager)
    page = client.get(url("settings", studio)).content.decode()
    assert "Inventory settings" in page and "Audit log" not in page


def entry(studio, cents, when, kind=EarningKind.RESERVATION):
    return EarningEntry.objects.create(
        studio=studio,
        kind=kind,
        amount_cents=cents,
        currency="USD",
        occurred_at=when,
        reference=None,
    )


def test_statements_reconcile_exactly_with_the_ledger(studio):
    # Three months: earnings, a month where Spotlight fees exceed earnings, then recovery.
    rows = [
        (1500, datetime(2026, 7, 3, 15, tzinfo=UTC), EarningKind.RESERVATION),
        (2500, datetime(2026, 7, 20, 15, tzinfo=UTC), EarningKind.PREMIUM),
        (1500, datetime(2026, 8, 2, 15, tzinfo=UTC), EarningKind.RESERVATION),
        (-4000, datetime(2026, 8, 10, 15, tzinfo=UTC), EarningKind.SPOTLIGHT),
        (
            1500,
            datetime(2026, 9, 1, 3, 30, tzinfo=UTC),
            EarningKind.RESERVATION,
        ),  # 23:30 Aug 31 in New York
        (3000, datetime(2026, 9, 12, 15, tzinfo=UTC), EarningKind.RESERVATION),
        (-700, datetime(2026, 9, 13, 15, tzinfo=UTC), EarningKind.ADJUSTMENT),
    ]
    for cents, when, kind in rows:
        entry(studio, cents, when, kind)
    july, august, september = (selectors.statement(studio, 2026, m) for m in (7, 8, 9))
    assert (july.opening_cents, july.payable_cents, july.carried_cents) == (0, 4000, 0)
    assert august.by_kind == {EarningKind.RESERVATION: 3000, EarningKind.SPOTLIGHT: -4000}
    assert (august.payable_cents, august.carried_cents) == (0, -1000)
    assert september.opening_cents == -1000 and september.payable_cents == 1300
    paid = sum(s.payable_cents for s in (july, august, september)) + september.carried_cents
    assert paid == sum(cents for cents, _, _ in rows)
    assert september.payable_by == date(2026, 10, 15)


def test_earnings_page_and_csv_agree_with_the_statement(owner_client, studio):
    when = timezone.now()
    for cents in (1500, 1500, -300):
        entry(studio, cents, when)
    year, month = selectors.current_month(studio)
    page = owner_client.get(url("earnings", studio)).content.decode()
    assert "$27.00" in page
    response = owner_client.get(url("statement_csv", studio, year, month))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    amounts = [float(r[5]) for r in rows if len(r) == 7 and r[1] == "Reservation payout"]
    assert sum(amounts) == 27.0
    total = next(r for r in rows if r and r[0] == "Total payable")
    assert total[5] == "27.00"


def test_each_payout_names_when_its_class_started(owner_client, studio):
    # A late cancel is paid when it happens, hours before the class: the ledger says both.
    tz = studio.market.tzinfo
    starts = timezone.localtime(timezone.now(), tz).replace(hour=12, minute=30, second=0)
    session = factories.ClassSessionFactory(studio=studio, starts_at=starts)
    paid = entry(studio, 1400, starts - timedelta(hours=5))
    paid.session = session
    paid.save(update_fields=["session"])
    local = starts.replace(microsecond=0)
    year, month = selectors.current_month(studio)
    page = owner_client.get(url("earnings", studio)).content.decode()
    assert f"{local:%a} {local.day} {local:%b, %H:%M}" in page
    rows = list(
        csv.reader(
            io.StringIO(
                owner_client.get(url("statement_csv", studio, year, month)).content.decode()
            )
        )
    )
    header = rows[2]
    assert header[-1] == "class starts" and header[5] == "amount"
    (row,) = [r for r in rows[3:] if len(r) == 7 and r[1] == "Reservation payout"]
    assert row[6] == f"{local:%Y-%m-%d %H:%M}" and row[5] == "14.00"


def test_partner_pages_keep_a_fixed_query_count(
    owner_client, studio, django_assert_max_num_queries
):
    for _ in range(2):
        for n in range(15):
            factories.ClassSessionFactory(
                studio=studio, starts_at=timezone.now() + timedelta(days=1, minutes=n)
            )
            entry(studio, 100 + n, timezone.now())
        for name in ("schedule", "settings", "earnings"):
            with django_assert_max_num_queries(10):
                assert owner_client.get(url(name, studio)).status_code == 200


def test_a_schedule_cannot_use_another_studios_class_type(owner_client, studio):
    foreign = factories.ClassTypeFactory(studio=factories.StudioFactory(market=studio.market))
    response = owner_client.post(
        url("schedule_new", studio), schedule_form(studio, class_type=foreign.pk)
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Schedule.objects.exists()


def test_another_studios_schedule_is_a_404_and_stays_as_it_was(owner_client, studio):
    foreign = factories.ScheduleFactory(studio=factories.StudioFactory(market=studio.market))
    assert owner_client.get(url("schedule_edit", studio, foreign.pk)).status_code == 404
    edited = owner_client.post(
        url("schedule_edit", studio, foreign.pk), schedule_form(studio, capacity=5)
    )
    ended = owner_client.post(url("schedule_end", studio, foreign.pk), {"ends_on": "2026-02-01"})
    assert edited.status_code == ended.status_code == 404
    foreign.refresh_from_db()
    assert (foreign.capacity, foreign.ends_on) == (20, None)
    assert not AuditEntry.objects.exists()


def test_ending_a_schedule_without_a_date_or_before_its_start_is_refused(owner_client, studio):
    owner_client.post(url("schedule_new", studio), schedule_form(studio))
    schedule = Schedule.objects.get(studio=studio)
    classes = ClassSession.objects.filter(schedule=schedule).count()
    for ends_on, message in (
        ("", "Pick the last day of the schedule."),
        ("2000-01-01", "The end date must not be before the start date."),
        ("9999-12-31", "Plan at most 5 years ahead"),
    ):
        response = owner_client.post(
            url("schedule_end", studio, schedule.pk), {"ends_on": ends_on}, follow=True
        )
        assert message in response.content.decode()
    schedule.refresh_from_db()
    assert schedule.ends_on is None
    assert ClassSession.objects.filter(schedule=schedule).count() == classes


def test_a_statement_for_an_impossible_month_is_a_404_and_a_bad_month_shows_this_one(
    owner_client, studio
):
    year, month = selectors.current_month(studio)
    # A month whose neighbour leaves the calendar (year 10000, year 0) used to be a 500.
    for y, m in ((2026, 13), (9999, 12), (1, 1), (2019, 12), (year + 1, month)):
        assert owner_client.get(url("statement_csv", studio, y, m)).status_code == 404
    for bad in ("2026-99", "9999-12", "0001-01", "2019-12"):
        page = owner_client.get(url("earnings", studio), {"month": bad})
        assert page.status_code == 200
        assert page.context["month"] == date(year, month, 1)
    # This month has no link to the next, which has nothing yet; the one before has both.
    assert page.context["following"] is None and page.context["previous"] is not None
    earlier = page.context["previous"]
    page = owner_client.get(url("earnings", studio), {"month": f"{earlier:%Y-%m}"})
    assert page.context["following"] == date(year, month, 1)
    first = owner_client.get(url("earnings", studio), {"month": "2020-01"})
    assert first.context["month"] == date(2020, 1, 1) and first.context["previous"] is None


def test_statement_csv_cells_never_run_as_spreadsheet_formulas(owner_client, studio):
    studio.name = "@Studio"
    studio.save(update_fields=["name"])
    session = factories.ClassSessionFactory(
        studio=studio, class_type__name='=HYPERLINK("http://evil.example","Open")'
    )
    EarningEntry.objects.create(
        studio=studio,
        session=session,
        kind=EarningKind.RESERVATION,
        amount_cents=-1500,  # a negative amount stays a number
        currency="USD",
        occurred_at=timezone.now(),
        description="+1 visit",
        reference="-ref",
    )
    year, month = selectors.current_month(studio)
    rows = list(
        csv.reader(
            io.StringIO(
                owner_client.get(url("statement_csv", studio, year, month)).content.decode()
            )
        )
    )
    assert rows[0][1] == "'@Studio"
    line = next(r for r in rows if len(r) == 7 and r[1] == "Reservation payout")
    assert line[2:6] == [
        '\'=HYPERLINK("http://evil.example","Open")',
        "'+1 visit",
        "'-ref",
        "-15.00",
    ]


def test_editing_a_schedule_to_end_beyond_the_plannable_years_is_refused(owner_client, studio):
    owner_client.post(url("schedule_new", studio), schedule_form(studio))
    schedule = Schedule.objects.get(studio=studio)
    response = owner_client.post(
        url("schedule_edit", studio, schedule.pk), schedule_form(studio, ends_on="9999-12-31")
    )
    assert response.status_code == 200
    assert "Plan at most 5 years ahead" in response.content.decode()
    schedule.refresh_from_db()
    assert schedule.ends_on is None


def test_admin_refuses_a_schedule_beyond_the_plannable_years_and_old_ones_still_generate(
    studio,
):
    from django.core.exceptions import ValidationError

    schedule = factories.ScheduleFactory(studio=studio, ends_on=date.max)  # stored before the rule
    with pytest.raises(ValidationError, match="Plan at most 5 years ahead"):
        schedule.full_clean()
    today = timezone.localdate()
    sessions = services.sessions_for_schedule(schedule, start=today, end=today + timedelta(weeks=1))
    assert len(sessions) == sum(
        (today + timedelta(days=n)).weekday() in schedule.weekdays for n in range(7)
    )


# --- the team ---------------------------------------------------------------------------------


def test_an_owner_adds_an_existing_account_and_changes_its_role(owner_client, owner, studio):
    from studios.models import StaffMembership

    colleague = factories.UserFactory(email="Sam@Example.com")
    response = owner_client.post(
        url("team", studio), {"email": "sam@example.com", "role": "manager"}
    )
    assert response.status_code == 302
    membership = StaffMembership.objects.get(studio=studio, user=colleague)
    assert membership.role == StaffRole.MANAGER
    again = owner_client.post(url("team", studio), {"email": "SAM@example.com", "role": "owner"})
    assert "sam@example.com is already on the team (manager)." in again.content.decode()
    owner_client.post(url("team_action", studio, membership.pk, "role"), {"role": "front_desk"})
    membership.refresh_from_db()
    assert membership.role == StaffRole.FRONT_DESK
    page = owner_client.get(url("team", studio)).content.decode()
    assert colleague.email in page and owner.email in page
    # The add form starts at the least a new person can do, not at owner.
    assert '<option value="front_desk" selected>' in page.split("Add someone")[1]
    actions = list(AuditEntry.objects.filter(studio=studio).values_list("action", "after"))
    assert ("staff added", {"role": "manager"}) in actions
    assert ("staff role", {"role": "front_desk"}) in actions


def test_a_new_e_mail_gets_an_account_and_a_link_to_choose_a_password(
    client, owner, studio, django_capture_on_commit_callbacks
):
    import re

    from django.core import mail

    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        added = client.post(url("team", studio), {"email": "new@example.com", "role": "front_desk"})
    assert added.status_code == 302
    invitation = mail.outbox[-1]
    assert invitation.to == ["new@example.com"] and studio.name in invitation.subject
    link = re.search(r"http://\S+/password-reset/\S+/", invitation.body).group(0)
    client.logout()
    form = client.get(link.split("8000", 1)[-1], follow=True)
    assert "Choose a new password" in form.content.decode()
    client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "front-desk-passphrase", "new_password2": "front-desk-passphrase"},
    )
    logged_in = client.post(
        reverse("members:login"),
        {"username": "new@example.com", "password": "front-desk-passphrase"},
    )
    assert logged_in.status_code == 302
    assert client.get(url("overview", studio)).status_code == 200
    assert client.get(url("team", studio)).status_code == 403  # the front desk


def test_someone_with_an_account_is_told_where_their_new_dashboard_is(
    owner_client, owner, studio, django_capture_on_commit_callbacks
):
    from django.core import mail

    factories.UserFactory(email="sam@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(url("team", studio), {"email": "sam@example.com", "role": "manager"})
    (email,) = mail.outbox
    assert (
        email.to == ["sam@example.com"] and email.subject == f"You're on the team at {studio.name}"
    )
    assert f"{owner.email} added you to the team of {studio.name} on classpass, as manager." in (
        email.body
    )
    assert f"http://127.0.0.1:8000/partner/{studio.slug}/" in email.body
    assert "password-reset" not in email.body  # their password is theirs


def test_an_invitation_waits_out_a_mail_server_outage_and_goes_once(
    owner_client, studio, settings, django_capture_on_commit_callbacks
):
    from django.core import mail

    from studios import outbox
    from studios.models import OutboxMessage, StaffMembership

    working = settings.MAILERS
    settings.MAILERS = {  # nothing listens on port 1
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 1, "timeout": 2},
        }
    }
    with django_capture_on_commit_callbacks(execute=True):
        added = owner_client.post(
            url("team", studio), {"email": "new@example.com", "role": "owner"}
        )
    assert (
        added.status_code == 302
        and StaffMembership.objects.filter(studio=studio, user__email="new@example.com").exists()
    )
    waiting = OutboxMessage.objects.get(handler="studios.services.send_team_email")
    assert waiting.done_at is None and waiting.attempts == 1
    settings.MAILERS = working  # the mail server is back, and the back-off is over
    OutboxMessage.objects.filter(pk=waiting.pk).update(available_at=waiting.created_at)
    outbox.relay()
    outbox.relay()
    (email,) = mail.outbox
    assert email.to == ["new@example.com"] and "/password-reset/" in email.body


def test_someone_removed_before_their_e_mail_went_out_is_not_e_mailed(owner_client, studio):
    from django.core import mail

    from studios import outbox
    from studios.models import StaffMembership

    owner_client.post(url("team", studio), {"email": "brief@example.com", "role": "front_desk"})
    brief = StaffMembership.objects.get(studio=studio, user__email="brief@example.com")
    owner_client.post(url("team_action", studio, brief.pk, "remove"))
    assert outbox.relay() == 1 and mail.outbox == []  # handled: there is nobody to tell


def test_the_last_owner_can_neither_leave_nor_step_down(owner_client, owner, studio):
    from studios.models import StaffMembership

    mine = StaffMembership.objects.get(studio=studio, user=owner)
    for action, data in (("role", {"role": "manager"}), ("remove", {})):
        response = owner_client.post(url("team_action", studio, mine.pk, action), data, follow=True)
        assert "A studio keeps at least one owner" in response.content.decode()
    mine.refresh_from_db()
    assert mine.role == StaffRole.OWNER
    # With a second owner, the first may step down, and then lands where a manager works.
    factories.StaffFactory(studio=studio, role=StaffRole.OWNER)
    response = owner_client.post(url("team_action", studio, mine.pk, "role"), {"role": "manager"})
    mine.refresh_from_db()
    assert mine.role == StaffRole.MANAGER and response.url == reverse("partner_home")
    # An owner who leaves the only studio they staff lands on the site's home, not on a 404.
    other = StaffMembership.objects.get(studio=studio, role=StaffRole.OWNER)
    owner_client.force_login(other.user)
    owner_client.post(url("team_action", studio, mine.pk, "role"), {"role": "owner"})
    leave = owner_client.post(url("team_action", studio, other.pk, "remove"), follow=True)
    assert leave.status_code == 200 and leave.redirect_chain[-1][0] == reverse("home")


def test_bad_team_input_is_a_form_error_and_saves_nothing(owner_client, studio):
    from studios.models import StaffMembership

    before = StaffMembership.objects.count()
    for data in (
        {"email": "not an address", "role": "manager"},
        {"email": "a@b.co", "role": "boss"},
        {"email": "a" * 140 + "@example.com", "role": "manager"},  # longer than a log-in name
    ):
        response = owner_client.post(url("team", studio), data)
        assert response.status_code == 200 and 'class="errorlist' in response.content.decode()
    assert StaffMembership.objects.count() == before
    other_studio_member = factories.StaffFactory()
    assert (
        owner_client.post(url("team_action", studio, other_studio_member.pk, "remove")).status_code
        == 404
    )
    assert owner_client.post(url("team_action", studio, 1, "promote")).status_code == 404


def test_a_class_edit_keeps_what_the_desk_synced_since_the_page_was_shown(owner_client, studio):
    session = factories.ClassSessionFactory(
        studio=studio, capacity=20, network_spots=8, studio_booked=4
    )
    page = owner_client.get(url("session_edit", studio, session.pk)).content.decode()
    assert 'name="initial-studio_booked" value="4"' in page
    services.update_session(studio, session.pk, by=None, studio_booked=6)  # sold at the desk
    shown = {"capacity": 20, "network_spots": 8, "studio_booked": 4, "instructor": ""}
    response = owner_client.post(
        url("session_edit", studio, session.pk),
        {**shown, "capacity": 24, **{f"initial-{k}": v for k, v in shown.items()}},
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert (session.capacity, session.network_spots, session.studio_booked) == (24, 8, 6)


def test_a_class_edit_takes_the_instructor_off_and_a_schedule_change_keeps_a_substitute(
    owner_client, studio
):
    teacher = factories.InstructorFactory(studio=studio)
    session = factories.ClassSessionFactory(studio=studio, instructor=teacher)
    shown = {"capacity": 20, "network_spots": 10, "studio_booked": 0, "instructor": teacher.pk}
    response = owner_client.post(
        url("session_edit", studio, session.pk),
        {**shown, "instructor": "", **{f"initial-{k}": v for k, v in shown.items()}},
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.instructor is None
    # A class of a schedule without an instructor keeps its own when the schedule changes.
    schedule = factories.ScheduleFactory(studio=studio, instructor=None)
    services.generate_sessions(schedules=Schedule.objects.filter(pk=schedule.pk))
    taught = ClassSession.objects.filter(schedule=schedule).earliest("starts_at")
    services.update_session(studio, taught.pk, by=None, instructor=teacher)  # a substitute
    values = {name: getattr(schedule, name) for name in services.SCHEDULE_FIELDS}
    services.update_schedule(schedule, by=None, **{**values, "capacity": values["capacity"] + 2})
    taught.refresh_from_db()
    assert taught.instructor == teacher and taught.capacity == values["capacity"] + 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_desk_syncing_while_a_manager_resizes_the_room_keeps_both_changes(studio):
    from rest_framework.test import APIClient

    from members import services as members_services
    from tests.race import run_in_threads

    _, token = members_services.create_api_token(
        factories.StaffFactory(studio=studio, role=StaffRole.MANAGER).user
    )
    changes = [{"studio_booked": 5}, {"capacity": 30}]
    for _ in range(10):
        session = factories.ClassSessionFactory(
            studio=studio, capacity=20, network_spots=8, studio_booked=0
        )

        def work(i: int, pk=session.pk):
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            return client.patch(
                f"/api/v1/partner/{studio.slug}/sessions/{pk}/", changes[i], format="json"
            ).status_code

        assert run_in_threads(2, work) == [200, 200]
        session.refresh_from_db()
        assert (session.capacity, session.studio_booked) == (30, 5)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_leave_one_owner(studio):
    from studios import services
    from studios.errors import InventoryError
    from studios.models import StaffMembership
    from tests.race import run_in_threads

    first, second = (factories.StaffFactory(studio=studio, role=StaffRole.OWNER) for _ in range(2))
    pairs = [(first, second), (second, first)]

    def demote(i):
        by, whom = pairs[i]
        return services.change_role(studio, whom.pk, role=StaffRole.MANAGER, by=by.user)

    results = run_in_threads(2, demote)
    refused = [r for r in results if isinstance(r, InventoryError)]
    assert len(refused) == 1, results
    assert StaffMembership.objects.filter(studio=studio, role=StaffRole.OWNER).count() == 1


# --- class types and instructors ---------------------------------------------------------------


def test_a_stale_catalog_page_keeps_a_rename_made_meanwhile(owner_client, studio):
    flow = factories.ClassTypeFactory(studio=studio, name="Flow", description="")
    edit = url("catalog_edit", studio, "class-types", flow.pk)
    shown = {
        "name": "Flow",
        "category": flow.category,
        "duration_minutes": flow.duration_minutes,
        "description": "",
    }
    assert 'name="initial-name" value="Flow"' in owner_client.get(edit).content.decode()
    services.save_class_type(studio, by=None, class_type_id=flow.pk, name="Morning Flow")
    response = owner_client.post(
        edit,
        {
            **shown,
            "description": "Slow and steady.",
            **{f"initial-{k}": v for k, v in shown.items()},
        },
    )
    assert response.status_code == 302
    flow.refresh_from_db()
    assert (flow.name, flow.description) == ("Morning Flow", "Slow and steady.")
    entry = AuditEntry.objects.filter(action="class type").latest("pk")
    assert entry.after == {"description": "Slow and steady."}


def test_staff_add_and_edit_class_types_and_instructors_for_their_schedules(owner_client, studio):
    from studios.models import ClassType, Instructor

    catalog = url("catalog", studio)
    added = owner_client.post(
        catalog,
        {
            "form": "class_type",
            "ct-name": "  Sunrise Flow ",
            "ct-category": "yoga",
            "ct-duration_minutes": 60,
            "ct-description": "Slow and steady.",
        },
    )
    assert added.status_code == 302
    flow = ClassType.objects.get(studio=studio, name="Sunrise Flow")
    assert (flow.category, flow.duration_minutes) == ("yoga", 60)
    owner_client.post(catalog, {"form": "instructor", "in-name": "Ada Lane", "in-bio": ""})
    ada = Instructor.objects.get(studio=studio, name="Ada Lane")
    # Both are offered by the schedule form at once.
    form_page = owner_client.get(url("schedule_new", studio)).content.decode()
    assert "Sunrise Flow" in form_page and "Ada Lane" in form_page
    # A second class type of the same name, whatever its case, is a form error.
    again = owner_client.post(
        catalog,
        {
            "form": "class_type",
            "ct-name": "sunrise flow",
            "ct-category": "pilates",
            "ct-duration_minutes": 45,
        },
    )
    assert "already has a class type of that name" in again.content.decode()
    assert ClassType.objects.filter(studio=studio).count() == 1
    edit = url("catalog_edit", studio, "class-types", flow.pk)
    owner_client.post(
        edit,
        {"name": "Sunrise Flow", "category": "yoga", "duration_minutes": 75, "description": ""},
    )
    flow.refresh_from_db()
    assert flow.duration_minutes == 75 and flow.description == ""
    owner_client.post(url("catalog_edit", studio, "instructors", ada.pk), {"name": "Ada Lane-Hart"})
    ada.refresh_from_db()
    assert ada.name == "Ada Lane-Hart"
    assert AuditEntry.objects.filter(studio=studio, action="class type").count() == 2
    assert AuditEntry.objects.filter(studio=studio, action="instructor").count() == 2


def test_bad_class_type_input_is_a_form_error_and_other_studios_items_are_404(owner_client, studio):
    from studios.models import ClassType

    for data in (
        {"ct-name": "   ", "ct-category": "yoga", "ct-duration_minutes": 45},
        {"ct-name": "X", "ct-category": "karaoke", "ct-duration_minutes": 45},
        {"ct-name": "X", "ct-category": "yoga", "ct-duration_minutes": 2},
    ):
        response = owner_client.post(url("catalog", studio), {"form": "class_type", **data})
        assert response.status_code == 200 and 'class="errorlist' in response.content.decode()
    assert not ClassType.objects.filter(studio=studio).exists()
    elsewhere = factories.ClassTypeFactory()  # another studio's
    address = url("catalog_edit", studio, "class-types", elsewhere.pk)
    assert owner_client.get(address).status_code == 404
    assert owner_client.get(url("catalog_edit", studio, "rooms", 1)).status_code == 404


def test_the_front_desk_cannot_change_the_catalog(client, studio):
    client.force_login(factories.StaffFactory(studio=studio, role=StaffRole.FRONT_DESK).user)
    response = client.get(url("catalog", studio))
    assert response.status_code == 403
    assert (
        "Only the studio&#x27;s owners and managers can open this page; "
        "your role here is front desk." in response.content.decode()
    )


def test_a_manager_is_told_a_page_is_for_owners_only(client, studio):
    client.force_login(factories.StaffFactory(studio=studio, role=StaffRole.MANAGER).user)
    response = client.get(url("team", studio))
    assert response.status_code == 403
    page = response.content.decode()
    assert "Only the studio&#x27;s owners can open this page; your role here is manager." in page


def test_the_studio_profile_is_edited_on_the_settings_page_and_shown_to_members(
    owner_client, studio, client
):
    response = owner_client.post(
        url("settings", studio),
        {
            "form": "profile",
            "profile-address": " 12 Canal St ",
            "profile-description": "Hot yoga.\n<script>alert(1)</script>",
        },
    )
    assert response.status_code == 302
    studio.refresh_from_db()
    assert studio.address == "12 Canal St"
    assert AuditEntry.objects.filter(studio=studio, action="profile").exists()
    page = owner_client.get(reverse("bookings:studio", args=[studio.slug])).content.decode()
    assert "12 Canal St" in page and "Hot yoga.<br>" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    too_long = owner_client.post(
        url("settings", studio), {"form": "profile", "profile-description": "x" * 4001}
    )
    assert too_long.status_code == 200 and "at most 4000 characters" in too_long.content.decode()
    studio.refresh_from_db()
    assert studio.description.startswith("Hot yoga.")


def test_a_retired_instructor_is_offered_only_where_already_chosen(owner_client, studio):
    schedule = factories.ScheduleFactory(studio=studio)
    gone = schedule.instructor
    retire = url("catalog_retire", studio, "instructors", gone.pk, "retire")
    assert owner_client.post(retire).status_code == 302
    gone.refresh_from_db()
    assert not gone.is_active
    option = f">{gone.name}</option>"
    assert option not in owner_client.get(url("schedule_new", studio)).content.decode()
    # The schedule that has them keeps them, and can be saved as it is.
    assert option in owner_client.get(url("schedule_edit", studio, schedule.pk)).content.decode()
    taught = factories.ClassSessionFactory(studio=studio, instructor=gone)
    saved = owner_client.post(
        url("session_edit", studio, taught.pk),
        {"capacity": 20, "network_spots": 5, "studio_booked": 0, "instructor": gone.pk},
    )
    assert saved.status_code == 302
    chosen = owner_client.post(
        url("schedule_new", studio),
        schedule_form(studio, instructor=gone.pk),
    )
    assert chosen.status_code == 200 and "Select a valid choice" in chosen.content.decode()
    catalog = owner_client.get(url("catalog", studio)).content.decode()
    assert "retired" in catalog and "Bring back" in catalog
    owner_client.post(url("catalog_retire", studio, "instructors", gone.pk, "restore"))
    assert option in owner_client.get(url("schedule_new", studio)).content.decode()
    elsewhere = factories.InstructorFactory()
    address = url("catalog_retire", studio, "instructors", elsewhere.pk, "retire")
    assert owner_client.post(address).status_code == 404
    elsewhere.refresh_from_db()
    assert elsewhere.is_active


def test_a_statements_ledger_pages_on_to_later_entries_and_says_so(owner_client, studio):
    for _ in range(51):
        entry(studio, 1400, timezone.now())
    first = owner_client.get(url("earnings", studio)).content.decode()
    second = owner_client.get(url("earnings", studio) + "?page=2").content.decode()
    # The ledger runs in time order, as the statement adds it up: page 2 is the later entries.
    assert "Later →" in first and "Older" not in first
    assert "← Earlier" in second and "Newer" not in second


def test_money_fields_name_the_studio_currency(owner_client, studio):
    studio.market.currency = "GBP"
    studio.market.save(update_fields=["currency"])
    labels = {
        "settings": ["Standard payout per visit (GBP)"],
        "premium": ["Premium price per class (GBP)", "Premium price (GBP)"],
        "spotlight": ["Daily fee (GBP)"],
    }
    for page, expected in labels.items():
        content = owner_client.get(url(page, studio)).content.decode()
        for label in expected:
            assert f">{label}</label>" in content, (page, label)


def test_the_audit_log_and_the_team_say_when_in_the_studio_s_time(owner_client, studio, owner):
    services.update_settings(studio, by=owner, monthly_visit_limit=5)
    # 02:30 UTC on the 27th is 21:30 on the 26th in New York, the studio's city.
    late_evening = datetime(2026, 11, 27, 2, 30, tzinfo=UTC)
    AuditEntry.objects.filter(studio=studio).update(created_at=late_evening)
    StaffMembership.objects.filter(studio=studio).update(created_at=late_evening)
    log = owner_client.get(url("settings", studio)).content.decode()
    assert "26 Nov 2026, 21:30" in log and "27 Nov 2026" not in log
    team = owner_client.get(url("team", studio)).content.decode()
    assert "<td>26 Nov 2026</td>" in team and "27 Nov 2026" not in team


def test_the_audit_log_names_schedules_and_classes_as_the_studio_knows_them(
    owner_client, studio, owner
):
    owner_client.post(url("schedule_new", studio), schedule_form(studio))
    schedule = Schedule.objects.get()
    session = ClassSession.objects.filter(schedule=schedule).earliest("starts_at")
    services.update_session(studio, session.pk, by=owner, network_spots=9)
    one_off = services.create_session(
        studio,
        by=owner,
        class_type=schedule.class_type,
        starts_at=session.starts_at + timedelta(hours=3),
        duration_minutes=45,
        capacity=10,
        network_spots=4,
        credit_price=6,
    )
    tz = studio.market.tzinfo
    start = timezone.localtime(session.starts_at, tz)
    page = owner_client.get(url("settings", studio)).content.decode()
    assert f"schedule created {schedule.class_type} Mon, Wed 07:30" in page
    assert f"class changed {schedule.class_type} {start:%a %-d %b %Y, %H:%M}" in page
    later = timezone.localtime(one_off.starts_at, tz)
    assert f"class created {schedule.class_type} {later:%a %-d %b %Y, %H:%M}" in page
    # Its start, stored as the studio's time with its offset, reads as the studio's time.
    assert f"Starts: — → {later:%a %-d %b %Y, %H:%M}" in page
    assert "session:" not in page and "schedule:" not in page
    # The names cost the same queries for a page of 25 entries as for three.
    with CaptureQueriesContext(connection) as three:
        owner_client.get(url("settings", studio))
    for n in range(22):
        services.update_session(studio, session.pk, by=owner, network_spots=10 + n % 2)
    with CaptureQueriesContext(connection) as full:
        page = owner_client.get(url("settings", studio)).content.decode()
    assert page.count("class changed") == 23 and len(full) == len(three)


def test_the_audit_log_reads_each_change_in_words_money_and_names(owner_client, studio, owner):
    """What changed reads as the dashboard's own forms say it, not as stored: labels for
    keys, money in the market's currency, days, dates and times in words, instructors and
    roles by name, yes and no."""
    from premium import services as premium_services
    from studios.templatetags.money import format_money

    first, second = (factories.InstructorFactory(studio=studio) for _ in range(2))
    session = factories.ClassSessionFactory(studio=studio, instructor=first)
    rate = format_money(studio.payout_rate_cents, studio.market.currency)
    limit = studio.monthly_visit_limit
    services.update_settings(studio, by=owner, payout_rate_cents=1650, monthly_visit_limit=6)
    owner_client.post(url("schedule_new", studio), schedule_form(studio))
    services.update_session(studio, session.pk, by=owner, instructor=second, capacity=25)
    premium_services.update_settings(studio, by=owner, enabled=False)
    premium_services.set_class_type_price(studio, session.class_type, price_cents=3000, by=owner)
    manager = factories.StaffFactory(studio=studio, role=StaffRole.MANAGER)
    services.change_role(studio, manager.pk, role=StaffRole.FRONT_DESK, by=owner)
    page = owner_client.get(url("settings", studio)).content.decode()
    changes = [
        " ".join(re.sub(r"<[^>]+>", " ", d).split())
        for d in re.findall(r"<td>((?:<div>.*?</div>)+)</td>", page)
    ]
    text = " | ".join(changes)
    for expected in (
        f"Payout rate: {rate} → $16.50",
        f"Monthly visit limit: {limit} → 6",
        "Days: — → Mon, Wed",
        "Start time: — → 07:30",
        f"Starts on: — → {timezone.localdate():%-d %b %Y}",
        f"Instructor: {first.name} → {second.name}",
        f"Room: {session.capacity} → 25",
        "Premium: Yes → No",
        "Role: Manager → Front desk",
        "Premium price: — → $30.00",
    ):
        assert expected in text, (expected, text)
    assert "_cents" not in text and "instructor_id" not in text and "<code>" not in page
    assert f"premium price {session.class_type.name}</td>" in page and "class type:" not in page
