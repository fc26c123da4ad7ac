"""Running the nightly scans: runs split into chunks, each claimed, computed and written at once.

A run is split by market and then by slices of studios (chunks). A chunk is claimed with
SELECT … FOR UPDATE SKIP LOCKED and marked done in the same transaction as its writes, so a
worker killed half-way leaves the chunk pending and untouched, and its redelivery (or the next
resume) redoes it from scratch: no release or recommendation is ever written twice. At most one
unfinished run of a kind exists (a partial unique constraint); starting another resumes it.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from studios.models import Market, Studio

from . import history, opportunities, smartspot
from .models import ScanChunk, ScanKind, ScanRun


@dataclass
class ChunkResult:
    chunk_id: int
    candidates: int
    written: int
    spots: int = 0


def start(
    kind: str,
    *,
    market: Market | None = None,
    now: datetime | None = None,
    chunk_studios: int | None = None,
) -> ScanRun:
    """Create a run and its chunks, or return the unfinished run of this kind (resume)."""
    now = now or timezone.now()
    chunk_studios = chunk_studios or settings.SCAN_CHUNK_STUDIOS
    unfinished = ScanRun.objects.filter(kind=kind, finished_at__isnull=True).first()
    if unfinished is not None:
        return unfinished
    try:
        with transaction.atomic():
            markets = [market] if market else list(Market.objects.order_by("pk"))
            # Every chunk of a market forecasts from the same category history, read once here
            # rather than once per chunk (each such read scans the market's past classes).
            read = history.by_category([m.pk for m in markets], now=now)
            categories = history.to_json({m.pk: read.get(m.pk, {}) for m in markets})
            run = ScanRun.objects.create(
                kind=kind, market=market, as_of=now, category_history=categories
            )
            chunks = []
            for m in markets:
                ids = list(
                    Studio.objects.filter(market=m, is_active=True)
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
                chunks += [
                    ScanChunk(run=run, market=m, studio_ids=ids[i : i + chunk_studios])
                    for i in range(0, len(ids), chunk_studios)
                ]
            ScanChunk.objects.bulk_create(chunks)
    except IntegrityError:  # another process started one at the same moment: join it
        return ScanRun.objects.get(kind=kind, finished_at__isnull=True)
    return run


def pending_chunks(run: ScanRun) -> list[int]:
    return list(run.chunks.filter(done_at__isnull=True).values_list("pk", flat=True))


def run_chunk(chunk_id: int, *, dry_run: bool = False) -> ChunkResult | None:
    """Claim one chunk and do it; None when another worker holds it or it is done."""
    with transaction.atomic():
        chunk = (
            ScanChunk.objects.select_for_update(skip_locked=True)
            .select_related("run")
            .filter(pk=chunk_id, done_at__isnull=True)
            .first()
        )
        if chunk is None:
            return None
        run = chunk.run
        # A run started before runs kept their category history reads it per chunk.
        categories = history.from_json(run.category_history.get(str(chunk.market_id)))
        if run.kind == ScanKind.SMARTSPOT:
            found = smartspot.plan(
                chunk.market_id, chunk.studio_ids, now=run.as_of, categories=categories
            )
            spots = 0 if dry_run else smartspot.apply(found, run_id=run.pk)
            result = ChunkResult(
                chunk.pk, len(found), len(found), spots or sum(r.spots_released for r in found)
            )
        else:
            found = opportunities.plan(
                chunk.market_id, chunk.studio_ids, now=run.as_of, categories=categories
            )
            if not dry_run:
                opportunities.apply(
                    found, studio_ids=chunk.studio_ids, run_id=run.pk, now=run.as_of
                )
            result = ChunkResult(
                chunk.pk, len(found), len(found), sum(o.suggested_spots for o in found)
            )
        if dry_run:
            transaction.set_rollback(True)
            return result
        chunk.done_at = timezone.now()
        chunk.result = {"found": result.candidates, "spots": result.spots}
        chunk.save(update_fields=["done_at", "result"])
    return result


def finish_if_done(run_id: int) -> bool:
    """Close the run once every chunk is done."""
    with transaction.atomic():
        run = ScanRun.objects.select_for_update().get(pk=run_id)
        if run.finished_at is None and not run.chunks.filter(done_at__isnull=True).exists():
            run.finished_at = timezone.now()
            run.save(update_fields=["finished_at"])
        return run.finished_at is not None


def run_inline(
    kind: str,
    *,
    market: Market | None = None,
    dry_run: bool = False,
    pause: float = 0.0,
    progress: Callable[[ChunkResult | None], None] | None = None,
    chunk_studios: int | None = None,
) -> tuple[ScanRun | None, list[ChunkResult]]:
    """Run (or resume) a scan in this process: for the management commands and tests.

    A dry run computes every chunk in a transaction that is rolled back, and leaves no run.
    """
    if dry_run:
        with transaction.atomic():
            run = start(kind, market=market, chunk_studios=chunk_studios)
            results = [run_chunk(pk, dry_run=True) for pk in pending_chunks(run)]
            transaction.set_rollback(True)
        return None, [r for r in results if r]
    run = start(kind, market=market, chunk_studios=chunk_studios)
    results = []
    for pk in pending_chunks(run):
        result = run_chunk(pk)
        if result:
            results.append(result)
        if progress:
            progress(result)
        if pause:
            time.sleep(pause)
    finish_if_done(run.pk)
    run.refresh_from_db()
    return run, results
