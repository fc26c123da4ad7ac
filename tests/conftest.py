"""Shared fixtures. Tests marked `postgres` need PostgreSQL semantics and skip on SQLite."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from tests import factories


def pytest_collection_modifyitems(config, items):
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(
        reason="needs PostgreSQL row locks and concurrency; set DATABASE_URL to run it"
    )
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Counters live in the cache (Redis on CI): every test starts from an empty one."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


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

    member = factories.MemberFactory(home_market=market)
    services.choose_plan(member, plan, now=timezone.now() - timezone.timedelta(days=3))
    member.refresh_from_db()
    return member


@pytest.fixture
def session(studio):
    """A class two days ahead: 20 in the room, 10 on the network, 8 credits."""
    return factories.ClassSessionFactory(studio=studio)
