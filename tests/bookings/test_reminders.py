"""Members are reminded of a class shortly before it starts: once, and only when it helps."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from bookings import services
from bookings.models import Reservation
from studios import outbox
from studios.models import OutboxMessage
from tests import factories
from tests.race import run_in_threads


def booked_earlier(member, session, *, hours_ago: int = 24) -> Reservation:
    """A booking made well before the reminder window opened (its e-mail long sent)."""
    with outbox.silenced():
        reservation = services.book(member, session.pk)
    Reservation.objects.filter(pk=reservation.pk).update(
        created_at=timezone.now() - timedelta(hours=hours_ago)
    )
    return reservation


@pytest.mark.django_db
def test_a_member_is_reminded_once_in_the_studios_time(active_member, studio, settings):
    settings.CLASS_REMINDER_AHEAD = timedelta(hours=3)
    studio.market.timezone = "Asia/Tokyo"
    studio.market.save()
    soon = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(hours=2)
    )
    later = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(hours=5)
    )
    reminded = booked_earlier(active_member, soon)
    booked_earlier(active_member, later)
    assert services.send_class_reminders() == 1
    outbox.relay()
    (email,) = mail.outbox
    local = timezone.localtime(soon.starts_at, studio.market.tzinfo)
    assert email.to == [active_member.user.email]
    assert email.subject == (
        f"Starting soon: {soon.class_type.name} at {studio.name}, {local:%H:%M}"
    )
    # Inside the studio's 12-hour window: cancelling now is late, and says what that costs.
    assert "your credits come back and a late-cancel fee of $10.00 is charged" in email.body
    assert "Your class starts soon" in email.alternatives[0].content
    # A second run, or the relay again, reminds nobody twice.
    assert services.send_class_reminders() == 0
    outbox.relay()
    assert len(mail.outbox) == 1
    reminded.refresh_from_db()
    assert reminded.reminded_at is not None


@pytest.mark.django_db
def test_no_reminder_for_a_fresh_booking_or_a_cancelled_one(active_member, studio, settings):
    settings.CLASS_REMINDER_AHEAD = timedelta(hours=3)
    fresh = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(hours=1)
    )
    with outbox.silenced():
        services.book(active_member, fresh.pk)  # its confirmation was just sent
    dropped = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(hours=2)
    )
    reservation = booked_earlier(active_member, dropped)
    assert services.send_class_reminders() == 1  # the earlier booking only
    with outbox.silenced():
        services.cancel(reservation.pk, member=active_member)  # before the e-mail went out
    assert OutboxMessage.objects.filter(handler="bookings.emails.send_reservation_email").exists()
    outbox.relay()
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_reminder_before_the_window_says_until_when_cancelling_is_free(
    active_member, studio, settings
):
    settings.CLASS_REMINDER_AHEAD = timedelta(hours=3)
    studio.cancellation_window_hours = 1
    studio.save()
    session = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(hours=2, minutes=30)
    )
    booked_earlier(active_member, session)
    services.send_class_reminders()
    outbox.relay()
    free_until = timezone.localtime(session.starts_at - timedelta(hours=1), studio.market.tzinfo)
    assert f"Cancel by {free_until:%H:%M} to get everything back." in mail.outbox[0].body


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_reminder_runs_at_once_remind_each_member_once(market, plan, studio, settings):
    from members import services as members_services

    settings.CLASS_REMINDER_AHEAD = timedelta(hours=3)
    session = factories.ClassSessionFactory(
        studio=studio, capacity=40, network_spots=40, starts_at=timezone.now() + timedelta(hours=2)
    )
    for _ in range(30):
        member = factories.MemberFactory(home_market=market)
        with outbox.silenced():
            members_services.choose_plan(member, plan)
        booked_earlier(member, session)
    counts = run_in_threads(4, lambda i: services.send_class_reminders(chunk=7))
    assert sum(counts) == 30, counts
    messages = OutboxMessage.objects.filter(handler="bookings.emails.send_reservation_email")
    assert messages.count() == 30
    assert len({tuple(m.args) for m in messages}) == 30


@pytest.mark.django_db
def test_a_member_who_turned_reminders_off_gets_none(client, active_member, studio, settings):
    settings.CLASS_REMINDER_AHEAD = timedelta(hours=3)
    session = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(hours=2)
    )
    booked_earlier(active_member, session)
    client.force_login(active_member.user)
    account = client.get("/me/").content.decode()
    assert 'name="enabled" checked' in account
    client.post("/me/reminders/", {})  # the box unticked
    assert "No more reminders" in client.get("/me/").content.decode()
    assert services.send_class_reminders() == 0
    client.post("/me/reminders/", {"enabled": "on"})
    assert services.send_class_reminders() == 1
