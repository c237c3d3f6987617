"""Rate-limit state shared by every worker process: Redis when configured, the database otherwise.

Two primitives cover the providers:
- block(key, seconds) / blocked_for(key): after a 429 or an exhausted budget, nobody calls until
  the provider said we may (Retry-After, reset times).
- reserve(key, interval, max_wait): pace calls (Slack's ~1 message per second per channel): takes
  the next free slot and says how long to sleep until it, or None when the queue of reserved
  slots is already longer than max_wait (then nothing is reserved and the work is deferred).
"""

from __future__ import annotations

import time
from functools import lru_cache

from django.conf import settings
from django.db import connection as db_connection

_RESERVE_LUA = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(current, now)
if slot - now > max_wait then return '-1' end
redis.call('SET', KEYS[1], tostring(slot + interval), 'PX', math.ceil((slot - now + interval) * 1000) + 60000)
return tostring(slot - now)
"""

_BLOCK_LUA = """
local until_ts = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ts > current then
  redis.call('SET', KEYS[1], tostring(until_ts), 'PX', math.ceil(tonumber(ARGV[2]) * 1000) + 1000)
end
return 1
"""


class RedisLimiter:
    def __init__(self, url: str):
        import redis

        self._redis = redis.Redis.from_url(url)
        self._reserve = self._redis.register_script(_RESERVE_LUA)
        self._block = self._redis.register_script(_BLOCK_LUA)

    def block(self, key: str, seconds: float) -> None:
        if seconds > 0:
            self._block(keys=[f"mlc:block:{key}"], args=[time.time() + seconds, seconds])

    def blocked_for(self, key: str) -> float:
        value = self._redis.get(f"mlc:block:{key}")
        return max(0.0, float(value) - time.time()) if value else 0.0

    def reserve(self, key: str, interval: float, max_wait: float) -> float | None:
        wait = float(self._reserve(keys=[f"mlc:slot:{key}"], args=[time.time(), interval, max_wait]))
        return None if wait < 0 else wait

    def reset(self) -> None:
        for pattern in ("mlc:block:*", "mlc:slot:*"):
            for key in self._redis.scan_iter(pattern):
                self._redis.delete(key)


class DatabaseLimiter:
    """One row per key in pipeline_throttle; each operation is a single atomic statement."""

    table = "pipeline_throttle"

    def _ensure(self, key: str) -> None:
        with db_connection.cursor() as cur:
            cur.execute(
                f"INSERT INTO {self.table} (key, blocked_until, next_slot) VALUES (%s, 0, 0) "  # noqa: S608
                "ON CONFLICT (key) DO NOTHING",
                [key],
            )

    def block(self, key: str, seconds: float) -> None:
        if seconds <= 0:
            return
        self._ensure(key)
        until = time.time() + seconds
        with db_connection.cursor() as cur:
            cur.execute(
                f"UPDATE {self.table} SET blocked_until = %s WHERE key = %s AND blocked_until < %s",  # noqa: S608
                [until, key, until],
            )

    def blocked_for(self, key: str) -> float:
        with db_connection.cursor() as cur:
            cur.execute(f"SELECT blocked_until FROM {self.table} WHERE key = %s", [key])  # noqa: S608
            row = cur.fetchone()
        return max(0.0, row[0] - time.time()) if row else 0.0

    def reserve(self, key: str, interval: float, max_wait: float) -> float | None:
        self._ensure(key)
        now = time.time()
        with db_connection.cursor() as cur:
            cur.execute(
                f"UPDATE {self.table} SET next_slot = "  # noqa: S608
                "(CASE WHEN next_slot > %s THEN next_slot ELSE %s END) + %s "
                "WHERE key = %s AND (CASE WHEN next_slot > %s THEN next_slot ELSE %s END) - %s <= %s "
                "RETURNING next_slot",
                [now, now, interval, key, now, now, now, max_wait],
            )
            row = cur.fetchone()
        if row is None:
            return None
        return max(0.0, row[0] - interval - now)

    def reset(self) -> None:
        with db_connection.cursor() as cur:
            cur.execute(f"DELETE FROM {self.table}")  # noqa: S608


@lru_cache(maxsize=2)
def _limiter_for(redis_url: str):
    return RedisLimiter(redis_url) if redis_url else DatabaseLimiter()


def limiter():
    return _limiter_for(getattr(settings, "REDIS_URL", ""))
