"""Load realistic demo data, idempotently; each app seeds its part (settings.DEMO_SEED_STEPS)."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.module_loading import import_string

from studios import outbox
from studios.models import Market


class Command(BaseCommand):
    help = "Create demo markets, studios, schedules, sessions, plans and members. Safe to rerun."

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale", type=int, default=1, help="Multiply studios and members (benchmarks)."
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when the database has data."
        )
        parser.add_argument(
            "--seed", type=int, default=42, help="Random seed; the same seed gives the same data."
        )

    def handle(self, *args, scale: int, if_empty: bool, seed: int, **options):
        if not 1 <= scale <= 100:
            raise CommandError("--scale must be between 1 and 100.")
        if if_empty and Market.objects.exists():
            self.stdout.write("The database already has data; demo data not loaded.")
            self._print_logins()
            return
        # The services write the demo's history as they would for real people, but nobody is
        # e-mailed about made-up bookings, renewals or invitations.
        with outbox.silenced():
            for path in settings.DEMO_SEED_STEPS:
                started = time.monotonic()
                summary = import_string(path)(scale=scale, seed=seed)
                self.stdout.write(f"{path}: {summary} ({time.monotonic() - started:.1f}s)")
        # The planner's statistics for the rows just loaded: until autovacuum's next pass (and
        # for good where it is off), the database would plan for the empty tables it had.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self._print_logins()

    def _print_logins(self):
        self.stdout.write(
            self.style.SUCCESS(f"Demo logins (password for all: {settings.DEMO_PASSWORD})")
        )
        for role, email in settings.DEMO_LOGINS:
            self.stdout.write(f"  {role:<24} {email}")
