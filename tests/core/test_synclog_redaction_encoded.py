"""Secrets stay masked in SyncLog once URL-encoded, after an existing query, in header URLs."""

from __future__ import annotations

import json

import pytest
import responses
from django.forms.models import model_to_dict

from apps.core.audit import LogContext
from apps.core.breaker import BreakerPolicy
from apps.core.http import Platform, PlatformClient, RetryPolicy
from apps.core.models import SyncLog

pytestmark = pytest.mark.django_db

BASE = "https://acme.test/api"
PLATFORM = Platform(name="acme", base_url=BASE, retry=RetryPolicy(max_attempts=1),
                    breaker=BreakerPolicy(failure_threshold=1000))
EMAIL = "jane.doe@example.test"
NAME = "Jane Doe"
ACCESS_TOKEN = "at-Plaintext-Access-Token-0123456789"


def _logged() -> str:
    rows = [model_to_dict(row) for row in SyncLog.objects.all()]
    assert rows
    return json.dumps(rows, default=str, ensure_ascii=False)


def _client() -> PlatformClient:
    return PlatformClient(PLATFORM, sleep=lambda s: None)


@responses.activate
def test_a_declared_secret_in_query_params_is_scrubbed():
    responses.get(f"{BASE}/workers", json={"items": []})
    _client().get("/workers", params={"email": EMAIL},
                  log=LogContext(action="worker.search", secrets=(EMAIL,)))
    url = SyncLog.objects.get().url
    assert "jane.doe%40example.test" not in url, url


@responses.activate
def test_a_declared_secret_in_a_form_body_is_scrubbed():
    responses.post(f"{BASE}/workers", json={"ok": True})
    _client().post("/workers", data={"email": EMAIL, "name": NAME},
                   log=LogContext(action="worker.create", secrets=(EMAIL, NAME)))
    body = SyncLog.objects.get().request_body
    assert "jane.doe%40example.test" not in body and "Jane+Doe" not in body, body


@responses.activate
def test_a_token_param_is_masked_when_the_path_already_has_a_query():
    responses.get(f"{BASE}/things", json={"ok": True})
    _client().get("/things?page=2", params={"access_token": ACCESS_TOKEN},
                  log=LogContext(action="thing.list"))
    url = SyncLog.objects.get().url
    assert ACCESS_TOKEN not in url, url


@responses.activate
def test_a_token_in_a_response_header_url_is_masked():
    responses.get(f"{BASE}/things", json={"items": []},
                  headers={"Link": f'<{BASE}/things?page=2&access_token={ACCESS_TOKEN}>; '
                                   'rel="next"'})
    _client().get("/things", log=LogContext(action="thing.list"))
    assert ACCESS_TOKEN not in _logged()
