"""/healthz says whether the database and the broker answer."""

from __future__ import annotations

import pytest

from config.celery import app as celery_app

pytestmark = pytest.mark.django_db


def test_it_is_ok_when_database_and_broker_answer(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_it_answers_503_when_the_broker_is_down(client, monkeypatch):
    def unreachable(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(celery_app, "connection_for_write", unreachable)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unhealthy", "database": "ok",
                               "broker": "error: ConnectionRefusedError"}


def test_it_needs_no_login(client):
    assert client.get("/healthz").status_code == 200


@pytest.fixture
def database_refusing_writes(django_db_blocker):
    """The live connection made read-only, as a locked or read-only database would be."""
    from django.db import connection

    if connection.vendor == "postgresql":
        on, off = ("SET default_transaction_read_only = on",
                   "SET default_transaction_read_only = off")
    else:
        on, off = "PRAGMA query_only = ON", "PRAGMA query_only = OFF"
    with connection.cursor() as cursor:
        cursor.execute(on)
    yield
    with connection.cursor() as cursor:
        cursor.execute(off)


@pytest.mark.django_db(transaction=True)
def test_it_answers_503_when_the_database_refuses_writes(client, database_refusing_writes):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"].startswith("error: ")
    assert response.json()["broker"] == "ok"


def test_it_writes_a_heartbeat_row(client):
    from apps.core.models import Heartbeat

    client.get("/healthz")
    first = Heartbeat.objects.get(name="healthz").beat_at
    client.get("/healthz")

    assert Heartbeat.objects.get(name="healthz").beat_at >= first
    assert Heartbeat.objects.count() == 1
