"""Celery tasks of the premium app: the nightly scans as groups of chunk tasks."""

import time

from celery import group, shared_task
from django.conf import settings
from django.utils import timezone

from . import scans, smartspot
from .models import ScanKind, ScanRun


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_scan_chunk(chunk_id: int) -> dict | None:
    """One chunk; a killed worker's chunk is redelivered and redone from scratch."""
    result = scans.run_chunk(chunk_id)
    if settings.SCAN_CHUNK_PAUSE:
        time.sleep(settings.SCAN_CHUNK_PAUSE)  # spread a night's scan to spare the database
    run_id = ScanRun.objects.filter(chunks__pk=chunk_id).values_list("pk", flat=True).first()
    if run_id:
        scans.finish_if_done(run_id)
    return result and {"found": result.candidates, "spots": result.spots}


def _dispatch(run: ScanRun) -> int:
    chunk_ids = scans.pending_chunks(run)
    if chunk_ids:
        group(run_scan_chunk.s(pk) for pk in chunk_ids).apply_async()
    else:
        scans.finish_if_done(run.pk)
    return len(chunk_ids)


@shared_task
def start_smartspot_scan() -> int:
    return _dispatch(scans.start(ScanKind.SMARTSPOT))


@shared_task
def start_opportunities_scan() -> int:
    return _dispatch(scans.start(ScanKind.OPPORTUNITIES))


@shared_task
def resume_scans() -> int:
    """Dispatch what unfinished runs still have to do (after a crash or a lost message)."""
    return sum(_dispatch(run) for run in ScanRun.objects.filter(finished_at__isnull=True))


@shared_task
def record_smartspot_outcomes() -> int:
    return smartspot.record_outcomes(now=timezone.now())
