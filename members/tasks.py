"""Periodic work of the members app."""

from celery import shared_task

from . import services


@shared_task
def renew_due_cycles() -> int:
    """Renew every plan whose cycle has ended; idempotent."""
    return services.renew_due_cycles()


@shared_task
def settle_pending_payments() -> dict:
    """Ask the payment provider again about payments it did not answer, then give back plan
    charges it answered yes to late that no plan started with; idempotent."""
    settled = services.settle_pending_payments()
    return {**settled, "plan_charges_given_back": services.refund_unused_plan_charges()}


@shared_task
def prune_login_records() -> int:
    """Delete expired sessions and old login logs."""
    return services.prune_login_records()
