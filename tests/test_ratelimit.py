"""The rate limiter: a sliding window counter, all of a request's limits in one round trip."""

import os

import pytest
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured

from classpass.ratelimit import hit, parse_rate
from tests import factories

BACKENDS = ["locmem"] + (["redis"] if os.environ.get("REDIS_URL") else [])


@pytest.fixture(params=BACKENDS)
def backend(request, settings):
    if request.param == "locmem":
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    else:
        settings.CACHES = {
            "default": {
                "BACKEND": "classpass.cache.RedisCache",
                "LOCATION": os.environ["REDIS_URL"],
            }
        }
    caches["default"].clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"booking": "3/min", "user": "5/min", "anon": None},
    }
    yield request.param
    caches["default"].clear()


def test_a_full_window_refuses_and_a_refusal_is_not_counted(backend):
    start = 60 * 1000  # the start of a window
    assert [hit([("booking", "7")], now=start + 30) for _ in range(3)] == [None] * 3
    wait = hit([("booking", "7")], now=start + 31)
    assert wait == pytest.approx(29)  # until this window ends
    # Another member has a budget of their own.
    assert hit([("booking", "8")], now=start + 31) is None
    # Half way into the next window, the previous three weigh 1.5: one more fits (2.5 <= 3),
    # a second does not (3.5), and it can come once 0.5 of the old weight has faded: 10 s.
    assert hit([("booking", "7")], now=start + 90) is None
    assert hit([("booking", "7")], now=start + 90) == pytest.approx(10)
    assert hit([("booking", "7")], now=start + 100.5) is None


def test_every_limit_of_a_request_is_checked_and_a_refusal_counts_against_none(backend):
    now = 60 * 2000 + 1
    both = [("user", "7"), ("booking", "7")]
    assert [hit(both, now=now) for _ in range(3)] == [None] * 3
    assert hit(both, now=now) is not None  # the booking limit refuses...
    # ...and the refused request did not use the user's budget: two more reads fit.
    assert hit([("user", "7")], now=now) is None
    assert hit([("user", "7")], now=now) is None
    assert hit([("user", "7")], now=now) is not None


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL)")
@pytest.mark.parametrize("backend", ["redis"], indirect=True)  # a server-side script there
def test_the_limits_still_count_after_redis_has_lost_its_scripts(backend):
    now = 60 * 3000 + 1
    assert hit([("booking", "7")], now=now) is None
    # A restarted or failed-over Redis keeps no scripts: the next call loads it again...
    caches["default"]._cache.get_client(write=True).script_flush()
    assert [hit([("booking", "7")], now=now) for _ in range(2)] == [None, None]
    # ...and counted the hits before and after: the fourth is refused.
    assert hit([("booking", "7")], now=now) is not None


def test_a_scope_without_a_rate_is_not_limited(backend):
    assert all(hit([("anon", "10.0.0.1")], now=5.0) is None for _ in range(50))


def test_a_malformed_rate_is_a_configuration_error():
    assert parse_rate("30/min") == (30, 60)
    assert parse_rate("1000/hour") == (1000, 3600)
    for bad in ("30", "x/min", "30/fortnight", "/min"):
        with pytest.raises(ImproperlyConfigured):
            parse_rate(bad)


def test_an_unreachable_cache_lets_requests_through_unlimited(settings, active_member, caplog):
    import socket

    from rest_framework.test import APIClient

    from members import services as members_services

    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    working = settings.CACHES
    settings.CACHES = {
        "default": {
            "BACKEND": "classpass.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"booking": "1/min", "user": "1/min", "token": "1/min"},
    }
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {members_services.create_api_token(active_member.user)[1]}"
    )
    studio = factories.StudioFactory(market=active_member.home_market)
    sessions = [factories.ClassSessionFactory(studio=studio, credit_price=1) for _ in range(2)]
    try:
        for session in sessions:
            response = client.post("/api/v1/reservations/", {"session": session.pk}, format="json")
            assert response.status_code == 201, response.content
    finally:
        settings.CACHES = working  # the shared fixtures clear the cache afterwards
    assert "Rate limits not checked" in caplog.text
