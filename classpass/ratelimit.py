"""Rate limits of the API and of the website's forms that book or send e-mail: every limit
that applies to a request, counted in one cache round trip.

Each limit is a scope (a rate in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], such as "60/min")
and an identity (a user, a token, an address). It is counted with a sliding window counter:
the current fixed window's count plus the previous window's, weighted by how much of it still
overlaps the last period. That needs two small integers per identity, where DRF's own
throttles keep a list of every request's timestamp and read and write it with two cache calls
per scope: six Redis round trips for a booking, which checks three limits. Here the booking's
three limits cost one (docs/performance.md). A refused request is not counted.

When the cache cannot be reached, requests are let through unlimited (and a warning logged):
an outage of Redis must not stop members from booking.
"""

import logging
import math
import time
from contextlib import suppress

from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import RedisError
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
log = logging.getLogger(__name__)


def parse_rate(rate: str) -> tuple[int, int]:
    """ "30/min" -> (30, 60): requests allowed, and the period in seconds."""
    try:
        count, period = rate.split("/")
        return int(count), PERIODS[period[0]]
    except (ValueError, KeyError, IndexError):
        raise ImproperlyConfigured(f"A rate looks like 30/min, not {rate!r}.") from None


def hit(limits: list[tuple[str, str]], *, now: float | None = None) -> float | None:
    """Count one request against each (scope, identity). None when every limit allows it;
    otherwise the seconds to wait, and the request is not counted against any of them."""
    rates = api_settings.DEFAULT_THROTTLE_RATES
    now = time.time() if now is None else now
    checks = []
    for scope, ident in limits:
        if rates.get(scope) is None:
            continue  # a scope without a rate is not limited
        allowed, period = parse_rate(rates[scope])
        window = int(now // period)
        key = f"ratelimit:{scope}:{ident}"
        checks.append(
            (allowed, period, now / period - window, f"{key}:{window}", f"{key}:{window - 1}")
        )
    if not checks:
        return None
    cache = caches["default"]
    try:
        counts = count_hits(
            cache, [(current, previous, 2 * period) for _, period, _, current, previous in checks]
        )
    except (RedisError, OSError):
        log.warning("Rate limits not checked: the cache is unreachable", exc_info=True)
        return None
    wait = None
    for (allowed, period, into, _, _), (current, previous) in zip(checks, counts, strict=True):
        if previous * (1 - into) + current <= allowed:
            continue
        left = period * (1 - into)  # until this window ends
        if previous and current <= allowed:  # the previous window's weight fades sooner
            left = min(left, (previous * (1 - into) + current - allowed) * period / previous)
        wait = max(wait or 0.0, left)
    if wait is not None:
        with suppress(RedisError, OSError):  # not taken back: it expires with its window
            uncount_hits(cache, [(current, 2 * period) for _, period, _, current, _ in checks])
    return wait


def client_address(request) -> str:
    """The client's address, as the API's anonymous limit counts it (behind NUM_PROXIES)."""
    return BaseThrottle().get_ident(request)


def in_minutes(wait: float) -> str:
    """A wait as a refusal tells it: "1 minute", "12 minutes"."""
    minutes = max(1, math.ceil(wait / 60))
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


def request_limits(request, scope: str | None = None) -> list[tuple[str, str]]:
    """The limits of an API request: the user's and the token's, or the address's when
    anonymous, plus `scope` (a view's own limit) for the same person."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        ident = str(user.pk)
        limits = [("user", ident)]
        token_key = getattr(getattr(request, "auth", None), "token_key", None)
        if token_key:
            limits.append(("token", token_key))
    else:
        ident = client_address(request)
        limits = [("anon", ident)]
    if scope:
        limits.append((scope, ident))
    return limits


class RequestRateThrottle(BaseThrottle):
    """The API's one throttle class: all of a request's limits at once. A view adds a limit of
    its own with a `throttle_scope` attribute (a scope of DEFAULT_THROTTLE_RATES)."""

    def allow_request(self, request, view) -> bool:
        self._wait = hit(request_limits(request, getattr(view, "throttle_scope", None)))
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


# KEYS: each limit's current and previous window; ARGV: each limit's time to live. Adds one
# to each current window (kept for its time to live) and returns it with the previous one's.
_COUNT = """
local counts = {}
for i = 1, #ARGV do
  counts[2 * i - 1] = redis.call('INCR', KEYS[2 * i - 1])
  redis.call('EXPIRE', KEYS[2 * i - 1], ARGV[i])
  counts[2 * i] = tonumber(redis.call('GET', KEYS[2 * i]) or '0') or 0
end
return counts
"""

# KEYS: windows to take one back from; ARGV: each one's time to live.
_UNCOUNT = """
for i = 1, #KEYS do
  redis.call('DECR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[i])
end
"""


def count_hits(cache, keys: list[tuple[str, str, int]]) -> list[tuple[int, int]]:
    """For each (current, previous, ttl): add one to `current` (kept `ttl` seconds) and read
    `previous`. On Redis, one script in one round trip: it cost the client about half the
    CPU of the same nine commands in a pipeline (docs/performance.md). Plain cache calls on
    any other backend."""
    if hasattr(cache, "script"):
        names, ttls = [], []
        for current, previous, ttl in keys:
            names += (cache.make_key(current), cache.make_key(previous))
            ttls.append(ttl)
        replies = cache.script(_COUNT)(keys=names, args=ttls)
        return list(zip(replies[::2], replies[1::2], strict=True))
    counts = []
    for current, previous, ttl in keys:
        cache.add(current, 0, ttl)
        counts.append((cache.incr(current), int(cache.get(previous) or 0)))
    return counts


def uncount_hits(cache, keys: list[tuple[str, int]]) -> None:
    """Take back one hit of each (key, ttl): a refused request does not count."""
    if hasattr(cache, "script"):
        cache.script(_UNCOUNT)(
            keys=[cache.make_key(key) for key, _ in keys], args=[ttl for _, ttl in keys]
        )
        return
    for key, _ in keys:
        with suppress(ValueError):  # expired meanwhile: nothing to take back
            cache.decr(key)
