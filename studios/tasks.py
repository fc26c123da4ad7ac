"""Periodic work of the studios app."""

from celery import shared_task

from . import services


@shared_task
def generate_sessions() -> int:
    """Keep SESSION_GENERATION_WEEKS of sessions generated ahead; idempotent."""
    return services.generate_sessions()
