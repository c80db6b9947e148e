"""POST :provider/connect and :provider/callback, DELETE :id and POST :id/test: thin
views over the connect services, answering the seed's shapes and codes.

The services are replaced where a test is about the view (what it passes, how it
shapes the answer and the provider's failures); connect is also run for real,
as far as it goes without a provider (the authorization URL and its state)."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core.errors import ServiceError
from apps.core.http import ErrorInfo, PermanentError, TransientError
from apps.core.models import OAuthState
from apps.integrations import connect
from apps.integrations.models import Integration
from tests.integrations.factories import OrganizationFactory, make_integration, member

pytestmark = pytest.mark.django_db

REDIRECT = "https://app.attendance-x.com/integrations/callback"


@pytest.fixture
def acme():
    return OrganizationFactory(name="Acme")


@pytest.fixture
def manager(acme):
    return member(organization=acme, username="marie")


@pytest.fixture
def api(manager) -> APIClient:
    client = APIClient()
    client.force_authenticate(manager)
    return client


def test_it_starts_a_google_connection_with_an_authorization_url_and_state(api, acme,
                                                                           settings):
    response = api.post("/api/integrations/google/connect", {
        "scopes": ["calendar.read", "calendar.write", "events.manage"],
        "settings": {"syncDirection": "bidirectional", "autoSync": True, "syncInterval": 300},
        "redirectUri": REDIRECT}, format="json")

    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert data["provider"] == "google"
    assert data["scopes"] == ["calendar.read", "calendar.write", "events.manage"]
    url = urlsplit(data["authUrl"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == settings.GOOGLE_AUTH_URL
    query = parse_qs(url.query)
    assert query["state"] == [data["state"]]
    assert query["redirect_uri"] == [REDIRECT]
    assert query["code_challenge_method"] == ["S256"]
    assert OAuthState.objects.count() == 1
    integration = Integration.objects.get(organization=acme, provider="google")
    assert integration.settings == {"syncDirection": "bidirectional", "autoSync": True,
                                    "syncInterval": 300}


def test_it_passes_the_request_to_connect_start(api, acme, manager, monkeypatch):
    calls = []
    expires = timezone.now() + timedelta(minutes=10)

    def connect_start(**kwargs):
        calls.append(kwargs)
        return connect.ConnectStart(auth_url="https://slack.test/oauth", state="s-1",
                                    expires_at=expires, provider="slack",
                                    scopes=["messages.write"])

    monkeypatch.setattr(connect, "connect_start", connect_start)

    response = api.post("/api/integrations/slack/connect",
                        {"scopes": ["messages.write"], "redirectUri": REDIRECT}, format="json")

    assert response.status_code == 200
    assert calls == [{"organization": acme, "provider": "slack", "user": manager,
                      "scopes": ["messages.write"], "settings": None,
                      "redirect_uri": REDIRECT}]
    body = response.json()
    # Times carry their offset (the reader's zone); the instant is the service's.
    assert datetime.fromisoformat(body["data"].pop("expiresAt")) == expires
    assert body == {"success": True, "data": {
        "authUrl": "https://slack.test/oauth", "state": "s-1", "provider": "slack",
        "scopes": ["messages.write"]}}


def test_it_answers_provider_not_supported_for_an_unknown_provider(api):
    connect_answer = api.post("/api/integrations/dropbox/connect", {"redirectUri": REDIRECT},
                              format="json")
    callback_answer = api.post("/api/integrations/dropbox/callback",
                               {"code": "c", "state": "s"}, format="json")

    for answer in (connect_answer, callback_answer):
        assert answer.status_code == 400
        assert answer.json()["success"] is False
        assert answer.json()["error"]["code"] == "PROVIDER_NOT_SUPPORTED"


def test_it_refuses_a_bad_scope_or_setting_naming_the_field(api):
    scope = api.post("/api/integrations/google/connect",
                     {"scopes": ["calendar.delete"], "redirectUri": REDIRECT}, format="json")
    setting = api.post("/api/integrations/google/connect",
                       {"settings": {"syncInterval": "300"}, "redirectUri": REDIRECT},
                       format="json")

    assert scope.status_code == 400
    assert "scopes" in scope.json()["error"]["details"]
    assert setting.status_code == 400
    assert "syncInterval" in str(setting.json()["error"]["details"])
    assert not Integration.objects.exists()
    assert not OAuthState.objects.exists()


def test_it_answers_oauth_error_for_a_tampered_state(api):
    response = api.post("/api/integrations/google/callback",
                        {"code": "4/0Ab", "state": "never-issued"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "OAUTH_ERROR"


def test_it_shapes_the_callbacks_result_as_the_seed(api, acme, manager, monkeypatch):
    integration = make_integration(organization=acme, provider="google",
                                   permissions=["read_calendar", "write_calendar"])
    calls = []

    def connect_finish(**kwargs):
        calls.append(kwargs)
        return connect.ConnectResult(
            integration=integration,
            user_info={"email": "marie.dubois@gmail.com", "name": "Marie Dubois",
                       "avatar": "https://lh3.googleusercontent.com/a"},
            permissions=["read_calendar", "write_calendar"], initial_sync=None)

    monkeypatch.setattr(connect, "connect_finish", connect_finish)

    response = api.post("/api/integrations/google/callback",
                        {"code": "4/0Ab", "state": "s-1"}, format="json")

    assert response.status_code == 200
    assert calls == [{"organization": acme, "provider": "google", "user": manager,
                      "code": "4/0Ab", "state": "s-1"}]
    data = response.json()["data"]
    assert (data["integrationId"], data["provider"], data["status"]) == (
        integration.pk, "google", "connected")
    assert data["permissions"] == ["read_calendar", "write_calendar"]
    assert data["userInfo"]["email"] == "marie.dubois@gmail.com"
    assert data["initialSync"] is None


def test_it_disconnects_with_the_cleanup_that_really_happened(api, acme, manager,
                                                              monkeypatch):
    integration = make_integration(organization=acme, provider="google")
    calls = []

    def integration_disconnect(*, integration, user):
        calls.append((integration.pk, user))
        Integration.objects.filter(pk=integration.pk).update(disconnected_at=timezone.now())
        integration.connection.status = "disconnected"
        integration.connection.save(update_fields=["status"])
        return connect.Cleanup(events_removed=0, webhooks_disabled=0, tokens_revoked=True)

    monkeypatch.setattr(connect, "integration_disconnect", integration_disconnect)

    response = api.delete(f"/api/integrations/{integration.pk}")

    assert response.status_code == 200
    assert calls == [(integration.pk, manager)]
    data = response.json()["data"]
    assert (data["integrationId"], data["status"]) == (integration.pk, "disconnected")
    assert data["disconnectedAt"]
    assert data["cleanupStatus"] == {"eventsRemoved": 0, "webhooksDisabled": 0,
                                     "tokensRevoked": True}


def test_it_shapes_the_test_result_as_the_seed(api, acme, monkeypatch):
    integration = make_integration(organization=acme, provider="zoom")
    reset = timezone.now() + timedelta(hours=3)
    monkeypatch.setattr(connect, "integration_test", lambda *, integration: connect.TestResult(
        connection_status="healthy", response_time_ms=245,
        permissions={"manage_meetings": True, "read_meetings": False},
        api_limits={"limit": 10000, "remaining": 9850, "reset_at": reset, "window": "",
                    "seen_at": timezone.now()},
        last_error=None, recommendations=["Connection is healthy"]))

    response = api.post(f"/api/integrations/{integration.pk}/test")

    assert response.status_code == 200
    data = response.json()["data"]
    assert datetime.fromisoformat(data["apiLimits"].pop("resetAt")) == reset
    assert data == {
        "connectionStatus": "healthy", "responseTime": "245ms",
        "permissions": {"manage_meetings": True, "read_meetings": False},
        "apiLimits": {"remaining": 9850, "dailyLimit": 10000},
        "lastError": None, "recommendations": ["Connection is healthy"]}


@pytest.mark.parametrize("failure, status, code", [
    (TransientError("timeout", platform="zoom"), 503, "CONNECTION_ERROR"),
    (TransientError("503", platform="zoom", status_code=503), 503, "CONNECTION_ERROR"),
    (PermanentError("401", platform="zoom", status_code=401,
                    error=ErrorInfo(code="124", message="Invalid access token.")), 502,
     "INVALID_CREDENTIALS"),
    (TransientError("429", platform="zoom", status_code=429, retry_after=30), 503,
     "API_QUOTA_EXCEEDED"),
    (PermanentError("403", platform="google", status_code=403,
                    error=ErrorInfo(code="quotaExceeded", message="Quota exceeded")), 503,
     "API_QUOTA_EXCEEDED"),
])
def test_it_names_the_providers_failure_with_the_seeds_code(api, acme, monkeypatch, failure,
                                                            status, code):
    integration = make_integration(organization=acme, provider="zoom")

    def integration_test(*, integration):
        raise failure

    monkeypatch.setattr(connect, "integration_test", integration_test)

    response = api.post(f"/api/integrations/{integration.pk}/test")

    assert response.status_code == status
    assert response.json()["success"] is False
    assert response.json()["error"]["code"] == code


def test_it_passes_a_services_own_code_through(api, acme, monkeypatch):
    integration = make_integration(organization=acme, provider="google")

    def integration_test(*, integration):
        raise ServiceError("SYNC_FAILED", "The last sync failed.", status=409)

    monkeypatch.setattr(connect, "integration_test", integration_test)

    response = api.post(f"/api/integrations/{integration.pk}/test")

    assert (response.status_code, response.json()["error"]["code"]) == (409, "SYNC_FAILED")


def test_it_refuses_a_body_sent_to_the_test(api, acme, monkeypatch):
    integration = make_integration(organization=acme, provider="google")

    response = api.post(f"/api/integrations/{integration.pk}/test", {"deep": True},
                        format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_field"


def test_it_answers_integration_not_found_to_the_test_of_another_organisations(api):
    theirs = make_integration(organization=OrganizationFactory(), provider="google")

    response = api.post(f"/api/integrations/{theirs.pk}/test")

    assert (response.status_code, response.json()["error"]["code"]) == (
        404, "INTEGRATION_NOT_FOUND")
