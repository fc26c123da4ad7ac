"""Celery tasks of the marketing app."""

from celery import shared_task

from . import services


@shared_task
def flush_spotlight_counters() -> int:
    return services.flush_counters()


@shared_task
def bill_spotlight() -> int:
    return services.bill_due()
