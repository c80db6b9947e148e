"""Secrets and personal data never reach the audit log in clear.

Each test makes real client calls (HTTP mocked) carrying the secrets in
every place a request or response can hold them, then looks for them in
every column of every SyncLog row.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.forms.models import model_to_dict

from apps.core.audit import LogContext
from apps.core.auth import ApiKeyAuth, ClientCredentialsAuth, JwtAssertionAuth
from apps.core.breaker import BreakerPolicy
from apps.core.http import PermanentError, Platform, PlatformClient, RetryPolicy, TransientError
from apps.core.models import SyncLog

pytestmark = pytest.mark.django_db

BASE = "https://acme.test/api"
TOKEN_URL = "https://acme.test/oauth/token"
PLATFORM = Platform(name="acme", base_url=BASE, retry=RetryPolicy(max_attempts=2),
                    breaker=BreakerPolicy(failure_threshold=1000))

SSIN = "85073003328"
CLIENT_SECRET = "cs-Very-Secret-Client-Value"
ACCESS_TOKEN = "at-Plaintext-Access-Token-0123456789"
REFRESH_TOKEN = "rt-Plaintext-Refresh-Token-9876543210"
API_KEY = "ak-Plaintext-Api-Key-42424242"
PASSWORD = "pw-Plaintext-Password-777"
EMAIL = "jane.doe@example.test"


def _everything_logged() -> str:
    rows = [model_to_dict(row) for row in SyncLog.objects.all()]
    assert rows, "nothing was logged"
    return json.dumps(rows, default=str, ensure_ascii=False)


def _assert_absent(logged: str, *secrets: str) -> None:
    for secret in secrets:
        for form in {secret, quote(secret, safe=""), json.dumps(secret)[1:-1]}:
            assert form not in logged, f"{secret!r} reached SyncLog"


@pytest.fixture
def client():
    auth = ClientCredentialsAuth(client_id="hub", client_secret=CLIENT_SECRET,
                                 cache_key="acme", token_url=TOKEN_URL)
    return PlatformClient(PLATFORM, auth=auth, sleep=lambda seconds: None)


@responses.activate
def test_it_masks_credentials_and_personal_data_in_json_exchanges(client):
    responses.post(TOKEN_URL, json={"access_token": ACCESS_TOKEN, "refresh_token": REFRESH_TOKEN,
                                    "expires_in": 600})
    responses.post(f"{BASE}/workers/{SSIN}", status=201,
                   json={"worker": {"ssin": SSIN, "id": 7}, "apiKey": API_KEY},
                   headers={"Set-Cookie": f"session={ACCESS_TOKEN}"})

    client.post(f"/workers/{SSIN}",
                json={"worker": {"ssin": SSIN, "email": EMAIL, "password": PASSWORD},
                      "client_secret": CLIENT_SECRET},
                log=LogContext(action="worker.create", entity_type="worker", entity_id=SSIN,
                               secrets=(SSIN, EMAIL)))

    logged = _everything_logged()
    _assert_absent(logged, SSIN, CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN, API_KEY, PASSWORD,
                   EMAIL)
    assert SyncLog.objects.count() == 2  # the token request and the call
    assert "client_id=hub" in SyncLog.objects.get(action="auth.token").request_body


@responses.activate
def test_it_masks_the_signed_client_assertion_of_a_token_request():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    auth = JwtAssertionAuth(client_id="hub", private_key_pem=pem, cache_key="acme-jwt",
                            token_url=TOKEN_URL)
    client = PlatformClient(PLATFORM, auth=auth, sleep=lambda seconds: None)
    sent_forms: list[str] = []

    def token_endpoint(request):
        sent_forms.append(request.body)
        return 200, {}, json.dumps({"access_token": ACCESS_TOKEN, "expires_in": 600})

    responses.add_callback(responses.POST, TOKEN_URL, callback=token_endpoint)
    responses.get(f"{BASE}/things", json={"ok": True})

    client.get("/things", log=LogContext(action="thing.list"))

    assertion = dict(pair.split("=", 1) for pair in sent_forms[0].split("&"))["client_assertion"]
    logged = _everything_logged()
    _assert_absent(logged, assertion, assertion.split(".")[1], assertion.split(".")[2],
                   ACCESS_TOKEN)


@responses.activate
def test_it_masks_secrets_in_query_strings_urls_and_errors(client):
    responses.post(TOKEN_URL, json={"access_token": ACCESS_TOKEN, "expires_in": 600})
    responses.get(f"{BASE}/workers/{SSIN}", status=422,
                  json={"error": {"code": "invalid", "message": f"Unknown worker {SSIN}"}})
    responses.get(f"{BASE}/search", body=requests.ConnectionError(
        f"Connection reset while reading {BASE}/search?ssin={SSIN}&api_key={API_KEY}"))

    with pytest.raises(PermanentError):
        client.get(f"/workers/{SSIN}", params={"access_token": ACCESS_TOKEN},
                   log=LogContext(action="worker.read", entity_id=SSIN, secrets=(SSIN,)))
    with pytest.raises(TransientError):
        client.get("/search", params={"ssin": SSIN, "api_key": API_KEY},
                   log=LogContext(action="worker.search"))

    logged = _everything_logged()
    _assert_absent(logged, SSIN, ACCESS_TOKEN, API_KEY)
    search = SyncLog.objects.filter(action="worker.search").first()
    assert search.url.startswith(f"{BASE}/search?ssin=")


@responses.activate
def test_it_masks_api_key_headers_and_form_bodies():
    client = PlatformClient(PLATFORM, auth=ApiKeyAuth(API_KEY, header="X-Api-Key"),
                            sleep=lambda seconds: None)
    responses.post(f"{BASE}/login", json={"token": ACCESS_TOKEN, "user": "hub"})

    client.post("/login", data={"username": "hub", "password": PASSWORD,
                                "client_assertion": REFRESH_TOKEN},
                headers={"Authorization": f"Basic {CLIENT_SECRET}"},
                log=LogContext(action="login"))

    logged = _everything_logged()
    _assert_absent(logged, API_KEY, PASSWORD, REFRESH_TOKEN, CLIENT_SECRET, ACCESS_TOKEN)
    assert "username=hub" in SyncLog.objects.get().request_body


@responses.activate
def test_it_masks_an_api_key_whatever_its_header_is_called():
    auth = ApiKeyAuth(API_KEY, header="Ocp-Apim-Subscription-Key")
    client = PlatformClient(PLATFORM, auth=auth, sleep=lambda seconds: None)
    responses.get(f"{BASE}/things", json={"ok": True})

    client.get("/things", log=LogContext(action="thing.list"))

    _assert_absent(_everything_logged(), API_KEY)
    assert "Ocp-Apim-Subscription-Key" in SyncLog.objects.get().request_headers


@responses.activate
def test_it_keeps_the_headers_of_an_error_response_redacted(client):
    responses.post(TOKEN_URL, json={"access_token": ACCESS_TOKEN, "expires_in": 600})
    responses.get(f"{BASE}/things", status=404, json={"error": {"code": "not_found"}},
                  headers={"X-Request-ID": "remote-1", "Set-Cookie": f"s={ACCESS_TOKEN}"})

    with pytest.raises(PermanentError):
        client.get("/things", log=LogContext(action="thing.read"))

    row = SyncLog.objects.get(action="thing.read")
    assert row.response_headers["X-Request-ID"] == "remote-1"
    assert row.remote_request_id == "remote-1"
    _assert_absent(_everything_logged(), ACCESS_TOKEN)
