"""Celery tasks of the bookings app: thin, keyed by primary keys, safe to run twice."""

from celery import shared_task

from . import services


@shared_task
def send_class_reminders() -> int:
    """E-mail the members whose class starts soon (CLASS_REMINDER_AHEAD), once each."""
    return services.send_class_reminders()


@shared_task
def mark_unmarked_attended() -> int:
    return services.mark_unmarked_attended()


@shared_task
def expire_holds() -> int:
    """Free the spots whose payment hold ran out."""
    return services.expire_holds()


@shared_task
def settle_late_payments() -> dict:
    """Confirm, or give back if the hold ended, spots whose payment was answered late."""
    return services.settle_late_payments()
