"""Fixtures of the core tests: controllable clocks and stores, a clean cache."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import caches

from apps.core.store import LocalStore, RedisStore


class FakeClock:
    """A clock the test moves by hand; also usable as an injected `sleep`."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)


class ClockedRedisStore(RedisStore):
    """Real Redis for the state, the test's clock for `now()` (breaker cool-downs)."""

    def __init__(self, url: str, clock: FakeClock) -> None:
        super().__init__(url)
        self.clock = clock

    def now(self) -> float:
        return self.clock()


@pytest.fixture(autouse=True)
def _clear_cache(request):
    # Validation answers and throttle counts live in the caches and would
    # carry across tests. Without Redis the throttle cache is a database
    # table: only a test that uses the database can have filled it, and it
    # can be emptied only once that test's database is set up (autouse
    # fixtures come first).
    caches["default"].clear()
    if not settings.REDIS_URL:
        marker = request.node.get_closest_marker("django_db")
        if "transactional_db" in request.fixturenames or (
                marker and marker.kwargs.get("transaction")):
            request.getfixturevalue("transactional_db")
        elif marker or "db" in request.fixturenames:
            request.getfixturevalue("db")
        else:
            yield
            return
    caches["throttle"].clear()
    yield
    caches["default"].clear()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["local", pytest.param("redis", marks=pytest.mark.redis)])
def clocked_store(request, clock):
    """The same shared state on both backends, with time in the test's hands."""
    if request.param == "local":
        return LocalStore(clock=clock)
    return ClockedRedisStore(settings.REDIS_URL, clock)


@pytest.fixture
def outbox():
    """The scripted outbox handler, reset for each test."""
    from tests.core import outbox_handlers

    outbox_handlers.script.clear()
    outbox_handlers.runs.clear()
    yield outbox_handlers
    outbox_handlers.script.clear()
    outbox_handlers.runs.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The default hasher takes a good fraction of a second per user on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
