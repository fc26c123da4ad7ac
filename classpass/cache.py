"""Django's Redis cache, keeping one client per connection pool.

Django's `RedisCacheClient.get_client` builds a new `redis.Redis` for every cache call; with
redis-py 6 and newer that constructor copies its table of response callbacks (about a thousand
entries) each time, which cost more CPU than the round trip itself. A `redis.Redis` is safe to
share between threads (each command borrows a connection from the pool), so one per pool is
enough. Measured with `bench/http_booking.py`; see docs/performance.md.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class SharedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient
        self._scripts = {}

    def script(self, source: str):
        """`source`, a Lua script, as a callable on the write server (redis-py's Script: one
        EVALSHA a call, loading the script again if the server has lost it), for callers that
        read and write several keys in one round trip (classpass.ratelimit). Built once per
        source; callers pass their keys through make_key, as the cache's own calls do."""
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts.setdefault(
                source, self._cache.get_client(write=True).register_script(source)
            )
        return script
