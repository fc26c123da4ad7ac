"""Booking throughput over HTTP, beside a minimal Django view, on gunicorn and granian.

    python bench/http_booking.py [--clients 32] [--ops 3000] [--servers gunicorn,granian]

For each application server (2 workers, 8 threads each, on 127.0.0.1) and each scenario (low
contention: 2,000 classes; hot: 5 classes), 32 concurrent keep-alive clients send POST
/api/v1/reservations/ with members' tokens, and then, in the same run, POST a minimal view that
does one conditional row update and one insert (the ceiling). Prints bookings/s, p50 and p99,
the ratio to the minimal view, and checks overbooking, counters and ledgers after each run.
Sold out 1,000 spots: the hot scenario's 5 classes of 200 spots each, timed to the last sale.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from harness import ROOT, percentile

os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/classpass_bench")
import booking
from django.db import connection

PORT = 8321


def tokens_for(member_ids: list[int]) -> dict[int, str]:
    from knox.models import AuthToken

    from members.models import Member

    out = {}
    for member in Member.objects.filter(pk__in=member_ids).select_related("user"):
        out[member.pk] = AuthToken.objects.create(member.user)[1]
    return out


def start_server(kind: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": os.environ["BENCH_DATABASE_URL"],
        "ROOT_URLCONF": "benchurls",
        "PYTHONPATH": f"{ROOT / 'bench'}:{ROOT}",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "REDIS_URL": "redis://127.0.0.1:6379/14",
        "BOOKING_THROTTLE": "1000000/min",
        "API_THROTTLE_USER": "1000000/min",
        "API_THROTTLE_TOKEN": "1000000/min",
        "CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
    }
    bin_dir = Path(sys.executable).parent
    if kind == "gunicorn":
        cmd = [
            str(bin_dir / "gunicorn"),
            "classpass.wsgi",
            "-k",
            "gthread",
            "--workers",
            "2",
            "--threads",
            "8",
            "-b",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
        ]
    else:
        cmd = [
            str(bin_dir / "granian"),
            "--interface",
            "wsgi",
            "classpass.wsgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(PORT),
            "--workers",
            "2",
            "--blocking-threads",
            "8",
            "--log-level",
            "warning",
        ]
    process = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{PORT}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{kind} did not start")


async def fire(
    jobs: list[tuple[str, dict, dict]], clients: int
) -> tuple[float, list[float], list[int], float]:
    queue: asyncio.Queue = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    latencies, statuses, last_ok = [], [], [0.0]
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{PORT}", limits=limits, timeout=30
    ) as client:
        started = time.perf_counter()

        async def worker():
            while True:
                try:
                    url, body, headers = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t = time.perf_counter()
                response = await client.post(url, json=body, headers=headers)
                now = time.perf_counter()
                latencies.append(now - t)
                statuses.append(response.status_code)
                if response.status_code == 201:
                    last_ok[0] = now - started

        await asyncio.gather(*(worker() for _ in range(clients)))
        return time.perf_counter() - started, latencies, statuses, last_ok[0]


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--ops", type=int, default=3000)
    parser.add_argument("--servers", default="gunicorn,granian")
    args = parser.parse_args()
    booking.recreate_database()
    connection.close()
    world = booking.setup_world(args.ops)
    hot_total = booking.HOT_CLASSES * (args.ops // booking.HOT_CLASSES)
    print(f"seeded; creating {len(world['members'])} tokens", flush=True)
    tokens = tokens_for(world["members"])
    rows = []
    for kind in args.servers.split(","):
        for scenario in ("low", "hot"):
            ops = booking.plan_ops(world, scenario, args.ops)
            booking.clear_bookings()
            booking.reset_slots(scenario, world)
            connection.close()
            server = start_server(kind)
            try:
                minimal_jobs = [(f"/bench/minimal/{slot}/", {}, {}) for _, slot in ops]
                wall, lat, st, _ = asyncio.run(fire(minimal_jobs, args.clients))
                rows.append((kind, f"minimal/{scenario}", len(ops) / wall, lat, st, None))
                book_jobs = [
                    (
                        "/api/v1/reservations/",
                        {"session": s},
                        {"Authorization": f"Token {tokens[m]}"},
                    )
                    for m, s in ops
                ]
                wall, lat, st, sold_out_at = asyncio.run(fire(book_jobs, args.clients))
                rows.append((kind, f"booking/{scenario}", len(ops) / wall, lat, st, sold_out_at))
            finally:
                server.terminate()
                server.wait(timeout=30)
            print(f"{kind} {scenario}: {booking.check_invariants()}", flush=True)
    print()
    print(
        f"{'server':<10}{'run':<16}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'2xx':>7}{'5xx':>6}   ({args.clients} clients)"
    )
    rates = {}
    for kind, name, rate, lat, st, sold in rows:
        rates[(kind, name)] = rate
        ok = sum(200 <= s < 300 for s in st)
        bad = sum(s >= 500 for s in st)
        extra = (
            f"   {hot_total} spots sold out in {sold:.2f} s"
            if sold and name == "booking/hot"
            else ""
        )
        print(
            f"{kind:<10}{name:<16}{rate:>8.0f}{percentile(lat, 50) * 1000:>9.1f}{percentile(lat, 99) * 1000:>9.1f}{ok:>7}{bad:>6}{extra}"
        )
    for kind in args.servers.split(","):
        for scenario in ("low", "hot"):
            ratio = rates[(kind, f"booking/{scenario}")] / rates[(kind, f"minimal/{scenario}")]
            print(f"{kind} {scenario}: booking / minimal view = {ratio:.0%}")


if __name__ == "__main__":
    main()
