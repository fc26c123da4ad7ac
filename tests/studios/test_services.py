from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from studios import services
from studios.errors import InventoryError
from studios.models import ClassSession, EarningEntry, EarningKind
from tests import factories

NEW_YORK = ZoneInfo("America/New_York")


def test_local_to_utc_keeps_the_wall_clock_across_dst():
    # 09:00 in New York is 14:00 UTC in winter (EST) and 13:00 UTC in summer (EDT).
    assert services.local_to_utc(date(2027, 3, 12), time(9), NEW_YORK) == datetime(
        2027, 3, 12, 14, tzinfo=UTC
    )
    assert services.local_to_utc(date(2027, 3, 15), time(9), NEW_YORK) == datetime(
        2027, 3, 15, 13, tzinfo=UTC
    )


def test_local_to_utc_moves_a_time_in_the_spring_gap_forward():
    # 2027-03-14 02:30 does not exist in New York; the clock shows 03:30 EDT = 07:30 UTC.
    instant = services.local_to_utc(date(2027, 3, 14), time(2, 30), NEW_YORK)
    assert instant == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)
    assert instant.astimezone(NEW_YORK).time() == time(3, 30)


def test_local_to_utc_takes_the_first_of_an_ambiguous_time():
    # 2027-11-07 01:30 happens twice in New York; the first is EDT (05:30 UTC).
    assert services.local_to_utc(date(2027, 11, 7), time(1, 30), NEW_YORK) == datetime(
        2027, 11, 7, 5, 30, tzinfo=UTC
    )


@pytest.mark.django_db
def test_generate_sessions_follows_weekdays_and_is_idempotent():
    schedule = factories.ScheduleFactory(weekdays=[0, 3], starts_on=date(2027, 1, 1))  # Mon, Thu
    created = services.generate_sessions(start=date(2027, 3, 1), weeks=2, past=True)
    assert created == 4
    days = sorted(
        s.starts_at.astimezone(NEW_YORK).date()
        for s in ClassSession.objects.filter(schedule=schedule)
    )
    assert days == [date(2027, 3, 1), date(2027, 3, 4), date(2027, 3, 8), date(2027, 3, 11)]
    assert services.generate_sessions(start=date(2027, 3, 1), weeks=2, past=True) == 0
    assert ClassSession.objects.count() == 4


@pytest.mark.django_db
def test_generate_sessions_never_creates_a_class_that_has_already_started(studio):
    """A schedule made or moved during the day gets no class earlier that day; history is
    created only when asked for (demo data)."""
    tz = studio.market.tzinfo
    today = timezone.localdate(timezone=tz)
    started = factories.ScheduleFactory(
        studio=studio, weekdays=list(range(7)), local_start_time=time(0), starts_on=today
    )
    services.generate_sessions(start=today, weeks=1)
    days = {
        s.starts_at.astimezone(tz).date() for s in ClassSession.objects.filter(schedule=started)
    }
    assert today not in days and today + timedelta(days=1) in days
    assert all(s.starts_at > timezone.now() for s in ClassSession.objects.all())
    services.generate_sessions(start=today - timedelta(days=7), weeks=2, past=True)
    days = {
        s.starts_at.astimezone(tz).date() for s in ClassSession.objects.filter(schedule=started)
    }
    assert today in days and today - timedelta(days=1) not in days  # before starts_on


@pytest.mark.django_db
def test_generate_sessions_is_correct_across_a_dst_change():
    factories.ScheduleFactory(
        weekdays=list(range(7)), local_start_time=time(9), starts_on=date(2027, 1, 1)
    )
    services.generate_sessions(start=date(2027, 3, 10), weeks=1, past=True)
    local_times = {s.starts_at.astimezone(NEW_YORK).time() for s in ClassSession.objects.all()}
    utc_hours = {s.starts_at.astimezone(UTC).hour for s in ClassSession.objects.all()}
    assert local_times == {time(9)}
    assert utc_hours == {13, 14}  # the offset changed on 2027-03-14
    assert ClassSession.objects.count() == 7


@pytest.mark.django_db
def test_generate_sessions_copies_inventory_and_respects_end_date():
    schedule = factories.ScheduleFactory(
        weekdays=list(range(7)),
        capacity=18,
        network_spots=6,
        credit_price=11,
        starts_on=date(2027, 3, 1),
        ends_on=date(2027, 3, 3),
    )
    services.generate_sessions(start=date(2027, 2, 25), weeks=2, past=True)
    sessions = list(ClassSession.objects.filter(schedule=schedule))
    assert len(sessions) == 3
    assert {(s.capacity, s.network_spots, s.credit_price, s.studio_id) for s in sessions} == {
        (18, 6, 11, schedule.studio_id)
    }


@pytest.mark.django_db
def test_database_refuses_network_spots_above_capacity():
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.ClassSessionFactory(capacity=10, network_spots=11)


@pytest.mark.django_db
def test_database_refuses_an_overbooked_room():
    session = factories.ClassSessionFactory(capacity=10, network_spots=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        ClassSession.objects.filter(pk=session.pk).update(studio_booked=6, network_booked=5)


@pytest.mark.django_db
def test_record_earning_is_idempotent_per_reference():
    studio = factories.StudioFactory()
    when = datetime(2026, 11, 1, tzinfo=UTC)
    first = services.record_earning(
        studio,
        kind=EarningKind.RESERVATION,
        amount_cents=1500,
        occurred_at=when,
        reference="reservation:1",
    )
    again = services.record_earning(
        studio,
        kind=EarningKind.RESERVATION,
        amount_cents=1500,
        occurred_at=when,
        reference="reservation:1",
    )
    assert first.pk == again.pk
    assert EarningEntry.objects.count() == 1
    assert first.currency == studio.market.currency


@pytest.mark.django_db
def test_generate_sessions_task_keeps_weeks_ahead(settings):
    from studios.tasks import generate_sessions

    settings.SESSION_GENERATION_WEEKS = 1
    factories.ScheduleFactory(weekdays=list(range(7)), starts_on=date(2020, 1, 1))
    created = generate_sessions.delay().get()
    # A week of daily classes: seven, or six once today's has started (it is not created).
    assert created == ClassSession.objects.count() >= 6
    assert all(s.starts_at > datetime.now(UTC) for s in ClassSession.objects.all())
    assert generate_sessions.delay().get() == 0


def test_the_services_refuse_another_studios_class_type_and_instructor(studio):
    # The forms and the API offer only the studio's own; the services check again, for any
    # other caller (an integration, a shell).
    other = factories.StudioFactory(market=studio.market)
    foreign_type = factories.ClassTypeFactory(studio=other)
    foreign_instructor = factories.InstructorFactory(studio=other)
    with pytest.raises(InventoryError) as refused:
        services.create_session(
            studio,
            by=None,
            class_type=foreign_type,
            instructor=foreign_instructor,
            starts_at=timezone.now() + timedelta(days=2),
            duration_minutes=60,
            capacity=10,
            network_spots=4,
            credit_price=8,
        )
    assert set(refused.value.fields) >= {"class_type", "instructor"}
    own = factories.InstructorFactory(studio=studio)
    session = factories.ClassSessionFactory(studio=studio, instructor=own)
    with pytest.raises(InventoryError) as refused:
        services.update_session(
            studio,
            session.pk,
            by=None,
            capacity=session.capacity,
            network_spots=session.network_spots,
            studio_booked=0,
            instructor=foreign_instructor,
        )
    assert "instructor" in refused.value.fields
    session.refresh_from_db()
    assert session.instructor == own
    assert not ClassSession.objects.filter(class_type=foreign_type).exists()


@pytest.mark.django_db
def test_a_retired_class_type_or_instructor_is_kept_where_used_but_not_chosen_anew(studio):
    """Retiring takes one out of what new schedules and classes may use (the forms hide it,
    the services refuse it for any other caller); what already uses it keeps it."""
    schedule = factories.ScheduleFactory(studio=studio, starts_on=timezone.localdate())
    retired_type, retired_instructor = schedule.class_type, schedule.instructor
    for item in (retired_type, retired_instructor):
        services.set_retired(studio, type(item), item.pk, retired=True, by=None)
        item.refresh_from_db()
    values = {
        name: getattr(schedule, name) for name in services.SCHEDULE_FIELDS if name != "ends_on"
    }
    with pytest.raises(InventoryError) as refused:
        services.create_schedule(studio, by=None, **values)
    assert refused.value.fields == {
        "class_type": f"{retired_type.name} is retired: bring it back on the catalog page first.",
        "instructor": f"{retired_instructor.name} is retired: bring it back on the catalog page "
        "first.",
    }
    # The schedule that has them keeps them through an edit of something else.
    services.update_schedule(schedule, by=None, **{**values, "capacity": 24})
    schedule.refresh_from_db()
    assert schedule.capacity == 24 and schedule.class_type == retired_type
    with pytest.raises(InventoryError):
        services.create_session(
            studio,
            by=None,
            class_type=retired_type,
            starts_at=timezone.now() + timedelta(days=2),
            duration_minutes=60,
            capacity=10,
            network_spots=4,
            credit_price=8,
        )
    # A class may keep its retired instructor, but not be given one.
    session = factories.ClassSessionFactory(studio=studio, instructor=retired_instructor)
    other = factories.ClassSessionFactory(studio=studio)
    services.update_session(
        studio,
        session.pk,
        by=None,
        capacity=30,
        network_spots=5,
        studio_booked=0,
        instructor=retired_instructor,
    )
    with pytest.raises(InventoryError) as refused:
        services.update_session(
            studio,
            other.pk,
            by=None,
            capacity=30,
            network_spots=5,
            studio_booked=0,
            instructor=retired_instructor,
        )
    assert set(refused.value.fields) == {"instructor"}
    other.refresh_from_db()
    assert other.instructor != retired_instructor


@pytest.mark.django_db
def test_a_market_takes_only_currencies_kept_in_hundredths(admin_client):
    from django.urls import reverse

    from studios.models import Market

    def add(currency: str):
        return admin_client.post(
            reverse("admin:studios_market_add"),
            {
                "name": f"Market {currency}",
                "slug": f"market-{currency.lower()}",
                "timezone": "Asia/Tokyo",
                "currency": currency,
                "credit_value_cents": "2.00",
                "booking_window_days": 7,
                "booking_opens_at": "12:00",
                "default_cancellation_window_hours": 12,
                "late_cancel_fee_cents": 0,
                "missed_class_fee_cents": 0,
            },
        )

    page = add("JPY").content.decode()
    assert "JPY has 0 decimal places" in page
    assert "&#x27;USX&#x27; is not an ISO 4217 currency code" in add("USX").content.decode()
    assert "KWD has 3 decimal places" in add("KWD").content.decode()
    assert not Market.objects.exists()
    assert add("EUR").status_code == 302
    assert Market.objects.get().currency == "EUR"
