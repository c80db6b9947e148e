"""Endpoints that take a secret count every attempt per address, refused ones included."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from apps.core.api.throttling import AddressRateThrottle

pytestmark = pytest.mark.django_db


def _rate(monkeypatch, scope: str, rate: str) -> None:
    # DRF copies the rates onto the throttle class when it is imported.
    monkeypatch.setitem(AddressRateThrottle.THROTTLE_RATES, scope, rate)


def test_it_throttles_wrong_cron_secrets(settings, monkeypatch):
    settings.CRON_SECRET = "the-real-cron-secret"
    _rate(monkeypatch, "cron", "3/minute")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer a-guess")

    statuses = [client.post("/api/dimona/cron/").status_code for _ in range(5)]

    assert statuses == [401, 401, 401, 429, 429]
    client.credentials(HTTP_AUTHORIZATION="Bearer the-real-cron-secret")
    refused = client.post("/api/dimona/cron/")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0


def test_it_lets_the_right_cron_secret_through_once_per_attempt(settings):
    settings.CRON_SECRET = "the-real-cron-secret"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer the-real-cron-secret")

    response = client.post("/api/dimona/cron/")

    assert response.status_code == 200
    # Counted once, not once before and once after authentication.
    assert len(caches["throttle"].get("throttle_cron_127.0.0.1")) == 1


def test_it_throttles_token_requests_per_address(monkeypatch):
    _rate(monkeypatch, "auth", "2/minute")
    client = APIClient()
    payload = {"username": "nobody", "password": "wrong"}

    statuses = [client.post("/api/auth/token/", payload, format="json").status_code
                for _ in range(3)]

    assert statuses == [400, 400, 429]


def test_it_keeps_throttle_counts_in_the_database_without_redis():
    """Each gunicorn process has its own memory: without Redis the counts go to the database."""
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    program = ("import django, json; django.setup(); from django.conf import settings; "
               "print(json.dumps(settings.CACHES['throttle']))")
    out = subprocess.run([sys.executable, "-c", program], env={  # noqa: S603 - our own code
        **env, "DJANGO_SETTINGS_MODULE": "config.settings", "REDIS_URL": ""},
        capture_output=True, text=True, check=True, timeout=60)

    assert json.loads(out.stdout)["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
