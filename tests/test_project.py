"""Project-wide behaviour: health check, admin, Celery wiring, the benchmarks, the server."""

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.admin.sites import site
from django.db import connection
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from classpass.celery import app as celery_app
from members.models import CreditEntry


@pytest.mark.django_db
def test_healthz_reports_the_database(client, settings):
    settings.REDIS_URL = ""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "not configured"},
    }


@pytest.mark.django_db
def test_healthz_fails_when_redis_is_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content)["checks"]["redis"].startswith("error")


@pytest.mark.django_db
def test_every_model_has_an_admin_page_that_loads(admin_client):
    ours = [
        m
        for m in apps.get_models()
        if m._meta.app_label in {"studios", "members", "bookings", "premium", "marketing"}
    ]
    assert ours
    for model in ours:
        assert model in site._registry, f"{model.__name__} has no admin"
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert admin_client.get(url).status_code == 200, url


def test_the_admin_says_whose_it_is(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert "<title>The marketplace | classpass admin</title>" in page
    assert "Django administration" not in page
    assert ">SmartSpot releases<" in page and "Smart spot" not in page


@pytest.mark.django_db
def test_admin_lists_the_newest_reservations_first_with_one_count(admin_client, active_member):
    """The largest tables list newest first by primary key (an index walk, not a sort of the
    whole table) and count their rows once."""
    from django.test.utils import CaptureQueriesContext

    from bookings import services as booking_services
    from tests import factories

    later = factories.ClassSessionFactory(starts_at=timezone.now() + timedelta(days=6))
    sooner = factories.ClassSessionFactory(starts_at=timezone.now() + timedelta(days=1))
    first = booking_services.book(active_member, later.pk)
    newest = booking_services.book(active_member, sooner.pk)
    url = reverse("admin:bookings_reservation_changelist")
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(url).content.decode()
    assert page.index(f"/{newest.pk}/change/") < page.index(f"/{first.pk}/change/")
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1, counts
    ledger = admin_client.get(reverse("admin:members_creditentry_changelist")).content.decode()
    entries = list(CreditEntry.objects.filter(member=active_member).order_by("-pk"))
    assert ledger.index(f"/{entries[0].pk}/change/") < ledger.index(f"/{entries[-1].pk}/change/")


# Queries an admin page may run whatever the rows: the session, the user, counts, filters.
@pytest.mark.django_db
def test_ledgers_cannot_be_edited_or_deleted_in_admin(admin_client, member, plan):
    from members import services

    services.choose_plan(member, plan)
    entry = CreditEntry.objects.get()
    change = reverse("admin:members_creditentry_change", args=[entry.pk])
    admin_client.post(change, {"amount": 999})
    assert (
        admin_client.post(
            reverse("admin:members_creditentry_delete", args=[entry.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    entry.refresh_from_db()
    assert entry.amount == plan.credits_per_cycle
    assert admin_client.get(reverse("admin:members_creditentry_add")).status_code == 403


@pytest.mark.django_db
def test_admin_credit_adjustment_refuses_to_go_negative(admin_client, member):
    url = reverse("admin:members_member_adjust_credits", args=[member.pk])
    response = admin_client.post(url, {"amount": -5, "note": "oops"})
    assert response.status_code == 200 and "below zero" in response.content.decode()
    assert admin_client.post(url, {"amount": 7, "note": "Goodwill"}).status_code == 302
    member.refresh_from_db()
    assert member.credit_balance == 7


@pytest.mark.django_db
def test_periodic_tasks_are_scheduled_and_registered():
    celery_app.loader.import_default_modules()
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"studios.tasks.generate_sessions", "members.tasks.renew_due_cycles"} <= names
    assert names <= set(celery_app.tasks)


def test_a_queued_periodic_run_expires_when_the_next_one_is_due():
    """A worker back from an outage runs the next sweep, not a backlog of stale copies; a
    nightly one still runs later that day."""
    expiry = {
        name: (entry["options"]["expires"], entry["schedule"])
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
    }
    assert expiry["relay-outbox"] == (10.0, timedelta(seconds=10))
    assert expiry["expire-holds"][0] == 60.0
    assert expiry["settle-pending-payments"][0] == 300.0
    assert expiry["smartspot-outcomes"][0] == 3600.0  # hourly, at :20
    assert expiry["smartspot-scan"][0] == expiry["generate-sessions"][0] == 86400.0
    assert all(seconds > 0 for seconds, _ in expiry.values())


@pytest.mark.django_db(transaction=True)
def test_the_dev_server_runs_the_periodic_tasks_eagerly(member, studio, monkeypatch):
    """runserver in development starts Celery's beat in a thread: a due task runs there,
    eagerly, without a broker. Here the hold sweep frees an à-la-carte spot whose hold ran out
    (without a beat, nothing would ever free it on the dev server)."""
    import time
    from datetime import timedelta

    from django.utils import timezone

    from bookings import services
    from bookings.models import Reservation, ReservationStatus
    from classpass.management.commands.runserver import start_beat
    from premium.models import PremiumSettings
    from tests import factories

    assert settings.CELERY_TASK_ALWAYS_EAGER
    PremiumSettings.objects.create(studio=studio, price_cents=3000, max_spots=2)
    session = factories.ClassSessionFactory(studio=studio)
    held = services.book(member, session.pk, offer_kind="a_la_carte")
    Reservation.objects.filter(pk=held.pk).update(
        hold_expires_at=timezone.now() - timedelta(seconds=1)
    )
    sweep = settings.CELERY_BEAT_SCHEDULE["expire-holds"]
    monkeypatch.setitem(
        celery_app.conf, "beat_schedule", {"expire-holds": {**sweep, "schedule": 0.2}}
    )
    beat = start_beat()
    try:
        for _ in range(100):
            held.refresh_from_db()
            if held.status != ReservationStatus.HELD:
                break
            time.sleep(0.1)
    finally:
        beat.stop()
    session.refresh_from_db()
    assert (held.status, session.premium_booked) == (ReservationStatus.EXPIRED, 0)


@pytest.mark.postgres(reason="PostgreSQL, which the benchmarks run on")
@pytest.mark.parametrize(
    "script, args",
    [
        ("scans.py", ["--sessions", "700", "--rounds", "1", "--reseed"]),
        ("booking.py", ["--ops", "100", "--rounds", "1", "--processes", "2"]),
    ],
)
def test_the_raw_sql_benchmarks_still_run_against_the_models(script, args):
    """These benchmarks seed with raw SQL, which a new NOT NULL column breaks without a word
    until `make bench` runs; a small run of each keeps them in step with the migrations."""
    import os
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    url = settings.DATABASES["default"]
    bench_url = (
        f"postgres://{url['USER']}@{url['HOST'] or '127.0.0.1'}:{url['PORT'] or 5432}/"
        f"{url['NAME']}_bench_smoke"
    )
    done = subprocess.run(
        [sys.executable, str(root / "bench" / script), *args],
        cwd=root,
        env={**os.environ, "BENCH_DATABASE_URL": bench_url},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "median of 1" in done.stdout
    assert not re.search(r"(overbooked|mismatch)=[1-9]", done.stdout), done.stdout
    for name in (bench_url, bench_url + "_scans"):  # scans.py seeds a database of its own
        subprocess.run(
            [
                "psql",
                bench_url.rsplit("/", 1)[0] + "/postgres",
                "-qc",
                f'DROP DATABASE IF EXISTS "{name.rsplit("/", 1)[1]}" WITH (FORCE)',
            ],
            check=True,
        )


def test_make_refuses_a_python_older_than_3_12(tmp_path):
    import shutil
    from pathlib import Path

    # A real interpreter, not a pyenv shim (which would fail for its own reasons).
    found = sorted(Path.home().glob(".pyenv/versions/3.1[01].*/bin/python"))
    old = str(found[-1]) if found else shutil.which("python3.11")
    if old is None or shutil.which("make") is None:
        pytest.skip("no Python older than 3.12 (or no make) on this machine to try")
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        ["make", "-s", "check-python", f"PYTHON={old}"], cwd=root, capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "needs Python 3.12 or newer" in done.stdout


def test_make_run_on_another_port_links_its_emails_to_that_port():
    import os
    import shutil
    from pathlib import Path

    if shutil.which("make") is None:
        pytest.skip("no make on this machine")
    root = Path(__file__).resolve().parent.parent
    # Run as from a shell, also under `make test` (whose MAKEFLAGS would reach this make).
    outer = {"SITE_URL", "PORT", "MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"}
    environment = {k: v for k, v in os.environ.items() if k not in outer}

    def dry_run(*args, **extra):
        done = subprocess.run(
            ["make", "-n", "--no-print-directory", "run", *args],
            cwd=root,
            capture_output=True,
            text=True,
            env={**environment, **extra},
        )
        return next(line for line in done.stdout.splitlines() if "runserver" in line)

    assert dry_run("PORT=8011").startswith("SITE_URL=http://127.0.0.1:8011 ")
    assert dry_run().startswith("SITE_URL=http://127.0.0.1:8000 ")
    # An address set outside wins.
    assert dry_run(SITE_URL="https://book.example").startswith("SITE_URL=https://book.example ")


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_statements_are_prepared_once_per_connection(django_user_model):

    for _ in range(3):
        django_user_model.objects.filter(username="nobody@example.com").first()
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("auth_user" in sql and "$1" in sql for sql in prepared), prepared


def settings_in_a_process(**environment) -> subprocess.CompletedProcess:
    """Load the settings in a fresh interpreter with this environment; it prints the
    database's options."""
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default'].get('OPTIONS', {}))"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        env={
            "DATABASE_URL": "postgres://u@127.0.0.1:5432/x",
            "DJANGO_SETTINGS_MODULE": "classpass.settings",
            "PATH": "/usr/bin:/bin",
            **environment,
        },
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
    )


def test_prepared_statements_can_be_turned_off_for_a_pooler():
    on, off = settings_in_a_process(), settings_in_a_process(DATABASE_PREPARED_STATEMENTS="0")
    assert "'server_side_binding': True" in on.stdout, on.stderr
    assert "server_side_binding" not in off.stdout and off.returncode == 0, off.stderr


def test_a_database_url_that_is_not_one_stops_the_start_with_a_message():
    for bad in ("", "postgres//u@127.0.0.1/x"):
        refused = settings_in_a_process(DATABASE_URL=bad)
        assert refused.returncode != 0
        assert "DATABASE_URL is not a database URL" in refused.stderr, refused.stderr


def test_the_wsgi_application_loads_views_and_tasks_before_the_first_request():
    script = (
        "import sys, classpass.wsgi; "
        "print(all(m in sys.modules for m in ('bookings.api', 'bookings.views', "
        "'members.api', 'bookings.tasks', 'premium.tasks')) "
        "and classpass.wsgi.celery_app.finalized)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite:///:memory:"},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
    )
    assert done.stdout.strip() == "True", done.stderr


@pytest.mark.django_db
def test_admin_cancels_reservations_through_the_engine_and_reports_refusals(
    admin_client, active_member, studio
):
    from bookings import services as booking_services
    from bookings.models import Reservation, ReservationStatus
    from tests import factories

    booked = booking_services.book(active_member, factories.ClassSessionFactory(studio=studio).pk)
    done = booking_services.book(active_member, factories.ClassSessionFactory(studio=studio).pk)
    booking_services.cancel(done.pk)
    response = admin_client.post(
        reverse("admin:bookings_reservation_changelist"),
        {"action": "cancel_reservations", "_selected_action": [booked.pk, done.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "Cancelled 1 reservation(s)." in page and "This reservation is cancelled." in page
    booked.refresh_from_db()
    assert booked.status == ReservationStatus.CANCELLED
    active_member.refresh_from_db()
    ledger = CreditEntry.objects.filter(member=active_member).aggregate(s=Sum("amount"))["s"]
    assert active_member.credit_balance == ledger == 30  # both bookings' credits came back
    assert Reservation.objects.filter(status=ReservationStatus.BOOKED).count() == 0


@pytest.mark.django_db
def test_saving_a_member_in_admin_keeps_a_booking_made_meanwhile(admin_user, active_member, rf):
    from types import SimpleNamespace

    from django.contrib.admin import site

    from bookings import services as booking_services
    from members.models import Member
    from tests import factories
    from tests.invariants import assert_invariants

    request = rf.post("/admin/")
    request.user = admin_user
    posted = Member.objects.get(pk=active_member.pk)  # as the admin's save reads it
    booking_services.book(active_member, factories.ClassSessionFactory().pk)  # meanwhile
    posted.class_reminders = False
    form = SimpleNamespace(changed_data=["class_reminders"])  # what the admin changed
    site._registry[Member].save_model(request, posted, form, change=True)
    assert Member.objects.get(pk=active_member.pk).class_reminders is False
    assert_invariants()  # the balance still equals the ledger


@pytest.mark.django_db
def test_admin_edits_a_class_through_the_engine_and_cancels_it_with_refunds(
    admin_client, active_member, studio
):
    from bookings import services as booking_services
    from bookings.models import ReservationStatus
    from studios.models import AuditEntry, ClassSession
    from tests import factories

    session = factories.ClassSessionFactory(studio=studio, capacity=20, network_spots=10)
    reservation = booking_services.book(active_member, session.pk)
    change = reverse("admin:studios_classsession_change", args=[session.pk])
    page = admin_client.get(change).content.decode()
    assert 'name="starts_at' not in page and 'name="status"' not in page  # fixed once made
    form = {
        "capacity": 20,
        "network_spots": 10,
        "studio_booked": 0,
        "credit_price": session.credit_price,
        "instructor": "",
    }
    # Past the room: refused with the engine's reason, nothing saved, no 5xx.
    refused = admin_client.post(change, {**form, "studio_booked": 20}, follow=True)
    assert refused.status_code == 200
    assert "Not saved: The room holds 20, but 21 would be booked" in refused.content.decode()
    session.refresh_from_db()
    assert session.studio_booked == 0
    # A change that fits is saved under the lock and audited; the booking counter stays.
    assert admin_client.post(change, {**form, "studio_booked": 6}).status_code == 302
    session.refresh_from_db()
    assert (session.studio_booked, session.network_booked) == (6, 1)
    assert AuditEntry.objects.filter(action="class changed", target=f"session:{session.pk}")
    # Cancelling is the action, which refunds everyone through the engine; a class is never
    # deleted (its waiting members would be dropped without a word).
    delete = reverse("admin:studios_classsession_delete", args=[session.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    response = admin_client.post(
        reverse("admin:studios_classsession_changelist"),
        {"action": "cancel_classes", "_selected_action": [session.pk]},
        follow=True,
    )
    assert "Cancelled; 1 reservation(s) refunded." in response.content.decode()
    # A class under way is not cancelled: the admin is told why, and nothing changes.
    started = factories.ClassSessionFactory(
        studio=session.studio, starts_at=timezone.now() - timedelta(minutes=10)
    )
    response = admin_client.post(
        reverse("admin:studios_classsession_changelist"),
        {"action": "cancel_classes", "_selected_action": [started.pk]},
        follow=True,
    )
    assert "Not cancelled" in response.content.decode()
    assert "Cancelled;" not in response.content.decode()
    assert "it can no longer be cancelled" in response.content.decode()
    assert ClassSession.objects.get(pk=started.pk).status == "scheduled"
    reservation.refresh_from_db()
    active_member.refresh_from_db()
    assert reservation.status == ReservationStatus.CANCELLED
    assert ClassSession.objects.get(pk=session.pk).status == "cancelled"
    ledger = CreditEntry.objects.filter(member=active_member).aggregate(s=Sum("amount"))["s"]
    assert active_member.credit_balance == ledger == 30


@pytest.mark.django_db
def test_admin_adds_an_earning_adjustment_with_a_reason_only(admin_client, studio):
    from studios.models import EarningEntry, EarningKind

    url = reverse("admin:studios_earningentry_add")
    for amount, description, message in (
        ("0.00", "Refund", "at least one cent"),
        ("-15.00", "   ", "Say why"),
    ):
        response = admin_client.post(
            url, {"studio": studio.pk, "amount_cents": amount, "description": description}
        )
        assert response.status_code == 200 and message in response.content.decode()
    assert not EarningEntry.objects.exists()
    response = admin_client.post(
        url, {"studio": studio.pk, "amount_cents": "-15.00", "description": "Double payout in May"}
    )
    assert response.status_code == 302
    entry = EarningEntry.objects.get()
    assert (entry.kind, entry.amount_cents, entry.studio) == (EarningKind.ADJUSTMENT, -1500, studio)
    assert entry.currency == studio.market.currency


@pytest.mark.django_db
def test_a_missing_page_gets_the_sites_own_404(client, market):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page and 'class="topbar"' in page
    assert "Resolver404" not in page
    # A view's own reason is shown.
    page = client.get("/classes/999999/").content.decode()
    assert "That class does not exist." in page


def test_a_server_error_page_needs_no_request_or_database(rf):
    from django.views.defaults import server_error

    response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


@pytest.mark.django_db
def test_a_form_without_its_csrf_token_gets_a_page_that_says_what_to_do(member):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(
        reverse("members:login"), {"username": member.user.email, "password": "x"}
    )
    assert response.status_code == 403
    assert "reload the page and send the form again" in response.content.decode()


def test_favicon_ico_points_at_the_sites_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response.url.endswith("favicon.svg")


@pytest.mark.django_db
def test_support_refunds_a_payment_from_admin_and_the_member_sees_it(
    admin_client, member, client, settings
):
    from members import services

    paid = services.charge(
        member,
        kind="late_cancel_fee",
        amount_cents=1000,
        currency="USD",
        reference="fee:1",
        description="Flow at Studio",
    )
    change = admin_client.get(reverse("admin:members_payment_change", args=[paid.pk]))
    assert reverse("admin:members_payment_refund", args=[paid.pk]) in change.content.decode()
    address = reverse("admin:members_payment_refund", args=[paid.pk])
    page = admin_client.get(address).content.decode()
    assert "left to refund: <strong>$10.00</strong>" in page
    assert "Amount (USD)" in page
    bad = admin_client.post(
        address, {"amount_cents": "11.00", "reason": "x", "refunded_before_cents": 0}
    )
    assert bad.status_code == 200 and "between 0.01 and 10.00" in bad.content.decode()
    # While the payment service does not answer, the refund is pending: it counts as given
    # (support cannot give it twice) and the sweep asks the service again.
    settings.PAYMENT_PROVIDER = "tests.payments.Unreachable"
    unanswered = admin_client.post(
        address,
        {"amount_cents": "10.00", "reason": "Fee waived", "refunded_before_cents": 0},
        follow=True,
    ).content.decode()
    assert "Pending: $10.00. The payment service did not answer" in unanswered
    twice = admin_client.post(
        address, {"amount_cents": "10.00", "reason": "Fee waived", "refunded_before_cents": 0}
    )
    assert twice.status_code == 200 and not paid.refunds.filter(status="succeeded").exists()
    assert "left to refund: <strong>$0.00</strong>" in admin_client.get(address).content.decode()
    settings.PAYMENT_PROVIDER = "members.payments.LocalPaymentProvider"
    assert services.settle_pending_payments()["succeeded"] == 1
    assert paid.refunds.get().status == "succeeded"
    from django.contrib.admin.models import LogEntry

    (history,) = LogEntry.objects.filter(object_id=str(paid.pk))  # who gave it back
    assert "of $10.00 (pending): Fee waived" in history.change_message
    assert history.user.is_superuser
    client.force_login(member.user)
    payments = client.get(reverse("members:payments")).content.decode()
    assert "Refund: Fee waived" in payments and "-$10.00" in payments
    assert (
        "Nothing left to refund ($10.00 refunded or pending)"
        in admin_client.get(
            reverse("admin:members_payment_change", args=[paid.pk])
        ).content.decode()
    )


OUR_APPS = ("studios", "members", "bookings", "premium", "marketing")


def test_no_foreign_key_has_an_index_that_another_index_already_leads_with():
    """Every write updates every index of its table. A foreign key's own single-column index is
    left out (db_index=False) where a composite index or unique constraint of the same model
    starts with that column and serves the same lookups (docs/performance.md)."""
    redundant = []
    for model in apps.get_models():
        if model._meta.app_label not in OUR_APPS:
            continue
        leading = set()
        for entry in [*model._meta.indexes, *model._meta.constraints]:
            fields = getattr(entry, "fields", ())
            if len(fields) > 1 and not getattr(entry, "condition", None):
                leading.add(model._meta.get_field(fields[0].lstrip("-")).column)
        leading |= {
            model._meta.get_field(fields[0]).column
            for fields in model._meta.unique_together
            if len(fields) > 1
        }
        redundant += [
            f"{model._meta.label}.{field.name}"
            for field in model._meta.concrete_fields
            if field.is_relation and field.db_index and not field.unique and field.column in leading
        ]
    assert redundant == []
