"""Booking throughput over HTTP, beside a minimal Django view, on gunicorn and granian.

    python bench/http_booking.py [--clients 32] [--ops 8000] [--servers gunicorn,granian]

For each application server (BENCH_WORKERS processes of BENCH_THREADS threads, on 127.0.0.1,
warmed up with two seconds of GET /api/v1/me/ first) and each scenario (low contention: 2,000
classes; hot: 5 classes), 32 concurrent keep-alive clients POST, in the same run, to a minimal
view that does one conditional row update and one insert (the ceiling), to the same write
behind the API's request cycle (token, rate limits, JSON in and out: api-minimal), and to
POST /api/v1/reservations/ with members' tokens. Prints 2xx/s, p50 and p99, the booking's
ratio to the minimal view split into the API's share and the booking's, each target beside
its figure, and checks overbooking, counters and ledgers after each run.
Sell-out: the 5 hot classes get 200 spots each (1,000 in all) and 32 clients book them, twice
as many requests as spots; the figure is the time from the first request to the last sale
(read from the reservations' own timestamps), and exactly 1,000 must be sold.
"""

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
from harness import ROOT, analyze, percentile

os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/classpass_bench")
import booking
from django.db import connection
from django.db.models import Max

from studios.models import ClassSession

PORT = 8321
# The server's shape: 2 processes of 2 threads measured best on this 2-core machine (2 x 4,
# 2 x 8, 3 x 2, 3 x 3 and 4 x 1 all sold fewer bookings per second; docs/performance.md).
WORKERS = os.environ.get("BENCH_WORKERS", "2")  # processes of the application server
THREADS = os.environ.get("BENCH_THREADS", "2")  # threads of each
SELL_OUT_SPOTS = 200  # per hot class: 1,000 in all
NAN = float("nan")
SELL_OUT_SECONDS = 10  # wrk's window for a sell-out; a slow machine needed more than 5


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
            WORKERS,
            "--threads",
            THREADS,
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
            WORKERS,
            "--blocking-threads",
            THREADS,
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
                if body is None:
                    response = await client.get(url, headers=headers)
                else:
                    response = await client.post(url, json=body, headers=headers)
                now = time.perf_counter()
                latencies.append(now - t)
                statuses.append(response.status_code)
                if response.status_code == 201:
                    last_ok[0] = now - started

        await asyncio.gather(*(worker() for _ in range(clients)))
        return time.perf_counter() - started, latencies, statuses, last_ok[0]


def settle(timeout: float = 10) -> None:
    """Wait for the requests wrk left in flight when it stopped: until no other session of
    the benchmark database is inside a statement or a transaction. Counting or clearing the
    bookings before that would read (or leave) a half-finished round."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 3 and time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state IS DISTINCT FROM 'idle'"
            )
            busy = cursor.fetchone()[0]
        quiet = quiet + 1 if busy == 0 else 0
        time.sleep(0.05)
    connection.close()


def cpu_seconds() -> dict[str, float]:
    """CPU time used so far by the application server's processes, PostgreSQL's and Redis's."""
    programs = {"granian": "server", "gunicorn": "server", "redis-server": "redis"}
    used: dict[str, float] = {}
    for process in psutil.process_iter(["name", "cpu_times"]):
        name, times = process.info["name"] or "", process.info["cpu_times"]
        who = "postgres" if name.startswith("postgres") else programs.get(name)
        if who and times is not None:  # None: the process ended, or is not ours to read
            used[who] = used.get(who, 0.0) + times.user + times.system
    return used


def wrk(jobs: list[tuple[str, dict, dict]], clients: int, seconds: float) -> dict:
    """Drive the server with wrk (a C load generator): the client costs little CPU on this
    2-core machine, so the figures are the server's. Returns rate of 2xx, p50, p99."""
    import re
    import tempfile

    threads = 1  # one wrk thread drives 32 connections at these rates; the rest is the server's
    with tempfile.NamedTemporaryFile("w", suffix=".ops") as f:  # removed once wrk is done
        for url, body, headers in jobs:
            token = headers.get("Authorization", "Token -").split(" ", 1)[1]
            f.write(f"{url} {token} {'-' if body is None else json.dumps(body)}\n")
        f.flush()
        before = cpu_seconds()
        out = subprocess.run(
            [
                "wrk",
                "-t",
                str(threads),
                "-c",
                str(clients),
                "-d",
                f"{seconds}s",
                "--latency",
                "-s",
                str(ROOT / "bench" / "wrk_post.lua"),
                f"http://127.0.0.1:{PORT}",
                "--",
                f.name,
                str(threads),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    settle()
    after = cpu_seconds()
    total = int(re.search(r"(\d+) requests in", out).group(1))
    elapsed = float(re.search(r"requests in ([\d.]+)s", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    ok = total - (int(bad.group(1)) if bad else 0)

    def ms(label):
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    cpu = {
        who: (after[who] - before.get(who, 0.0)) * 1000 / max(ok, 1)
        for who in ("server", "postgres", "redis")
        if who in after
    }
    return {
        "rate": ok / elapsed,
        "p50": ms("50"),
        "p99": ms("99"),
        "ok": ok,
        "total": total,
        "cpu": cpu,
    }


def warm_up(tokens: dict[int, str], args) -> None:
    """Two seconds of reads with members' tokens: every server thread opens its database
    connection and prepares its statements before the measured run, as in production."""
    jobs = [("/api/v1/me/", None, {"Authorization": f"Token {t}"}) for t in tokens.values()]
    if args.client == "wrk":
        wrk(jobs, args.clients, 2)
    else:
        asyncio.run(fire(jobs[: 20 * args.clients], args.clients))


def sell_out(world: dict, tokens: dict[int, str], args) -> tuple[float | None, int, int]:
    """Book the 5 hot classes at 200 spots each with twice as many requests as spots.
    Returns (seconds from the first request to the last sale or None, spots sold, 2xx)."""
    from bookings.models import Reservation

    booking.clear_bookings()
    hot = world["hot"]
    ClassSession.objects.filter(pk__in=hot).update(
        capacity=SELL_OUT_SPOTS, network_spots=SELL_OUT_SPOTS
    )
    spots = SELL_OUT_SPOTS * len(hot)
    ops = booking.plan_ops(world, "hot", 2 * spots)
    jobs = [
        ("/api/v1/reservations/", {"session": s}, {"Authorization": f"Token {tokens[m]}"})
        for m, s in ops
    ]
    connection.close()
    started = time.time()
    if args.client == "wrk":
        ok = wrk(jobs, args.clients, SELL_OUT_SECONDS)["ok"]
    else:
        _, _, statuses, _ = asyncio.run(fire(jobs, args.clients))
        ok = sum(200 <= code < 300 for code in statuses)
    sold = Reservation.objects.filter(session__in=hot)
    last = sold.aggregate(last=Max("created_at"))["last"]
    count = sold.count()
    seconds = last.timestamp() - started if last is not None and count == spots else None
    return seconds, count, ok


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--ops", type=int, default=8000)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each; medians reported")
    parser.add_argument("--servers", default="gunicorn,granian")
    parser.add_argument(
        "--client",
        choices=["wrk", "httpx"],
        default="wrk" if shutil.which("wrk") else "httpx",
        help="wrk (apt-get install wrk) measures the server, not a Python client",
    )
    parser.add_argument("--seconds", type=int, default=8, help="wrk: whole seconds per run")
    args = parser.parse_args()
    booking.recreate_database()
    connection.close()
    world = booking.setup_world(args.ops)
    hot_capacity = args.ops // booking.HOT_CLASSES
    print(f"seeded; creating {len(world['members'])} tokens", flush=True)
    tokens = tokens_for(world["members"])
    analyze()
    # (server, run, 2xx/s, p50 ms, p99 ms, 2xx, all, CPU ms per 2xx of the server, of
    # PostgreSQL and of Redis), one per round
    results = []
    sell_outs = {}  # server -> [(seconds or None, sold, 2xx), ...]
    for kind in args.servers.split(","):
        for scenario in ("low", "hot", "sell-out"):
            booking.clear_bookings()
            server = start_server(kind)
            try:
                warm_up(tokens, args)
                for _ in range(args.rounds):
                    if scenario == "sell-out":
                        sell_outs.setdefault(kind, []).append(sell_out(world, tokens, args))
                    else:
                        booking.clear_bookings()
                        run_scenario(kind, scenario, world, tokens, args, results)
                    print(f"{kind} {scenario}: {booking.check_invariants()}", flush=True)
            finally:
                server.terminate()
                server.wait(timeout=30)
                ClassSession.objects.filter(pk__in=world["hot"]).update(
                    capacity=hot_capacity, network_spots=hot_capacity
                )
                connection.close()
    report(results, sell_outs, args)


def run_scenario(kind, scenario, world, tokens, args, results) -> None:
    ops = booking.plan_ops(world, scenario, args.ops)
    auth = {m: {"Authorization": f"Token {tokens[m]}"} for m, _ in ops}
    runs = {
        f"minimal/{scenario}": [(f"/bench/minimal/{slot}/", {}, {}) for _, slot in ops],
        f"api-minimal/{scenario}": [
            ("/bench/api-minimal/", {"slot": slot}, auth[m]) for m, slot in ops
        ],
        f"booking/{scenario}": [("/api/v1/reservations/", {"session": s}, auth[m]) for m, s in ops],
    }
    for name, jobs in runs.items():
        booking.reset_slots(scenario, world)  # each baseline starts from empty slots
        connection.close()
        if args.client == "wrk":
            r = wrk(jobs, args.clients, args.seconds)
            cpu = [r["cpu"].get(who, NAN) for who in ("server", "postgres", "redis")]
            results.append((kind, name, r["rate"], r["p50"], r["p99"], r["ok"], r["total"], *cpu))
        else:
            wall, lat, st, _ = asyncio.run(fire(jobs, args.clients))
            ok = sum(200 <= code < 300 for code in st)
            p50, p99 = percentile(lat, 50) * 1000, percentile(lat, 99) * 1000
            results.append((kind, name, ok / wall, p50, p99, ok, len(st), NAN, NAN, NAN))


def report(results, sell_outs, args) -> None:
    print()
    print(
        f"{'server':<10}{'run':<16}{'2xx/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'2xx':>7}{'all':>7}"
        f"{'app cpu':>9}{'pg cpu':>9}{'rd cpu':>9}"
        f"   (medians of {args.rounds} rounds; {args.client}, {args.clients} connections, "
        f"{WORKERS} workers x {THREADS} threads; cpu: ms of CPU per 2xx response used by the "
        "application server, PostgreSQL and Redis, read with psutil)"
    )
    rates, p99s = {}, {}
    runs = dict.fromkeys((kind, name) for kind, name, *_ in results)
    for kind, name in runs:
        rounds = [r[2:] for r in results if r[:2] == (kind, name)]
        rate, p50, p99, ok, total, server, postgres, redis = (
            statistics.median(column) for column in zip(*rounds, strict=True)
        )
        rates[(kind, name)] = rate
        p99s[(kind, name)] = p99
        print(
            f"{kind:<10}{name:<16}{rate:>8.0f}{p50:>9.1f}{p99:>9.1f}{ok:>7.0f}{total:>7.0f}"
            f"{server:>9.2f}{postgres:>9.2f}{redis:>9.2f}"
        )
    print()
    spots = SELL_OUT_SPOTS * booking.HOT_CLASSES
    for kind in args.servers.split(","):
        for scenario in ("low", "hot"):
            minimal, api, booked = (
                rates[(kind, f"{run}/{scenario}")] for run in ("minimal", "api-minimal", "booking")
            )
            print(
                f"{kind} {scenario}: booking / minimal view = {booked / minimal:.0%}   "
                f"(target: 60 %; of which the API's request cycle: api-minimal / minimal = "
                f"{api / minimal:.0%}, and the booking: booking / api-minimal = {booked / api:.0%})"
            )
        print(
            f"{kind} hot: {rates[(kind, 'booking/hot')]:.0f} bookings/s with a p99 of "
            f"{p99s[(kind, 'booking/hot')]:.0f} ms   (target: at least 300 bookings/s with a p99 "
            "of at most 250 ms)"
        )
        rounds = sell_outs[kind]
        sold = [count for _, count, _ in rounds]
        times = [seconds if seconds is not None else float("inf") for seconds, _, _ in rounds]

        def shown(t: float) -> str:
            return f"{t:.2f} s" if t != float("inf") else f"not sold out in {SELL_OUT_SECONDS} s"

        each = ", ".join(shown(t) for t in times)
        print(
            f"{kind} sell-out: {min(sold)}-{max(sold)} of {spots} spots sold; last sale after "
            f"{shown(statistics.median(times))} (median; rounds: {each})   (target: under 2 s)"
        )


if __name__ == "__main__":
    main()
