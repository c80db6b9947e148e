"""A token response never reaches the audit log or its admin page, not even
when a fault cuts it short or it is not JSON at all."""

from __future__ import annotations

import json

import pytest
import responses
from django.forms.models import model_to_dict
from django.urls import reverse

from apps.core.audit import LogContext
from apps.core.auth import ClientCredentialsAuth
from apps.core.breaker import BreakerPolicy
from apps.core.http import Platform, PlatformClient, RetryPolicy, TransientError
from apps.core.models import SyncLog

pytestmark = pytest.mark.django_db

BASE = "https://acme.test/api"
TOKEN_URL = "https://acme.test/oauth/token"
PLATFORM = Platform(name="acme", base_url=BASE, retry=RetryPolicy(max_attempts=1),
                    breaker=BreakerPolicy(failure_threshold=1000))
# A JWT access token as the platform issues it (header.payload.signature).
ACCESS_TOKEN = ("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."
                "eyJzdWIiOiJodWItY2xpZW50Iiwic2NvcGUiOiJhbGwiLCJleHAiOjE3MzAwMDAwMDB9."
                "Q2lwaGVyLXNpZ25hdHVyZS1vZi10aGUtcGxhdGZvcm0tdGhhdC1pc3N1ZWQtaXQ")
# What a fault leaves of it: cut in the middle of the payload.
CUT_TOKEN = ACCESS_TOKEN[:60]


def _client() -> PlatformClient:
    auth = ClientCredentialsAuth(client_id="hub", client_secret="cs-secret-value",
                                 cache_key="acme", token_url=TOKEN_URL)
    return PlatformClient(PLATFORM, auth=auth, sleep=lambda seconds: None)


def _assert_never_shown(text: str, secret: str) -> None:
    # Any 10 characters of it in a row would be a leak; a mask keeps 3.
    for start in range(len(secret) - 9):
        assert secret[start:start + 10] not in text, f"{secret[start:start + 10]!r} is shown"


def _assert_nowhere(admin_client, secret: str) -> None:
    rows = list(SyncLog.objects.all())
    assert rows
    _assert_never_shown(json.dumps([model_to_dict(row) for row in rows], default=str), secret)
    for row in rows:
        page = admin_client.get(reverse("admin:core_synclog_change", args=[row.pk]))
        assert page.status_code == 200
        _assert_never_shown(page.content.decode(), secret)


@responses.activate
def test_it_keeps_a_token_response_cut_short_out_of_the_audit_log(admin_client):
    responses.post(TOKEN_URL, body='{"access_token": "' + CUT_TOKEN,
                   content_type="application/json")

    with pytest.raises(TransientError):
        _client().get("/things", log=LogContext(action="thing.list"))

    _assert_nowhere(admin_client, CUT_TOKEN)
    token_call = SyncLog.objects.get(action="auth.token")
    assert token_call.response_body == (
        f"[auth.token response not stored: {len(CUT_TOKEN) + 18} bytes]")


@responses.activate
def test_it_keeps_a_token_response_that_is_not_json_out_of_the_audit_log(admin_client):
    responses.post(TOKEN_URL, body=f"access_token={ACCESS_TOKEN}&token_type=bearer"
                                   "&expires_in=600", content_type="text/plain")

    with pytest.raises(TransientError):
        _client().get("/things", log=LogContext(action="thing.list"))

    _assert_nowhere(admin_client, ACCESS_TOKEN)


@responses.activate
def test_it_logs_only_the_size_of_a_valid_token_response(admin_client):
    body = json.dumps({"access_token": ACCESS_TOKEN, "expires_in": 600})
    responses.post(TOKEN_URL, body=body, content_type="application/json")
    responses.get(f"{BASE}/things", json={"items": []})

    _client().get("/things", log=LogContext(action="thing.list"))

    _assert_nowhere(admin_client, ACCESS_TOKEN)
    token_call = SyncLog.objects.get(action="auth.token")
    assert token_call.response_body == f"[auth.token response not stored: {len(body)} bytes]"
    assert (token_call.status, token_call.http_status) == (SyncLog.Status.SUCCESS, 200)
    assert "grant_type=client_credentials" in token_call.request_body
