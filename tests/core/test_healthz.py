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
