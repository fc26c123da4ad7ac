"""Page latency on PostgreSQL: search and class pages at demo scale 10, partner pages with a year.

    python bench/pages.py [--scale 10] [--requests 200] [--reseed]

Seeds (or reuses) `classpass_bench_pages` with `seed_demo --scale N`, then gives the demo owner's
first studio a year of attended classes. Each page is requested in process through Django's test
client (the full middleware stack, no network) by a signed-in member or the studio's owner;
prints p50 and p99 latency and the SQL queries per request, beside a baseline: the health check,
the cheapest page with one query. Then counts the class page's queries over 100 upcoming classes
(the count follows the class's state, e.g. sold out or booked, never its rows).
"""

import argparse
import os
import random
import statistics
import time

from harness import (
    DEFAULT_URL,
    analyze,
    configure,
    migrate_database,
    percentile,
    recreate_database,
)

# Beside the booking benchmarks' database, never in place of another run's kept data.
os.environ["BENCH_DATABASE_URL"] = os.environ.get(
    "BENCH_PAGES_DATABASE_URL", os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL) + "_pages"
)
configure(eager=True)

import django  # noqa: E402

django.setup()

from datetime import timedelta  # noqa: E402

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bookings.models import Reservation, ReservationStatus  # noqa: E402
from members.models import Member  # noqa: E402
from studios.models import ClassSession, EarningEntry, EarningKind, Schedule, Studio  # noqa: E402
from studios.services import generate_sessions  # noqa: E402


def year_of_history(studio: Studio) -> int:
    """A year of past classes at one studio, each with attended reservations and payouts."""
    today = timezone.localdate()
    Schedule.objects.filter(studio=studio).update(starts_on=today - timedelta(days=366))
    generate_sessions(
        start=today - timedelta(days=365),
        weeks=52,
        schedules=Schedule.objects.filter(studio=studio),
        past=True,
    )
    members = list(
        Member.objects.filter(home_market=studio.market).values_list("pk", flat=True)[:400]
    )
    rng = random.Random(3)
    past = ClassSession.objects.filter(
        studio=studio, starts_at__lt=timezone.now() - timedelta(days=60), network_booked=0
    )
    reservations, earnings = [], []
    for session in past:
        for member in rng.sample(members, min(len(members), session.network_spots)):
            reservations.append(
                Reservation(
                    member_id=member,
                    session=session,
                    studio=studio,
                    starts_at=session.starts_at,
                    credits_spent=session.credit_price,
                    currency=studio.market.currency,
                    studio_payout_cents=studio.payout_rate_cents,
                    status=ReservationStatus.ATTENDED,
                )
            )
        session.network_booked = min(len(members), session.network_spots)
    Reservation.objects.bulk_create(reservations, batch_size=5000)
    ClassSession.objects.bulk_update(list(past), ["network_booked"], batch_size=2000)
    for r in reservations:
        earnings.append(
            EarningEntry(
                studio=studio,
                kind=EarningKind.RESERVATION,
                amount_cents=r.studio_payout_cents,
                currency=r.currency,
                occurred_at=r.starts_at,
                reference=f"reservation:{r.pk}",
            )
        )
    EarningEntry.objects.bulk_create(earnings, batch_size=5000, ignore_conflicts=True)
    return len(reservations)


def measure(client: Client, url: str, n: int) -> tuple[float, float, int]:
    client.get(url)  # warm
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return percentile(times, 50) * 1000, percentile(times, 99) * 1000, count_queries(client, url)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    try:
        seeded = Studio.objects.count() >= 42 * args.scale
    except Exception:  # no tables yet
        seeded = False
    if seeded and not args.reseed:
        connection.close()
        migrate_database()  # the data kept from an earlier run, under the code's tables
    if args.reseed or not seeded:
        connection.close()
        recreate_database()
        started = time.monotonic()
        call_command("seed_demo", scale=args.scale, stdout=open(os.devnull, "w"))  # noqa: SIM115
        print(f"seeded scale {args.scale} in {time.monotonic() - started:.0f} s", flush=True)
    studio = (
        Studio.objects.filter(staff__user__username="owner@classpass.local").order_by("pk").first()
    )
    before_the_demo = timezone.now() - timedelta(days=120)  # the demo has 8 weeks
    if not ClassSession.objects.filter(studio=studio, starts_at__lt=before_the_demo).exists():
        print(
            f"{year_of_history(studio)} past reservations added at {studio.slug} (a year)",
            flush=True,
        )
    analyze()
    market = studio.market
    member = Member.objects.get(user__username="member@classpass.local")
    upcoming = (
        ClassSession.objects.filter(
            studio__market=market, starts_at__gt=timezone.now() + timedelta(hours=6)
        )
        .order_by("starts_at")
        .first()
    )
    busy = (
        ClassSession.objects.filter(studio=studio).order_by("-network_booked", "-starts_at").first()
    )
    day = timezone.localtime(upcoming.starts_at, market.tzinfo).date()
    members = Client()
    members.force_login(member.user)
    owners = Client()
    owners.force_login(studio.staff.get(user__username="owner@classpass.local").user)
    counts = (
        ClassSession.objects.count(),
        Reservation.objects.count(),
        EarningEntry.objects.filter(studio=studio).count(),
    )
    print(
        f"{counts[0]} classes, {counts[1]} reservations; {counts[2]} earnings entries at {studio.slug}"
    )
    pages = [
        ("baseline /healthz", members, "/healthz"),
        ("search (day, all)", members, f"/classes/?market={market.slug}&day={day}"),
        (
            "search (filtered)",
            members,
            f"/classes/?market={market.slug}&day={day}&time=evening&max_credits=12&q=flow",
        ),
        ("class page", members, f"/classes/{upcoming.pk}/"),
        ("partner overview", owners, f"/partner/{studio.slug}/"),
        ("partner roster", owners, f"/partner/{studio.slug}/classes/{busy.pk}/"),
        ("partner earnings", owners, f"/partner/{studio.slug}/earnings/"),
    ]
    print(
        f"\n{'page':<20}{'p50 ms':>9}{'p99 ms':>9}{'queries':>9}   ({args.requests} requests each, in process)"
    )
    for name, client, url in pages:
        p50, p99, queries = measure(client, url, args.requests)
        print(f"{name:<20}{p50:>9.1f}{p99:>9.1f}{queries:>9}")
    # A page's count depends on the state of what it shows, not on its rows: the class page
    # reads Premium's prices only where no standard spot is open, and the member's own
    # reservation or waitlist entry only where there is one. Count it over many classes.
    sample = ClassSession.objects.filter(
        studio__market=market, starts_at__gt=timezone.now() + timedelta(hours=6)
    ).order_by("starts_at")[:100]
    counts = [count_queries(members, f"/classes/{s.pk}/") for s in sample]
    print(
        f"class page queries over {len(counts)} upcoming classes: "
        f"{min(counts)}-{max(counts)} (median {statistics.median(counts):g})"
    )


def count_queries(client: Client, url: str) -> int:
    client.get(url)  # warm
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200, url
    return len(queries.captured_queries)


if __name__ == "__main__":
    main()
