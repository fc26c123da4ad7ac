"""Celery tasks of the bookings app: thin, keyed by primary keys, safe to run twice."""

from celery import shared_task

from . import emails, services


@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def send_reservation_email(reservation_id: int, event: str) -> bool:
    return emails.send_reservation_email(reservation_id, event)


@shared_task
def promote_waitlist(session_id: int) -> int:
    return services.promote_waitlist(session_id)


@shared_task
def mark_unmarked_attended() -> int:
    return services.mark_unmarked_attended()
