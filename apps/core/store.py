"""State shared by all worker processes: rate-limit windows, breakers, tokens.

With REDIS_URL set, everything lives in Redis and the time comes from the
Redis server, so every process agrees on both. Without it, a process-local
store with the same interface keeps the hub usable on one machine with
nothing installed; limits and breakers then hold per process only.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from functools import cache
from typing import Protocol

from django.conf import settings

# Sliding-window log over several windows at once, all or nothing: a call is
# admitted only if every window has room, and then recorded in all of them.
# Redis' own clock is used so that workers with drifting clocks agree.
# Returns 0 when admitted, otherwise the milliseconds until a slot frees up.
_SLIDING_WINDOW_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local edge = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    local until_free = tonumber(edge[2]) + window - now
    if until_free > wait then wait = until_free end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[1])
  redis.call('PEXPIRE', key, tonumber(ARGV[2 * i + 1]))
end
return 0
"""


class SharedStore(Protocol):
    def now(self) -> float: ...

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, ttl: float | None = None) -> None: ...

    def add(self, key: str, value: str, ttl: float) -> bool:
        """Set only if absent (a lock); True if this caller set it."""

    def delete(self, key: str, *, only_if: str | None = None) -> None: ...

    def incr(self, key: str, ttl: float) -> int: ...

    def hash_get(self, key: str) -> dict[str, str]: ...

    def hash_set(self, key: str, values: dict[str, str]) -> None: ...

    def sliding_window_acquire(self, windows: list[tuple[str, int, float]]) -> float:
        """Admit one call in every (key, limit, seconds) window, or say how long to wait."""


class RedisStore:
    _RELEASE_LUA = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end"

    def __init__(self, url: str) -> None:
        import redis  # imported here so the local mode needs no Redis client at all

        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5,
                                           decode_responses=True)
        self._window = self.client.register_script(_SLIDING_WINDOW_LUA)
        self._release = self.client.register_script(self._RELEASE_LUA)

    def now(self) -> float:
        seconds, micros = self.client.time()
        return seconds + micros / 1_000_000

    def get(self, key: str) -> str | None:
        return self.client.get(key)

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        self.client.set(key, value, px=int(ttl * 1000) if ttl else None)

    def add(self, key: str, value: str, ttl: float) -> bool:
        return bool(self.client.set(key, value, nx=True, px=max(int(ttl * 1000), 1)))

    def delete(self, key: str, *, only_if: str | None = None) -> None:
        if only_if is None:
            self.client.delete(key)
        else:
            self._release(keys=[key], args=[only_if])

    def incr(self, key: str, ttl: float) -> int:
        pipe = self.client.pipeline()
        pipe.incr(key)
        pipe.pexpire(key, int(ttl * 1000))
        return int(pipe.execute()[0])

    def hash_get(self, key: str) -> dict[str, str]:
        return self.client.hgetall(key)

    def hash_set(self, key: str, values: dict[str, str]) -> None:
        self.client.hset(key, mapping=values)

    def sliding_window_acquire(self, windows: list[tuple[str, int, float]]) -> float:
        args: list[object] = [uuid.uuid4().hex]
        for _key, limit, seconds in windows:
            args += [limit, int(seconds * 1000)]
        wait_ms = self._window(keys=[key for key, _, _ in windows], args=args)
        return int(wait_ms) / 1000


class LocalStore:
    """The same interface in process memory, guarded by one lock."""

    def __init__(self, clock=time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._values: dict[str, tuple[str, float | None]] = {}
        self._hashes: dict[str, dict[str, str]] = {}
        self._windows: dict[str, deque[float]] = {}

    def now(self) -> float:
        return self.clock()

    def _live(self, key: str) -> str | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires is not None and expires <= self.clock():
            del self._values[key]
            return None
        return value

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._live(key)

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        with self._lock:
            self._values[key] = (value, self.clock() + ttl if ttl else None)

    def add(self, key: str, value: str, ttl: float) -> bool:
        with self._lock:
            if self._live(key) is not None:
                return False
            self._values[key] = (value, self.clock() + ttl)
            return True

    def delete(self, key: str, *, only_if: str | None = None) -> None:
        with self._lock:
            if only_if is None or self._live(key) == only_if:
                self._values.pop(key, None)
                self._hashes.pop(key, None)

    def incr(self, key: str, ttl: float) -> int:
        with self._lock:
            value = int(self._live(key) or 0) + 1
            self._values[key] = (str(value), self.clock() + ttl)
            return value

    def hash_get(self, key: str) -> dict[str, str]:
        with self._lock:
            return dict(self._hashes.get(key, {}))

    def hash_set(self, key: str, values: dict[str, str]) -> None:
        with self._lock:
            self._hashes.setdefault(key, {}).update(values)

    def sliding_window_acquire(self, windows: list[tuple[str, int, float]]) -> float:
        with self._lock:
            now = self.clock()
            wait = 0.0
            for key, limit, seconds in windows:
                log = self._windows.setdefault(key, deque())
                while log and log[0] <= now - seconds:
                    log.popleft()
                if len(log) >= limit:
                    wait = max(wait, log[len(log) - limit] + seconds - now)
            if wait > 0:
                return wait
            for key, _limit, _seconds in windows:
                self._windows[key].append(now)
            return 0.0


@cache
def _store_for(redis_url: str) -> SharedStore:
    return RedisStore(redis_url) if redis_url else LocalStore()


def shared_store() -> SharedStore:
    """The process-wide store for the configured REDIS_URL."""
    return _store_for(settings.REDIS_URL)
