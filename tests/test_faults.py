"""Faults with real services: Redis stops during bookings; a Celery worker dies mid-scan."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone
from kombu import pools as kombu_pools

from bookings import services
from classpass.celery import app as celery_app
from studios import outbox
from studios.models import OutboxMessage
from tests import factories

ROOT = Path(__file__).resolve().parent.parent
needs_redis = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs redis-server on this machine"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def redis_server(port: int):
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def broker(url: str, django_settings):
    """Point Celery at a broker of the test's own, not eager."""
    old = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = url, False
    django_settings.CELERY_TASK_ALWAYS_EAGER = False
    reset_pool()
    try:
        yield
    finally:
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = old
        reset_pool()


def reset_pool():
    """Drop the producer pool, so the next publish connects to the broker now configured.

    The app's pools are kombu's process-wide ones, registered by broker URL: closing them is
    not enough, the registry must forget them too (kombu.pools.reset), or the next test on
    the first broker acquires from a closed pool."""
    kombu_pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@needs_redis
@pytest.mark.django_db
def test_bookings_succeed_while_redis_is_down_and_no_email_is_lost_or_sent_twice(
    settings, active_member, studio
):
    port = free_port()
    sessions = [factories.ClassSessionFactory(studio=studio, credit_price=2) for _ in range(3)]
    with broker(f"redis://127.0.0.1:{port}/0", settings):
        with redis_server(port):
            services.book(active_member, sessions[0].pk)  # broker up: the kick is queued
        # Redis is down now.
        started = time.monotonic()
        second = services.book(active_member, sessions[1].pk)
        third = services.book(active_member, sessions[2].pk)
        assert time.monotonic() - started < 5  # no request waits on the dead broker
        outbox.kick()  # what the commit hook does: fails quietly
        assert second.status == third.status == "booked"
        assert OutboxMessage.objects.filter(done_at__isnull=True).count() == 3
        assert mail.outbox == []
        with redis_server(port):  # Redis is back: the beat's relay runs
            assert outbox.relay() == 6  # three events, then the three e-mails they queue
            assert outbox.relay() == 0
    subjects = sorted(m.to[0] + m.subject for m in mail.outbox)
    assert len(subjects) == 3 and len(set(subjects)) == 3


@needs_redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_scan_leaves_a_run_that_completes_without_duplicates(settings, market):
    from premium import tasks
    from premium.models import ScanChunk, ScanRun, SmartSpotRelease
    from tests.premium.test_scans import sold_out, with_history

    studios = [factories.StudioFactory(market=market) for _ in range(12)]
    sessions = [sold_out(s, with_history(s, empties=[6, 6, 6])) for s in studios]
    port = free_port()
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/0",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "SCAN_CHUNK_PAUSE": "0.4",
        "SCAN_CHUNK_STUDIOS": "1",
    }
    worker_cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "classpass",
        "worker",
        "-P",
        "solo",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "-l",
        "WARNING",
    ]
    with redis_server(port), broker(env["CELERY_BROKER_URL"], settings):
        worker = subprocess.Popen(
            worker_cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            tasks.start_smartspot_scan.delay()
            deadline = time.monotonic() + 90
            while (
                ScanChunk.objects.filter(done_at__isnull=False).count() < 3
                and time.monotonic() < deadline
            ):
                time.sleep(0.05)
            worker.send_signal(signal.SIGKILL)  # mid-scan, mid-chunk: no goodbye
            worker.wait(timeout=30)
        finally:
            if worker.poll() is None:
                worker.kill()
        done = ScanChunk.objects.filter(done_at__isnull=False).count()
        assert 3 <= done < 12 and ScanRun.objects.get().finished_at is None, done
        assert SmartSpotRelease.objects.count() == done
        worker = subprocess.Popen(
            worker_cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            tasks.resume_scans.delay()  # the beat entry that picks up unfinished runs
            deadline = time.monotonic() + 120
            while (
                ScanRun.objects.filter(finished_at__isnull=True).exists()
                and time.monotonic() < deadline
            ):
                time.sleep(0.1)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    assert ScanRun.objects.get().finished_at is not None
    assert SmartSpotRelease.objects.count() == 12
    for session in sessions:
        session.refresh_from_db()
        assert session.network_spots == 8 + 2
    assert timezone.now() - timedelta(minutes=10) < ScanRun.objects.get().finished_at
