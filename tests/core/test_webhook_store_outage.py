"""When the inbox cannot store, it says so (503 with Retry-After) before a
sender's usual 5-second timeout, instead of waiting out a locked table."""

from __future__ import annotations

import re
import threading

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from apps.core.models import WebhookEvent
from tests.core.webhook_source import body_for, sign

URL = "/webhooks/testhook/"
ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
UNITS_MS = {"": 1, "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}


def _milliseconds(setting: str) -> int:
    number, unit = re.fullmatch(r"(\d+)\s*([a-z]*)", setting.strip()).groups()
    return int(number) * UNITS_MS[unit]


def _live_setting(sql: str):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.urls("tests.core.urls")
def test_it_answers_503_while_the_inbox_table_is_locked(client, transactional_db):
    lock_timeout = _live_setting("SHOW lock_timeout")
    assert 0 < _milliseconds(lock_timeout) <= 3000, lock_timeout
    parameters = connection.connection.info.get_parameters()
    assert 0 < int(parameters["connect_timeout"]) <= 5
    locked, release = threading.Event(), threading.Event()
    db = connection.settings_dict

    def hold_the_table():
        with psycopg.connect(dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"],
                             host=db["HOST"], port=db["PORT"] or None) as other:
            other.execute("LOCK TABLE core_webhookevent IN ACCESS EXCLUSIVE MODE")
            locked.set()
            # Bounded, so that a store waiting forever fails the test, not the run.
            release.wait(timeout=10)
            other.rollback()

    holder = threading.Thread(target=hold_the_table)
    holder.start()
    try:
        assert locked.wait(timeout=5)
        body = body_for("evt-locked")
        response = client.post(URL, data=body, content_type="application/json",
                               headers={"X-Testhook-Signature": sign(body)})
    finally:
        release.set()
        holder.join()

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "service_unavailable"
    assert not WebhookEvent.objects.exists()


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite's busy timeout")
@pytest.mark.django_db
def test_it_waits_at_most_3_seconds_for_a_locked_sqlite_database():
    busy_timeout = _live_setting("PRAGMA busy_timeout")

    assert 0 < busy_timeout <= 3000
