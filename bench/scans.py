"""The nightly scans over 100,000 upcoming classes on PostgreSQL: time and peak memory.

    python bench/scans.py [--sessions 100000] [--rounds 3] [--reseed]

Seeds (or reuses) a database of 4 markets, ~1,430 studios and 7,143 daily slots: 100,000 classes
in the next 14 days and 8 weeks of history before them, a third of the coming classes sold out
on the network with room left. Each round runs each scan in a fresh process (so its peak RSS is
its own) after resetting what the previous round wrote, and, as this machine's baseline in the
same round, a process that reads every upcoming class once with one plain query. Prints
classes/s, seconds and peak RSS (medians of rounds).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from harness import DEFAULT_URL, ROOT, configure, median

# Beside the booking benchmarks' database, never in place of another run's kept data.
URL = os.environ.get(
    "BENCH_SCANS_DATABASE_URL", os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL) + "_scans"
)
SLOTS_PER_STUDIO = 5
DAYS_AHEAD = 14
DAYS_BEFORE = 56


def setup_django():
    os.environ["BENCH_DATABASE_URL"] = os.environ["BENCH_SCANS_DATABASE_URL"] = URL  # children
    configure(eager=True)
    import django

    django.setup()


def seed(sessions: int) -> None:
    from django.db import connection
    from harness import recreate_database

    recreate_database()
    connection.close()
    slots = sessions // DAYS_AHEAD
    studios = -(-slots // SLOTS_PER_STUDIO)
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO studios_market (name, slug, timezone, currency, credit_value_cents, booking_window_days,"
            " booking_opens_at, default_cancellation_window_hours, late_cancel_fee_cents, missed_class_fee_cents)"
            " SELECT 'Bench ' || m, 'bench-' || m, 'Europe/London', 'GBP', 150, 7, '12:00', 12, 800, 1200"
            " FROM generate_series(1, 4) m"
        )
        cur.execute(
            "INSERT INTO studios_studio (market_id, name, slug, address, description, categories, monthly_visit_limit,"
            " cancellation_window_hours, booking_cutoff_minutes, payout_rate_cents, is_active, created_at)"
            " SELECT (SELECT id FROM studios_market ORDER BY id OFFSET mod(s, 4) LIMIT 1), 'Studio ' || s, 'bench-' || s,"
            " '', '', '[\"yoga\"]', 3, 12, 5, 1500, true, now() FROM generate_series(1, %s::int) s",
            [studios],
        )
        cur.execute(
            "INSERT INTO studios_classtype (studio_id, name, category, duration_minutes, description, is_active)"
            " SELECT id, 'Flow', (ARRAY['yoga','cycling','pilates','hiit'])[1 + mod(id, 4)], 45, '', true"
            " FROM studios_studio"
        )
        cur.execute(
            "INSERT INTO studios_schedule (studio_id, class_type_id, weekdays, local_start_time, duration_minutes,"
            " capacity, network_spots, credit_price, starts_on, created_at)"
            " SELECT ct.studio_id, ct.id, '[0,1,2,3,4,5,6]', make_time(6 + k * 3, 0, 0), 45, 20, 8, 8,"
            " current_date - 60, now() FROM studios_classtype ct, generate_series(0, %s::int) k"
            " ORDER BY ct.id, k LIMIT %s",
            [SLOTS_PER_STUDIO - 1, slots],
        )
        # Counters: random empties; popular slots and a third of coming classes sell out.
        cur.execute(
            "INSERT INTO studios_classsession (studio_id, schedule_id, class_type_id, starts_at, duration_minutes,"
            " capacity, network_spots, studio_booked, network_booked, premium_booked, credit_price, status,"
            " created_at, updated_at)"
            " SELECT sc.studio_id, sc.id, sc.class_type_id,"
            "  date_trunc('day', now()) + make_interval(days => d) + sc.local_start_time, 45, 20, 8,"
            "  floor(random() * 9)::int,"
            "  CASE WHEN d >= 0 AND random() < 0.34 THEN 8"  # a third of the coming classes sold out
            "       WHEN d < 0 AND mod(sc.id, 5) = 0 THEN 8"  # a fifth of the slots always sell out
            "       ELSE floor(random() * 8)::int END, 0, 8, 'scheduled',"
            "  now(), now()"
            " FROM studios_schedule sc, generate_series(%s::int, %s::int) d",
            [-DAYS_BEFORE, DAYS_AHEAD - 1],
        )
        cur.execute("ANALYZE")
    print(
        f"seeded {studios} studios, {slots} slots, {slots * DAYS_AHEAD} upcoming classes",
        flush=True,
    )


def reset() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("DELETE FROM premium_smartspotrelease")
        cur.execute("DELETE FROM premium_opportunity")
        cur.execute("DELETE FROM premium_scanchunk")
        cur.execute("DELETE FROM premium_scanrun")
        cur.execute("DELETE FROM studios_outboxmessage")
        cur.execute("UPDATE studios_classsession SET network_spots = 8 WHERE network_spots <> 8")


def child(what: str) -> None:
    """Run one scan (or the baseline read) and print its figures as JSON."""
    setup_django()
    from django.db import connection
    from django.utils import timezone

    from premium import scans
    from studios.models import ClassSession

    now = timezone.now()
    upcoming = ClassSession.objects.filter(
        starts_at__gt=now, starts_at__lte=now + timezone.timedelta(days=14)
    ).count()
    started = time.perf_counter()
    if what == "baseline":
        with connection.cursor() as cur:
            cur.execute(
                "SELECT id, studio_id, schedule_id, capacity, network_spots, network_booked, studio_booked"
                " FROM studios_classsession WHERE starts_at > now() AND starts_at <= now() + interval '14 days'"
            )
            rows = cur.fetchall()
        written = len(rows)
    else:
        _, results = scans.run_inline(what)
        written = sum(r.written for r in results)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {"seconds": seconds, "peak_mb": peak_mb, "classes": upcoming, "written": written}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    setup_django()
    from django.db import connection
    from django.db.utils import OperationalError, ProgrammingError

    from studios.models import ClassSession

    try:
        have = ClassSession.objects.count()
    except (OperationalError, ProgrammingError):
        have = 0
    if args.reseed or have < args.sessions:
        connection.close()
        seed(args.sessions)
    else:
        from harness import migrate_database

        connection.close()
        migrate_database()  # the data kept from an earlier run, under the code's tables
    runs: dict[str, list[dict]] = {}
    for round_no in range(args.rounds):
        for what in ("baseline", "smartspot", "opportunities"):
            reset()
            connection.close()
            out = subprocess.run(
                [sys.executable, __file__, "--child", what],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            runs.setdefault(what, []).append(figures)
            print(f"round {round_no + 1} {what}: {figures}", flush=True)
    print()
    print(
        f"{'scan':<15}{'classes':>9}{'written':>9}{'seconds':>9}{'classes/s':>11}{'peak MB':>9}   (median of {args.rounds})"
    )
    for what, figures in runs.items():
        seconds = median([f["seconds"] for f in figures])
        classes = figures[0]["classes"]
        print(
            f"{what:<15}{classes:>9}{figures[0]['written']:>9}{seconds:>9.2f}{classes / seconds:>11.0f}"
            f"{median([f['peak_mb'] for f in figures]):>9.0f}"
        )


if __name__ == "__main__":
    main()
