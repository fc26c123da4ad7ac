"""Periodic work of the studios app."""

from celery import shared_task

from . import outbox, services


@shared_task
def generate_sessions() -> int:
    """Keep SESSION_GENERATION_WEEKS of sessions generated ahead; idempotent."""
    return services.generate_sessions()


@shared_task
def relay_outbox() -> int:
    """Run the side effects (e-mails, webhooks, promotion retries) that commits recorded."""
    return outbox.relay()


@shared_task
def prune_outbox() -> int:
    """Delete outbox messages delivered more than OUTBOX_KEEP_DAYS ago."""
    return outbox.prune()
