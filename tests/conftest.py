"""Shared fixtures. Tests marked `postgres` need PostgreSQL semantics and skip on SQLite."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from tests import factories


def pytest_collection_modifyitems(config, items):
    if connection.vendor == "postgresql":
        return
    for item in items:
        if marker := item.get_closest_marker("postgres"):
            why = marker.kwargs.get("reason", "PostgreSQL row locks and concurrency")
            item.add_marker(pytest.mark.skip(reason=f"needs {why}; set DATABASE_URL to run it"))


@pytest.fixture(scope="session", autouse=True)
def _no_stray_connections(django_db_setup, django_db_blocker):
    """The live server's request threads are daemons: one still reading a browser's keep-alive
    socket when the session ends keeps its database connection, and the test database then
    cannot be dropped. Close what is left before the teardown drops it."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Counters live in the cache (Redis on CI): every test starts from an empty one."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_payment_provider():
    """The test provider that loses answers remembers what it made: not across tests."""
    from tests import payments

    payments.LostAnswers.made.clear()
    payments.LostAnswers.calls.clear()
    payments.LostAnswers.delay = 0.0


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def now():
    return datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


@pytest.fixture
def market(db):
    return factories.MarketFactory()


@pytest.fixture
def studio(market):
    return factories.StudioFactory(market=market)


@pytest.fixture
def plan(market):
    return factories.PlanFactory(market=market, credits_per_cycle=30)


@pytest.fixture
def member(market):
    return factories.MemberFactory(home_market=market)


@pytest.fixture
def active_member(market, plan):
    """A member of `market` with an active 30-credit plan, started a few days ago."""
    from django.utils import timezone

    from members import services
    from studios import outbox

    member = factories.MemberFactory(home_market=market)
    with outbox.silenced():  # its welcome e-mail is not what the tests using it look at
        services.choose_plan(member, plan, now=timezone.now() - timezone.timedelta(days=3))
    member.refresh_from_db()
    return member


@pytest.fixture
def session(studio):
    """A class two days ahead: 20 in the room, 10 on the network, 8 credits."""
    return factories.ClassSessionFactory(studio=studio)
