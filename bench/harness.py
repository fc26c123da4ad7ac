"""Shared helpers of the benchmarks: a fresh PostgreSQL database, a process pool, statistics.

Every benchmark runs on PostgreSQL (BENCH_DATABASE_URL, default a classpass_bench database on
127.0.0.1) and prints its figures; nothing here asserts a timing.
"""

import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/classpass_bench"


def configure(*, eager: bool = False) -> None:
    """Point Django at the benchmark database (call before django.setup())."""
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1" if eager else "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "classpass.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Measure what production runs: with DEBUG on, Django also logs every query with its
    # parameters spelled out (a scan's arrays of 40,000 ids, each time).
    os.environ.setdefault("DEBUG", "0")


def recreate_database() -> None:
    """Drop and create the benchmark database, then migrate it."""
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    for sql in (f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'):
        subprocess.run(["psql", admin, "-qc", sql], check=True)
    migrate_database()


def migrate_database() -> None:
    """Bring the benchmark database to the code's migrations: a database seeded once and kept
    (pages, scans) would otherwise lack what a later migration adds."""
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0"],
        check=True,
        env=env,
    )


def analyze() -> None:
    """Gather the planner's statistics once the benchmark's rows are in. A production database
    has them from autovacuum; this machine's PostgreSQL runs with autovacuum off, and without
    statistics the planner takes every new table for nearly empty and scans whole tables (the
    token lookup read all 1,600 users on every request)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def run_pool(worker, jobs: list[list], processes: int) -> tuple[float, list[float], list]:
    """Run worker(jobs, start, queue) per process; return wall time, latencies and outcomes."""
    ctx = mp.get_context("fork")
    start = ctx.Event()
    queue = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(jobs[i], start, queue)) for i in range(processes)]
    for p in procs:
        p.start()
    time.sleep(1.0)  # let every process connect and warm up before the gun
    t0 = time.perf_counter()
    start.set()
    latencies, outcomes, finished = [], [], []
    for _ in procs:
        lat, out, done_at = queue.get()
        latencies += lat
        outcomes += out
        finished.append(done_at)
    for p in procs:
        p.join()
    return max(finished) - t0, latencies, outcomes


def median(values: list[float]) -> float:
    return statistics.median(values)
