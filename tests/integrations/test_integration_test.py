"""Testing an integration: the provider asked now and timed, the permissions as
granted, the rate limits as its headers last said, and what to do."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from apps.core.connections import client_cache_clear, connection_create
from apps.core.models import Connection, Credentials
from apps.integrations import connect
from apps.integrations.connect import integration_test, rate_limits_from_headers
from apps.integrations.models import ORGANIZATION_TENANT, Integration, Organization
from apps.integrations.providers import client_credentials

pytestmark = pytest.mark.django_db

GOOGLE_AUTH = "https://www.googleapis.com/auth/"
GOOGLE_ALL = [GOOGLE_AUTH + "calendar.readonly", GOOGLE_AUTH + "calendar.events"]
USERINFO = "https://google.test/userinfo"
ZOOM_ME = "https://zoom.test/v2/users/me"
ZOOM_TOKEN = "https://zoom.test/oauth/token"
SLACK_AUTH_TEST = "https://slack.test/api/auth.test"


@pytest.fixture
def apis(settings):
    settings.GOOGLE_USERINFO_URL = USERINFO
    settings.GOOGLE_API_URL = "https://google.test/calendar/v3"
    settings.ZOOM_API_URL = "https://zoom.test/v2"
    settings.ZOOM_TOKEN_URL = ZOOM_TOKEN
    settings.SLACK_API_URL = "https://slack.test/api"
    client_cache_clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield mocked
    client_cache_clear()


def _integration(provider: str, scopes: list[str], *,
                 status: str = Connection.Status.CONNECTED) -> Integration:
    organization = Organization.objects.create(name="TechCorp", slug=f"techcorp-{provider}")
    client_id, client_secret = client_credentials(provider)
    connection = connection_create(
        platform=provider, name="TechCorp", tenant_type=ORGANIZATION_TENANT,
        tenant_id=str(organization.pk),
        credentials=Credentials(client_id=client_id, client_secret=client_secret,
                                access_token="access-1", refresh_token="refresh-1"))
    connection.granted_scopes = scopes
    connection.status = status
    connection.token_expires_at = timezone.now() + timedelta(days=1)
    connection.save(update_fields=["granted_scopes", "status", "token_expires_at"])
    return Integration.objects.create(organization=organization, connection=connection,
                                      provider=provider, type="calendar", name=provider)


def test_it_reports_a_healthy_google_calendar(apis):
    apis.get(USERINFO, json={"sub": "1", "email": "marie@gmail.com", "name": "Marie"})
    integration = _integration("google", GOOGLE_ALL)

    result = integration_test(integration=integration)

    assert result.connection_status == "healthy"
    assert isinstance(result.response_time_ms, int) and result.response_time_ms >= 0
    assert result.permissions == {"read_calendar": True, "write_calendar": True,
                                  "manage_events": True}
    # Google sends no rate-limit headers: nothing is made up.
    assert result.api_limits is None
    assert result.last_error is None
    assert result.recommendations == ["Connection is healthy",
                                      "All required permissions are granted"]
    assert apis.calls[0].request.headers["Authorization"] == "Bearer access-1"
    integration.refresh_from_db()
    assert integration.last_activity_at is not None


def test_it_says_which_permissions_are_missing(apis):
    apis.get(USERINFO, json={"sub": "1", "email": "marie@gmail.com"})
    result = integration_test(integration=_integration("google", GOOGLE_ALL[:1]))

    assert result.connection_status == "degraded"
    assert result.permissions == {"read_calendar": True, "write_calendar": False,
                                  "manage_events": False}
    assert result.recommendations == [
        "Connect again and grant: write to the calendar, manage events."]


def test_it_reads_zooms_rate_limit_headers_as_last_seen(apis):
    apis.get(ZOOM_ME, json={"id": "u1", "email": "marie@techcorp.com"},
             headers={"X-RateLimit-Category": "Light", "X-RateLimit-Type": "Daily-limit",
                      "X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "4"})
    integration = _integration("zoom", ["meeting:write:meeting", "meeting:read:meeting"])

    result = integration_test(integration=integration)

    assert result.api_limits["limit"] == 100 and result.api_limits["remaining"] == 4
    assert result.api_limits["window"] == "Daily-limit"
    assert result.connection_status == "degraded"
    assert "Only 4 of 100 requests were left" in result.recommendations[0]


def test_it_calls_a_slow_answer_degraded(apis, monkeypatch):
    monkeypatch.setattr(connect, "SLOW_RESPONSE_MS", -1)
    apis.get(ZOOM_ME, json={"id": "u1"})
    result = integration_test(integration=_integration(
        "zoom", ["meeting:write:meeting", "meeting:read:meeting"]))
    assert result.connection_status == "degraded"
    assert result.recommendations[0].startswith("The provider answered slowly")


def test_a_token_the_provider_refuses_even_fresh_is_an_error(apis):
    apis.get(ZOOM_ME, status=401, json={"code": 124, "message": "Invalid access token."})
    # The refused token is replaced once (a rotated refresh token), then refused again.
    apis.post(ZOOM_TOKEN, json={"access_token": "access-2", "refresh_token": "refresh-2",
                                "token_type": "bearer", "expires_in": 3599})
    integration = _integration("zoom", ["meeting:read:meeting"])

    result = integration_test(integration=integration)

    assert result.connection_status == "error"
    assert "Invalid access token." in result.last_error
    assert [call.request.url for call in apis.calls] == [ZOOM_ME, ZOOM_TOKEN, ZOOM_ME]
    assert Connection.objects.get(pk=integration.connection_id).status == "error"


def test_a_revoked_slack_token_is_an_error_though_slack_answers_200(apis):
    apis.post(SLACK_AUTH_TEST, json={"ok": False, "error": "token_revoked"})
    integration = _integration("slack", ["chat:write", "channels:read"])

    result = integration_test(integration=integration)

    assert result.connection_status == "error"
    connection = Connection.objects.get(pk=integration.connection_id)
    assert connection.status == Connection.Status.ERROR
    assert "token_revoked" in connection.status_reason


def test_a_disconnected_integration_is_not_asked(apis):
    integration = _integration("google", GOOGLE_ALL, status=Connection.Status.DISCONNECTED)
    result = integration_test(integration=integration)
    assert (result.connection_status, result.response_time_ms) == ("error", None)
    assert len(apis.calls) == 0


def test_it_reads_the_reset_of_a_daily_limit_and_of_the_draft_headers():
    seen = timezone.now()
    daily = rate_limits_from_headers({"Retry-After": "2026-12-03T00:00:00Z",
                                      "X-RateLimit-Type": "Daily-limit"}, seen_at=seen)
    assert daily["reset_at"].isoformat() == "2026-12-03T00:00:00+00:00"
    draft = rate_limits_from_headers({"RateLimit-Limit": "10000, 10000;w=600",
                                      "RateLimit-Remaining": "9850", "RateLimit-Reset": "60"},
                                     seen_at=seen)
    assert (draft["limit"], draft["remaining"]) == (10000, 9850)
    assert draft["reset_at"] == seen + timedelta(seconds=60)
    assert rate_limits_from_headers({"Content-Type": "application/json"}, seen_at=seen) is None
