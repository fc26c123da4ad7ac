"""Nightly pruning: what was sent and what signing in left behind go, once of no use."""

from datetime import timedelta

import pytest
from axes.models import AccessLog
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from members import services as members_services
from studios import outbox
from studios.models import OutboxMessage

pytestmark = pytest.mark.django_db


def message(*, done_days_ago: float | None, attempts: int = 0) -> OutboxMessage:
    now = timezone.now()
    return OutboxMessage.objects.create(
        handler="members.emails.send_refund_settled",
        args=[1],
        available_at=now,
        attempts=attempts,
        done_at=None if done_days_ago is None else now - timedelta(days=done_days_ago),
    )


def test_prune_deletes_only_messages_delivered_before_the_keep_period(settings):
    settings.OUTBOX_KEEP_DAYS = 30
    old = [message(done_days_ago=31 + i) for i in range(5)]
    recent = message(done_days_ago=29)
    gave_up = message(done_days_ago=None, attempts=outbox.MAX_ATTEMPTS)  # support looks at it
    waiting = message(done_days_ago=None)

    assert outbox.prune(batch=2) == 5  # in three batches

    left = set(OutboxMessage.objects.values_list("pk", flat=True))
    assert left == {recent.pk, gave_up.pk, waiting.pk}
    assert not left & {m.pk for m in old}
    assert outbox.prune() == 0


def test_prune_login_records_deletes_expired_sessions_and_old_access_logs(settings):
    settings.LOGIN_RECORDS_KEEP_DAYS = 90
    live, ended = SessionStore(), SessionStore()
    live.create()
    ended.create()
    Session.objects.filter(session_key=ended.session_key).update(
        expire_date=timezone.now() - timedelta(minutes=1)
    )
    now = timezone.now()
    logs = [
        AccessLog.objects.create(
            username="sam@example.com", ip_address="127.0.0.1", user_agent="test"
        )
        for _ in range(3)
    ]
    AccessLog.objects.filter(pk__in=[logs[0].pk, logs[1].pk]).update(
        attempt_time=now - timedelta(days=91)
    )

    assert members_services.prune_login_records() == 2

    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
    assert list(AccessLog.objects.values_list("pk", flat=True)) == [logs[2].pk]
