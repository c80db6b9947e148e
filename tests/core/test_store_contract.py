"""Every shared store keeps the same promises: LocalStore (one process's memory),
DatabaseStore (the database, without Redis) and RedisStore (with REDIS_URL).

The local and database stores run on the test's clock; Redis keeps its own
time, so on Redis "later" is a real (short) sleep. The database store's tests
are transactional: on PostgreSQL a store operation inside the test's
transaction commits on a connection of its own, which a rollback would not undo.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.conf import settings

from apps.core.store import DatabaseStore, LocalStore, RedisStore, SharedStore


@dataclass
class StoreUnderTest:
    store: SharedStore
    later: Callable[[float], None]


@pytest.fixture(params=[
    "local",
    pytest.param("database", marks=pytest.mark.django_db(transaction=True)),
    pytest.param("redis", marks=pytest.mark.redis),
])
def subject(request, clock) -> StoreUnderTest:
    if request.param == "local":
        return StoreUnderTest(LocalStore(clock=clock), clock.advance)
    if request.param == "database":
        return StoreUnderTest(DatabaseStore(clock=clock), clock.advance)
    return StoreUnderTest(RedisStore(settings.REDIS_URL), time.sleep)


def test_it_gets_what_was_set_and_none_for_a_missing_key(subject):
    store = subject.store
    assert store.get("missing") is None

    store.set("colour", "blue")
    store.set("colour", "green")

    assert store.get("colour") == "green"


def test_it_forgets_a_value_after_its_ttl(subject):
    store = subject.store
    store.set("token", "abc", ttl=0.5)
    store.set("forever", "x")
    assert store.get("token") == "abc"

    subject.later(0.6)

    assert store.get("token") is None
    assert store.get("forever") == "x"


def test_it_adds_only_when_the_key_is_absent_or_expired(subject):
    store = subject.store
    assert store.add("lock", "first", ttl=0.5) is True
    assert store.add("lock", "second", ttl=0.5) is False
    assert store.get("lock") == "first"

    subject.later(0.6)

    assert store.add("lock", "third", ttl=0.5) is True
    assert store.get("lock") == "third"


def test_it_deletes_a_lock_only_for_its_owner(subject):
    store = subject.store
    store.add("lock", "owner", ttl=30)

    store.delete("lock", only_if="someone-else")
    assert store.get("lock") == "owner"

    store.delete("lock", only_if="owner")
    assert store.get("lock") is None
    store.set("plain", "x")
    store.delete("plain")
    assert store.get("plain") is None


def test_it_counts_and_starts_again_after_the_ttl(subject):
    store = subject.store
    assert [store.incr("failures", ttl=0.5) for _ in range(3)] == [1, 2, 3]
    assert store.get("failures") == "3"

    subject.later(0.6)

    assert store.incr("failures", ttl=0.5) == 1


def test_it_merges_hash_fields_and_deletes_the_hash(subject):
    store = subject.store
    assert store.hash_get("breaker") == {}

    store.hash_set("breaker", {"state": "open", "opened_at": "12.5"})
    store.hash_set("breaker", {"state": "closed"})

    assert store.hash_get("breaker") == {"state": "closed", "opened_at": "12.5"}
    store.delete("breaker")
    assert store.hash_get("breaker") == {}


def test_it_admits_up_to_the_limit_in_a_sliding_window(subject):
    store = subject.store
    window = [("calls", 2, 1.0)]
    assert store.sliding_window_acquire(window) == 0
    subject.later(0.5)
    assert store.sliding_window_acquire(window) == 0

    wait = store.sliding_window_acquire(window)

    # The first call leaves the window one second after it was made.
    assert 0.3 < wait <= 0.5
    subject.later(wait + 0.05)
    assert store.sliding_window_acquire(window) == 0
    assert store.sliding_window_acquire(window) > 0


def test_it_records_a_call_in_every_window_or_in_none(subject):
    store = subject.store
    minute, day = ("per-minute", 1, 60.0), ("per-day", 3, 86_400.0)
    assert store.sliding_window_acquire([minute, day]) == 0

    # Refused by the minute window: the day window must not count it.
    wait = store.sliding_window_acquire([minute, day])
    assert 59 < wait <= 60

    assert store.sliding_window_acquire([day]) == 0
    assert store.sliding_window_acquire([day]) == 0
    assert store.sliding_window_acquire([day]) > 0


def test_it_answers_the_longest_wait_of_the_full_windows(subject):
    store = subject.store
    short, long = ("short", 1, 10.0), ("long", 1, 100.0)
    store.sliding_window_acquire([short, long])

    assert 99 < store.sliding_window_acquire([long, short]) <= 100


def test_it_keeps_keys_apart(subject):
    store = subject.store
    store.sliding_window_acquire([("a", 1, 60.0)])
    store.set("x", "1")

    assert store.sliding_window_acquire([("b", 1, 60.0)]) == 0
    assert store.get("y") is None
    assert store.add("y", "1", ttl=5) is True


@pytest.mark.parametrize("kind", [
    pytest.param("database", marks=pytest.mark.django_db),
    pytest.param("redis", marks=pytest.mark.redis),
])
def test_it_tells_the_time_of_its_server(kind):
    store = DatabaseStore() if kind == "database" else RedisStore(settings.REDIS_URL)

    assert store.now() == pytest.approx(time.time(), abs=2)
