"""A bounded load test over HTTP: members search, book and cancel while staff check people in.

    python bench/load.py [--seconds 20] [--clients 32] [--server granian]

Seeds the benchmark database (as bench/booking.py does), starts the application server on
127.0.0.1, and runs a scripted mix for a fixed time: 50 % searches, 25 % bookings, 15 %
cancellations of earlier bookings, 10 % check-ins of classes starting within the hour. Every
request goes to loopback only. At the end it prints the counts by status and checks the
invariants: no class over its room, counters equal live reservations, every balance equal to its
ledger, and no 5xx. It also prints each kind's latency (p50, p99, from the client) and the
server's resident memory (all its processes) a few seconds in and at the end, so a longer run
(`--seconds 300`) shows whether the server grows under sustained load.
"""

import argparse
import asyncio
import random
import time
from collections import Counter
from contextlib import suppress
from datetime import timedelta

import http_booking as hb
import httpx
import psutil
from booking import check_invariants, recreate_database, setup_world
from django.db import connection
from django.utils import timezone
from harness import analyze, percentile


def soon_world(world: dict) -> dict:
    """Classes starting within the hour, each with a booking, and a staff token per studio."""
    from django.contrib.auth import get_user_model
    from knox.models import AuthToken

    from bookings import services
    from members.models import Member
    from studios.models import ClassSession, StaffMembership, StaffRole, Studio

    studios = list(Studio.objects.filter(slug__startswith="bench-")[:10])
    soon, reservations, staff = [], [], {}
    members = list(Member.objects.filter(pk__in=world["members"][:200]))
    for i, studio in enumerate(studios):
        user = get_user_model().objects.create(username=f"staff{i}@x", email=f"staff{i}@x")
        StaffMembership.objects.create(user=user, studio=studio, role=StaffRole.FRONT_DESK)
        staff[studio.slug] = AuthToken.objects.create(user)[1]
        session = ClassSession.objects.create(
            studio=studio,
            class_type=studio.class_types.first(),
            starts_at=timezone.now() + timedelta(minutes=30),
            duration_minutes=45,
            capacity=30,
            network_spots=20,
            credit_price=1,
        )
        for member in members[i * 15 : (i + 1) * 15]:
            reservations.append((studio.slug, services.book(member, session.pk).pk))
        soon.append(session.pk)
    return {"staff": staff, "checkins": reservations}


def resident_mb(root: int) -> float:
    """Resident memory of a process and all its descendants, in MB (pages the workers share
    count in each of them: the sum is for watching growth, not for sizing a machine)."""
    try:
        tree = [psutil.Process(root), *psutil.Process(root).children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for process in tree:
        with suppress(psutil.NoSuchProcess):
            total += process.memory_info().rss
    return total / 2**20


async def run(args, world, tokens, extra, server_pid: int) -> tuple[Counter, dict, list]:
    """Returns the counts by (kind, status), each kind's latencies in ms, and the server's
    resident memory sampled every second as (seconds in, MB)."""
    rng = random.Random(7)
    statuses: Counter = Counter()
    latencies: dict[str, list[float]] = {}
    memory: list[tuple[float, float]] = []
    booked: list[tuple[int, int]] = []  # (member, reservation) to cancel later
    day = timezone.localdate() + timedelta(days=2)
    deadline = time.monotonic() + args.seconds
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{hb.PORT}", limits=limits, timeout=30
    ) as client:

        async def one(kind: str):
            sent = time.monotonic()
            if kind == "search":
                member = rng.choice(world["members"])
                r = await client.get(
                    "/api/v1/sessions/",
                    params={"market": "bench", "day": day.isoformat()},
                    headers={"Authorization": f"Token {tokens[member]}"},
                )
            elif kind == "book":
                member, session = rng.choice(world["members"]), rng.choice(world["low"])
                r = await client.post(
                    "/api/v1/reservations/",
                    json={"session": session},
                    headers={"Authorization": f"Token {tokens[member]}"},
                )
                if r.status_code == 201:
                    booked.append((member, r.json()["id"]))
            elif kind == "cancel" and booked:
                member, reservation = booked.pop(rng.randrange(len(booked)))
                r = await client.post(
                    f"/api/v1/reservations/{reservation}/cancel/",
                    headers={"Authorization": f"Token {tokens[member]}"},
                )
            elif kind == "checkin" and extra["checkins"]:
                slug, reservation = extra["checkins"].pop()
                r = await client.post(
                    f"/api/v1/partner/{slug}/reservations/{reservation}/check-in/",
                    headers={"Authorization": f"Token {extra['staff'][slug]}"},
                )
            else:
                return
            statuses[(kind, r.status_code)] += 1
            latencies.setdefault(kind, []).append((time.monotonic() - sent) * 1000)

        async def worker():
            while time.monotonic() < deadline:
                roll = rng.random()
                kind = (
                    "search"
                    if roll < 0.5
                    else "book"
                    if roll < 0.75
                    else "cancel"
                    if roll < 0.9
                    else "checkin"
                )
                await one(kind)

        async def sample_memory():
            started = time.monotonic()
            while time.monotonic() < deadline:
                memory.append((time.monotonic() - started, resident_mb(server_pid)))
                await asyncio.sleep(1)

        await asyncio.gather(sample_memory(), *(worker() for _ in range(args.clients)))
    return statuses, latencies, memory


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--server", default="granian", choices=["granian", "gunicorn"])
    args = parser.parse_args()
    recreate_database()
    connection.close()
    world = setup_world(4000)

    tokens = hb.tokens_for(world["members"])
    extra = soon_world(world)
    analyze()
    connection.close()
    server = hb.start_server(args.server)
    try:
        started = time.monotonic()
        statuses, latencies, memory = asyncio.run(run(args, world, tokens, extra, server.pid))
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    total = sum(statuses.values())
    print(
        f"{total} requests in {elapsed:.1f} s ({total / elapsed:.0f} req/s), {args.clients} clients, {args.server}"
    )
    for (kind, code), n in sorted(statuses.items()):
        print(f"  {kind:<8} {code}  {n}")
    for kind, values in sorted(latencies.items()):
        p50, p99 = percentile(values, 50), percentile(values, 99)
        print(f"  {kind:<8} p50 {p50:.1f} ms, p99 {p99:.1f} ms (as the client saw it)")
    warm = [mb for at, mb in memory if at >= min(5, args.seconds / 4)]
    if warm:
        print(
            f"server memory: {warm[0]:.0f} MB {min(5, args.seconds / 4):.0f} s in, "
            f"{max(warm):.0f} MB at most, {warm[-1]:.0f} MB at the end"
        )
    errors = sum(n for (_, code), n in statuses.items() if code >= 500)
    print(f"5xx: {errors}; {check_invariants()}")


if __name__ == "__main__":
    main()
