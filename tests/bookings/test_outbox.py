"""Side effects go through the outbox: recorded with the change, run once after the commit."""

import pytest
from django.core import mail
from django.utils import timezone

from bookings import services
from studios import outbox
from studios.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_a_booking_records_its_email_and_the_relay_sends_it_once(active_member, session, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens: the kick fails quietly
    reservation = services.book(active_member, session.pk)
    message = OutboxMessage.objects.get()
    assert message.args == [reservation.pk, "booked"] and message.done_at is None
    assert mail.outbox == []
    assert outbox.relay() == 2  # the event, then the e-mail it queued
    assert outbox.relay() == 0
    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.done_at is not None


def test_a_rolled_back_change_sends_nothing():
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.publish("bookings.emails.send_reservation_email", 1, "booked")
        raise RuntimeError
    assert not OutboxMessage.objects.exists()


def test_a_failing_handler_is_retried_later_with_backoff():
    outbox.publish("tests.bookings.test_outbox.explode")
    assert outbox.relay() == 0
    message = OutboxMessage.objects.get()
    assert message.attempts == 1 and "boom" in message.last_error
    assert message.available_at > timezone.now()
    assert outbox.relay() == 0  # not due yet


def explode():
    raise ValueError("boom")
