"""The shared body of smartspot_scan and opportunities_scan."""

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from premium import scans
from studios.models import Market


class ScanCommand(BaseCommand):
    kind = ""
    noun = ""

    def add_arguments(self, parser):
        parser.add_argument("--market", help="Scan one market (its slug) instead of all.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would change; write nothing."
        )
        parser.add_argument(
            "--pause", type=float, default=0.0, help="Seconds to wait between chunks (load)."
        )
        parser.add_argument(
            "--chunk-studios", type=int, default=None, help="Studios per chunk (default: settings)."
        )

    def handle(
        self,
        *args,
        market=None,
        dry_run=False,
        pause=0.0,
        chunk_studios=None,
        **options,
    ):
        chosen = None
        if market:
            chosen = Market.objects.filter(slug=market).first()
            if chosen is None:
                slugs = ", ".join(Market.objects.order_by("slug").values_list("slug", flat=True))
                raise CommandError(f"No market {market!r}. Markets: {slugs}.")
        if chunk_studios is not None and chunk_studios < 1:
            raise CommandError("--chunk-studios must be at least 1.")
        if not 0 <= pause <= 3600:  # a negative sleep would stop the run after its first chunk
            raise CommandError("--pause must be between 0 and 3600 seconds.")
        bar = tqdm(
            desc=f"{self.noun} chunks", unit="chunk", disable=not sys.stderr.isatty() or dry_run
        )
        run, results = scans.run_inline(
            self.kind,
            market=chosen,
            dry_run=dry_run,
            pause=pause,
            progress=lambda _result: bar.update(1),
            chunk_studios=chunk_studios,
        )
        bar.close()
        found = sum(r.candidates for r in results)
        spots = sum(r.spots for r in results)
        verb = "would" if dry_run else "did"
        self.stdout.write(
            f"{self.noun}: {len(results)} chunks; {found} classes, {spots} spots ({verb} change)."
        )
        if run is not None:
            self.stdout.write(f"Run {run.pk} finished at {run.finished_at}.")
