"""Two workers refreshing one rotating refresh token at once: one refresh, both served.

The stub spends a refresh token when it is used (as Zoom does), so a second
refresh with the same one would be refused with `invalid_grant` and put the
connection in error. Each worker is a thread with its own database connection.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection as db
from django.db import connections

from apps.core.models import Connection
from apps.core.oauth import oauth_access_token
from tests.core.oauth_stub import OAuthConnectionFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _waiting_for_a_lock() -> bool:
    with db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                       "AND datname = current_database()")
        return cursor.fetchone()[0] > 0


def _worker(connection_id: int, results: dict, name: str, session_lock_timeout: str) -> None:
    try:
        with db.cursor() as cursor:
            # A database lock timeout far shorter than the refresh it waits for:
            # the wait must come from the refresh's own, longer one.
            cursor.execute("SELECT set_config('lock_timeout', %s, false)",
                           [session_lock_timeout])
        results[name] = oauth_access_token(connection=Connection.objects.get(pk=connection_id))
    except Exception as exc:
        results[name] = exc
    finally:
        connections.close_all()


def test_it_refreshes_once_for_two_workers(oauth_stub, transactional_db):
    oauth_stub.give_refresh_token("r0")
    connection = OAuthConnectionFactory(tokens__access="a0", tokens__refresh="r0",
                                        tokens__expires_in=timedelta(seconds=-1))
    version = connection.credentials_version
    oauth_stub.hold_refresh = True
    results: dict[str, object] = {}
    first = threading.Thread(target=_worker, args=(connection.pk, results, "first", "100ms"))
    first.start()
    assert oauth_stub.refresh_arrived.wait(10), results
    second = threading.Thread(target=_worker, args=(connection.pk, results, "second", "100ms"))
    second.start()
    for _ in range(200):
        if _waiting_for_a_lock():
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the second worker never waited for the lock: {results}")
    # Several of the session's lock timeouts pass while the refresh is held.
    time.sleep(0.5)
    oauth_stub.release.set()
    first.join(30)
    second.join(30)

    connection.refresh_from_db()
    credentials = connection.credentials()
    assert results == {"first": credentials.access_token, "second": credentials.access_token}
    assert credentials.access_token != "a0"
    assert len(oauth_stub.refreshes()) == 1
    assert credentials.refresh_token in oauth_stub.refresh_tokens
    assert connection.status == Connection.Status.CONNECTED
    assert connection.credentials_version == version + 1
    # And the connection keeps working: the rotated refresh token is the good one.
    connection.token_expires_at = connection.updated_at - timedelta(seconds=1)
    connection.save(update_fields=["token_expires_at"])
    oauth_stub.hold_refresh = False
    assert oauth_access_token(connection=connection) not in (credentials.access_token, "a0")
