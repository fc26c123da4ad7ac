"""Periodic work of the members app."""

from celery import shared_task

from . import services


@shared_task
def renew_due_cycles() -> int:
    """Renew every plan whose cycle has ended; idempotent."""
    return services.renew_due_cycles()


@shared_task
def settle_pending_payments() -> dict:
    """Ask the payment provider again about refunds and fees it did not answer; idempotent."""
    return services.settle_pending_payments()


@shared_task
def prune_login_records() -> int:
    """Delete expired sessions and old login logs."""
    return services.prune_login_records()
