"""Fixtures of the core tests: controllable clocks and stores, a clean cache,
and the set-ups several test files share (platform clients, the test webhook
processor, the OAuth stub, conflict resolutions, admin query counts)."""

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


@pytest.fixture
def fresh_clients():
    """No platform client cached by an earlier test: each is built again from its connection."""
    from apps.core.connections import client_cache_clear

    client_cache_clear()
    yield
    client_cache_clear()


@pytest.fixture
def forget_processed():
    """The test webhook processor's record of the events it processed, empty for each test."""
    from tests.core import webhook_source

    webhook_source.processed.clear()
    yield
    webhook_source.processed.clear()


@pytest.fixture
def oauth_stub():
    """The session's OAuth provider stub, forgetting what earlier tests did with it."""
    from tests.core.oauth_stub import running_stub

    provider = running_stub()
    provider.reset()
    yield provider
    # A refresh the test held and never let go would keep its worker waiting.
    provider.release.set()


@pytest.fixture
def applied_resolutions(monkeypatch) -> list[tuple[int, dict]]:
    """A clean conflict registry whose reservation resolver records (conflict id, value) applied."""
    from apps.core import conflicts

    monkeypatch.setattr(conflicts, "_resolvers", {})
    applied: list[tuple[int, dict]] = []
    conflicts.register_conflict_resolver(
        "reservation", lambda conflict, value: applied.append((conflict.pk, value)))
    return applied


@pytest.fixture
def admin_page_queries(admin_client):
    """How many queries the superuser's admin page at a URL makes to answer."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = admin_client.get(url)
        assert response.status_code == 200
        return len(captured)

    return count


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The default hasher takes a good fraction of a second per user on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
