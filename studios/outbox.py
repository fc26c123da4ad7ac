"""The transactional outbox: side effects recorded with the change, run after the commit.

It lives in the lowest app so that every app can use it: bookings for its e-mails and webhooks,
premium for waitlist promotions, members for plan e-mails, studios for team invitations. A
message names its handler by dotted path, so the outbox imports none of them.

publish() inserts a row inside the caller's transaction, so an e-mail exists exactly when its
booking does. relay() claims due rows (SKIP LOCKED, with a lease), runs each handler outside
any transaction, and marks it done; a failure is retried with back-off. A kick after each
commit runs the relay at once (eagerly in development, as a Celery task in production, at most
a few times a second per process); a beat entry drains whatever a kick missed, for example
while Redis was down. Delivered rows are kept OUTBOX_KEEP_DAYS, for support to see what was
sent, then pruned nightly; rows that gave up stay until someone looks at them in admin.
"""

import logging
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .db import insert
from .models import OutboxMessage

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
KICK_EVERY = 0.25  # seconds between two kicks from one process
_last_kick = 0.0


_silenced = threading.local()


@contextmanager
def silenced():
    """Record nothing while loading demo data: no e-mail storm about made-up bookings."""
    before = getattr(_silenced, "on", False)
    _silenced.on = True
    try:
        yield
    finally:
        _silenced.on = before


def publish(handler: str, *args) -> None:
    """Record `handler(*args)` to run after the current transaction commits."""
    if getattr(_silenced, "on", False):
        return
    insert(OutboxMessage(handler=handler, args=list(args), available_at=timezone.now()))
    transaction.on_commit(kick)


def publish_many(handler: str, args_list: list[list]) -> None:
    """Record `handler(*args)` for each args of the list, in one statement."""
    if getattr(_silenced, "on", False) or not args_list:
        return
    now = timezone.now()
    OutboxMessage.objects.bulk_create(
        [OutboxMessage(handler=handler, args=list(args), available_at=now) for args in args_list]
    )
    transaction.on_commit(kick)


def kick() -> None:
    """Ask for a relay run now; never raises (the beat entry is the safety net)."""
    global _last_kick
    if settings.CELERY_TASK_ALWAYS_EAGER:
        relay()
        return
    now = time.monotonic()
    if now - _last_kick < KICK_EVERY:
        return
    _last_kick = now
    try:
        from .tasks import relay_outbox

        relay_outbox.apply_async(retry=False)  # never stall a request retrying a dead broker
    except Exception:  # the broker is down: the rows wait for the next beat tick
        log.warning("Could not kick the outbox relay; beat will pick the messages up")


def _claim(now: datetime, batch: int) -> list[OutboxMessage]:
    with transaction.atomic():
        rows = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(done_at__isnull=True, available_at__lte=now, attempts__lt=MAX_ATTEMPTS)
            .order_by("id")[:batch]
        )
        OutboxMessage.objects.filter(pk__in=[r.pk for r in rows]).update(available_at=now + LEASE)
    return rows


def relay(*, batch: int = 200, now: datetime | None = None) -> int:
    """Run due messages until none is left, those that handlers publish included; returns how
    many succeeded."""
    done = 0
    while True:
        rows = _claim(now or timezone.now(), batch)
        if not rows:
            return done
        for row in rows:
            try:
                import_string(row.handler)(*row.args)
            except Exception as exc:
                attempts = row.attempts + 1
                log.exception("Outbox message %s failed (attempt %s)", row.pk, attempts)
                OutboxMessage.objects.filter(pk=row.pk).update(
                    attempts=attempts,
                    last_error=repr(exc)[:2000],
                    available_at=timezone.now() + timedelta(seconds=2**attempts),
                )
            else:
                OutboxMessage.objects.filter(pk=row.pk).update(done_at=timezone.now())
                done += 1


def prune(*, now: datetime | None = None, batch: int = 10_000) -> int:
    """Delete messages delivered more than OUTBOX_KEEP_DAYS ago, oldest first, in batches (one
    short transaction each, so the relay is never held up); returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.OUTBOX_KEEP_DAYS)
    pruned = 0
    while ids := list(
        OutboxMessage.objects.filter(done_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:batch]
    ):
        pruned += OutboxMessage.objects.filter(pk__in=ids).delete()[0]
    return pruned
