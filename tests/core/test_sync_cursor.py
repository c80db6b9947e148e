"""Cursors: where each stream's last sync stopped; reset means a full resync next time."""

from __future__ import annotations

import pytest

from apps.core.models import Connection, SyncCursor
from apps.core.sync import cursor_get, cursor_reset, cursor_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection():
    return Connection.objects.create(platform="google", name="Calendar of the Lyon office")


def test_it_starts_with_a_full_resync(connection):
    assert cursor_get(connection=connection, stream="events") == ""


def test_it_gives_back_the_last_position_per_stream(connection):
    cursor_set(connection=connection, stream="events", value="sync-token-1")
    cursor_set(connection=connection, stream="events", value="sync-token-2")
    cursor_set(connection=connection, stream="calendars", value="2026-03-01T10:00:00Z")

    assert cursor_get(connection=connection, stream="events") == "sync-token-2"
    assert cursor_get(connection=connection, stream="calendars") == "2026-03-01T10:00:00Z"
    assert SyncCursor.objects.count() == 2


def test_it_keeps_cursors_apart_per_connection(connection):
    other = Connection.objects.create(platform="google", name="Calendar of Nice")
    cursor_set(connection=connection, stream="events", value="lyon-token")

    assert cursor_get(connection=other, stream="events") == ""


def test_it_makes_the_next_run_a_full_resync_after_a_reset(connection):
    cursor_set(connection=connection, stream="events", value="sync-token-1")
    cursor_set(connection=connection, stream="calendars", value="cal-token")

    reset = cursor_reset(connection=connection, stream="events")

    assert reset == 1
    assert cursor_get(connection=connection, stream="events") == ""
    assert cursor_get(connection=connection, stream="calendars") == "cal-token"


def test_it_resets_every_stream_of_a_connection(connection):
    cursor_set(connection=connection, stream="events", value="a")
    cursor_set(connection=connection, stream="calendars", value="b")

    assert cursor_reset(connection=connection) == 2
    assert {cursor_get(connection=connection, stream=s) for s in ("events", "calendars")} == {""}


def test_it_keeps_a_reset_made_while_a_run_was_going(connection):
    cursor_set(connection=connection, stream="events", value="token-1")
    started_from = cursor_get(connection=connection, stream="events")
    cursor_reset(connection=connection, stream="events")  # a manager, during the run

    stored = cursor_set(connection=connection, stream="events", value="token-2",
                        expected=started_from)

    assert stored is False
    assert cursor_get(connection=connection, stream="events") == ""


def test_it_stores_the_first_position_of_a_run_that_started_from_nothing(connection):
    stored = cursor_set(connection=connection, stream="events", value="token-1", expected="")

    assert stored is True
    assert cursor_get(connection=connection, stream="events") == "token-1"


def test_it_stores_a_position_moved_on_from_the_expected_one(connection):
    cursor_set(connection=connection, stream="events", value="token-1")

    assert cursor_set(connection=connection, stream="events", value="token-2",
                      expected="token-1") is True
    assert cursor_get(connection=connection, stream="events") == "token-2"
