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
import json
import os
import shutil
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
WORKERS = os.environ.get("BENCH_WORKERS", "2")  # processes of the application server
THREADS = os.environ.get("BENCH_THREADS", "8")  # threads of each


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
                response = await client.post(url, json=body, headers=headers)
                now = time.perf_counter()
                latencies.append(now - t)
                statuses.append(response.status_code)
                if response.status_code == 201:
                    last_ok[0] = now - started

        await asyncio.gather(*(worker() for _ in range(clients)))
        return time.perf_counter() - started, latencies, statuses, last_ok[0]


def wrk(jobs: list[tuple[str, dict, dict]], clients: int, seconds: float) -> dict:
    """Drive the server with wrk (a C load generator): the client costs little CPU on this
    2-core machine, so the figures are the server's. Returns rate of 2xx, p50, p99."""
    import re
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".ops", delete=False) as f:
        for url, body, headers in jobs:
            token = headers.get("Authorization", "Token -").split(" ", 1)[1]
            f.write(f"{url} {token} {json.dumps(body)}\n")
    threads = 2
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
    total = int(re.search(r"(\d+) requests in", out).group(1))
    elapsed = float(re.search(r"requests in ([\d.]+)s", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    ok = total - (int(bad.group(1)) if bad else 0)

    def ms(label):
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    return {"rate": ok / elapsed, "p50": ms("50"), "p99": ms("99"), "ok": ok, "total": total}


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--ops", type=int, default=3000)
    parser.add_argument("--servers", default="gunicorn,granian")
    parser.add_argument(
        "--client",
        choices=["wrk", "httpx"],
        default="wrk" if shutil.which("wrk") else "httpx",
        help="wrk (apt-get install wrk) measures the server, not a Python client",
    )
    parser.add_argument("--seconds", type=float, default=8, help="wrk: seconds per run")
    args = parser.parse_args()
    booking.recreate_database()
    connection.close()
    world = booking.setup_world(args.ops)
    hot_total = booking.HOT_CLASSES * (args.ops // booking.HOT_CLASSES)
    print(f"seeded; creating {len(world['members'])} tokens", flush=True)
    tokens = tokens_for(world["members"])
    results = []  # (server, run, 2xx/s, p50 ms, p99 ms, 2xx, all, sold-out seconds or None)
    for kind in args.servers.split(","):
        for scenario in ("low", "hot"):
            ops = booking.plan_ops(world, scenario, args.ops)
            booking.clear_bookings()
            booking.reset_slots(scenario, world)
            connection.close()
            auth = {m: {"Authorization": f"Token {tokens[m]}"} for m, _ in ops}
            runs = {
                f"minimal/{scenario}": [(f"/bench/minimal/{slot}/", {}, {}) for _, slot in ops],
                f"booking/{scenario}": [
                    ("/api/v1/reservations/", {"session": s}, auth[m]) for m, s in ops
                ],
            }
            server = start_server(kind)
            try:
                for name, jobs in runs.items():
                    if args.client == "wrk":
                        r = wrk(jobs, args.clients, args.seconds)
                        results.append(
                            (kind, name, r["rate"], r["p50"], r["p99"], r["ok"], r["total"], None)
                        )
                    else:
                        wall, lat, st, sold = asyncio.run(fire(jobs, args.clients))
                        ok = sum(200 <= code < 300 for code in st)
                        results.append(
                            (
                                kind,
                                name,
                                ok / wall,
                                percentile(lat, 50) * 1000,
                                percentile(lat, 99) * 1000,
                                ok,
                                len(st),
                                sold if "hot" in name else None,
                            )
                        )
            finally:
                server.terminate()
                server.wait(timeout=30)
            print(f"{kind} {scenario}: {booking.check_invariants()}", flush=True)
    print()
    print(
        f"{'server':<10}{'run':<16}{'2xx/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'2xx':>7}{'all':>7}"
        f"   ({args.client}, {args.clients} connections)"
    )
    rates = {}
    for kind, name, rate, p50, p99, ok, total, sold in results:
        rates[(kind, name)] = rate
        extra = f"   {hot_total} spots sold out in {sold:.2f} s" if sold else ""
        print(f"{kind:<10}{name:<16}{rate:>8.0f}{p50:>9.1f}{p99:>9.1f}{ok:>7}{total:>7}{extra}")
    for kind in args.servers.split(","):
        for scenario in ("low", "hot"):
            ratio = rates[(kind, f"booking/{scenario}")] / rates[(kind, f"minimal/{scenario}")]
            print(f"{kind} {scenario}: booking / minimal view = {ratio:.0%}")


if __name__ == "__main__":
    main()
