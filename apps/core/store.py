"""State shared by all worker processes: rate-limit windows, breakers, tokens.

With REDIS_URL set, everything lives in Redis and the time comes from the
Redis server, so every process agrees on both. Without it, the same state
lives in the project's database (`DatabaseStore`): the web, worker and beat
processes then share one breaker per platform, one rate-limit window and one
token lock, and the health page shows the state the workers act on.
`LocalStore` keeps it in one process's memory, for tests that inject it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Protocol

from django.conf import settings
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    IntegrityError,
    connection,
    connections,
    transaction,
)

logger = logging.getLogger(__name__)

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


# The alias of a store operation's own connection, registered for this thread
# only while the operation runs (see DatabaseStore._atomic).
_OWN_CONNECTION_ALIAS = "shared_store"
# How often, at most, a process deletes other keys' expired rows as it writes,
# and how many at a time: a bounded DELETE that keeps each write short.
LAZY_PURGE_INTERVAL_SECONDS = 600.0
PURGE_BATCH = 500


class DatabaseStore:
    """The same interface on the project's database, for deployments without Redis.

    Each operation is one short transaction of its own, as a Redis command is:
    its changes are seen by every process as soon as it returns, and its row
    locks last only as long as it does. When the caller is inside a
    transaction, PostgreSQL runs the operation on a connection of its own, so
    a breaker's failure is not undone by the caller's rollback and a
    rate-limit window is not held locked until the caller commits (the OAuth
    refresh sends its token request under a row lock). SQLite cannot: its
    single writer is the caller's transaction already, and a second connection
    would wait for it until its busy timeout; there the operation joins the
    caller's transaction, which holds every other writer back anyway.

    Time comes from the database server's clock on PostgreSQL (every worker
    host agrees with it), from this machine's on SQLite (the file is local).

    The models are imported where they are used: this module is imported
    by processes that never set Django up (a rate limiter on Redis in a
    spawned process), where importing a model fails.
    """

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        # A test's clock replaces the database's: breaker cool-downs in the test's hands.
        self.clock = clock
        self._next_purge = time.monotonic() + LAZY_PURGE_INTERVAL_SECONDS

    def now(self) -> float:
        return self._now(DEFAULT_DB_ALIAS)

    def _now(self, using: str) -> float:
        if self.clock is not None:
            return self.clock()
        db = connections[using]
        if db.vendor != "postgresql":
            return time.time()
        with db.cursor() as cursor:
            # clock_timestamp(), not now(): now() is frozen at the start of the
            # caller's transaction, which may have begun long ago.
            cursor.execute("SELECT extract(epoch FROM clock_timestamp())")
            return float(cursor.fetchone()[0])

    @contextmanager
    def _atomic(self) -> Iterator[str]:
        """One operation's transaction; yields the database alias to run it on."""
        if connection.vendor == "postgresql" and connection.in_atomic_block:
            own = connections.create_connection(DEFAULT_DB_ALIAS)
            connections[_OWN_CONNECTION_ALIAS] = own
            try:
                with transaction.atomic(using=_OWN_CONNECTION_ALIAS):
                    yield _OWN_CONNECTION_ALIAS
            finally:
                del connections[_OWN_CONNECTION_ALIAS]
                # Closed at once: an operation inside a transaction is rare,
                # and a connection kept per thread would outlive its thread.
                own.close()
        else:
            with transaction.atomic():
                yield DEFAULT_DB_ALIAS
        self._purge_now_and_then()

    def get(self, key: str) -> str | None:
        from apps.core.models import SharedState

        row = (SharedState.objects.filter(key=key, kind=SharedState.Kind.VALUE)
               .values_list("value", "expires_at").first())
        if row is None:
            return None
        value, expires_at = row
        if expires_at is not None and expires_at <= self.now():
            return None
        return value

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        from apps.core.models import SharedState

        with self._atomic() as using:
            now = self._now(using)
            SharedState.objects.using(using).update_or_create(
                key=key, defaults={"kind": SharedState.Kind.VALUE, "value": value,
                                   "expires_at": now + ttl if ttl else None})

    def add(self, key: str, value: str, ttl: float) -> bool:
        from apps.core.models import SharedState

        with self._atomic() as using:
            now = self._now(using)
            rows = SharedState.objects.using(using)
            rows.filter(key=key, expires_at__lte=now).delete()
            try:
                # The unique key decides between two processes adding at once.
                with transaction.atomic(using=using):
                    rows.create(key=key, kind=SharedState.Kind.VALUE, value=value,
                                expires_at=now + max(ttl, 0.001))
            except IntegrityError:
                return False
            return True

    def delete(self, key: str, *, only_if: str | None = None) -> None:
        from apps.core.models import SharedState, SharedWindowHit

        with self._atomic() as using:
            rows = SharedState.objects.using(using).filter(key=key)
            if only_if is not None:
                rows.filter(kind=SharedState.Kind.VALUE, value=only_if).delete()
                return
            rows.delete()
            SharedWindowHit.objects.using(using).filter(key=key).delete()

    def incr(self, key: str, ttl: float) -> int:
        from apps.core.models import SharedState

        with self._atomic() as using:
            now = self._now(using)
            rows = SharedState.objects.using(using)
            rows.filter(key=key, expires_at__lte=now).delete()
            rows.bulk_create([SharedState(key=key, kind=SharedState.Kind.VALUE, value="0")],
                             ignore_conflicts=True)
            # Locked, so two processes counting at once both count.
            row = rows.select_for_update().get(key=key)
            value = int(row.value or 0) + 1
            rows.filter(pk=row.pk).update(value=str(value), expires_at=now + ttl)
            return value

    def hash_get(self, key: str) -> dict[str, str]:
        from apps.core.models import SharedState

        raw = (SharedState.objects.filter(key=key, kind=SharedState.Kind.HASH)
               .values_list("value", flat=True).first())
        return json.loads(raw) if raw else {}

    def hash_set(self, key: str, values: dict[str, str]) -> None:
        from apps.core.models import SharedState

        with self._atomic() as using:
            rows = SharedState.objects.using(using)
            rows.bulk_create([SharedState(key=key, kind=SharedState.Kind.HASH, value="{}")],
                             ignore_conflicts=True)
            row = rows.select_for_update().get(key=key)
            merged = json.loads(row.value or "{}") if row.kind == SharedState.Kind.HASH else {}
            merged.update(values)
            rows.filter(pk=row.pk).update(kind=SharedState.Kind.HASH,
                                          value=json.dumps(merged), expires_at=None)

    def sliding_window_acquire(self, windows: list[tuple[str, int, float]]) -> float:
        from apps.core.models import SharedState, SharedWindowHit

        # Every process locks the windows' head rows in the same order, so two
        # calls sharing some windows cannot deadlock.
        windows = sorted(windows)
        keys = [key for key, _limit, _seconds in windows]
        with self._atomic() as using:
            now = self._now(using)
            heads = SharedState.objects.using(using)
            hits = SharedWindowHit.objects.using(using)
            while True:
                heads.bulk_create(
                    [SharedState(key=key, kind=SharedState.Kind.WINDOW, expires_at=now + seconds)
                     for key, _limit, seconds in windows], ignore_conflicts=True)
                # PostgreSQL: row locks, held until this operation commits.
                # SQLite: the transaction holds the database's write lock already.
                locked = list(heads.select_for_update().filter(key__in=keys)
                              .order_by("key").values_list("pk", flat=True))
                # A head the nightly purge deleted under us is made again.
                if len(locked) == len(set(keys)):
                    break
            wait = 0.0
            for key, limit, seconds in windows:
                hits.filter(key=key, at__lte=now - seconds).delete()
                window = hits.filter(key=key)
                count = window.count()
                if count >= limit:
                    # The hit whose expiry frees the slot we need.
                    edge = window.order_by("at").values_list("at", flat=True)[count - limit]
                    wait = max(wait, edge + seconds - now)
            if wait > 0:
                return wait
            hits.bulk_create([SharedWindowHit(key=key, at=now, expires_at=now + seconds)
                              for key, _limit, seconds in windows])
            for key, _limit, seconds in windows:
                heads.filter(key=key).update(expires_at=now + seconds)
            return 0.0

    def clear(self) -> None:
        """Forget every key: all breakers closed, windows empty, no token cached
        (Redis' FLUSHDB; the tests empty the store between tests with it)."""
        from apps.core.models import SharedState, SharedWindowHit

        with self._atomic() as using:
            SharedWindowHit.objects.using(using).all().delete()
            SharedState.objects.using(using).all().delete()

    def _purge_now_and_then(self) -> None:
        # Not inside a caller's transaction: its deletions would wait for its commit.
        if connection.in_atomic_block or time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + LAZY_PURGE_INTERVAL_SECONDS
        try:
            shared_state_purge(store=self, limit=PURGE_BATCH)
        except DatabaseError:
            # The caller's operation is done and committed; a busy database
            # only postpones the clean-up to the next round.
            logger.warning("Shared store: purging expired rows failed", exc_info=True)


def shared_state_purge(*, store: DatabaseStore | None = None, batch: int = PURGE_BATCH,
                       limit: int = 1_000_000) -> dict[str, int]:
    """Delete the database store's expired rows, `batch` at a time, up to `limit`.

    Each batch is its own short transaction, so the web and workers keep
    writing in between (SQLite has one writer at a time).
    """
    from apps.core.models import SharedState, SharedWindowHit

    now = (store or DatabaseStore()).now()
    deleted = {"shared_state": 0, "window_hits": 0}
    for name, model in (("shared_state", SharedState), ("window_hits", SharedWindowHit)):
        while deleted[name] < limit:
            ids = list(model.objects.filter(expires_at__lte=now)
                       .values_list("pk", flat=True)[:min(batch, limit - deleted[name])])
            if not ids:
                break
            deleted[name] += model.objects.filter(pk__in=ids, expires_at__lte=now).delete()[0]
    return deleted


@cache
def _store_for(redis_url: str) -> SharedStore:
    return RedisStore(redis_url) if redis_url else DatabaseStore()


def shared_store() -> SharedStore:
    """The process-wide store for the configured REDIS_URL."""
    return _store_for(settings.REDIS_URL)
