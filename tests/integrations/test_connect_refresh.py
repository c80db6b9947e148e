"""Refreshing each provider's tokens through its registration: two workers
refreshing a rotating refresh token at once send one refresh and both get a
working token; a refresh the provider refuses for good puts the connection in
error with an attention item."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import responses
from django.utils import timezone

from apps.core.connections import BROKEN_KIND, client_cache_clear, connection_create
from apps.core.models import AttentionItem, Connection, Credentials
from apps.core.oauth import oauth_access_token
from apps.integrations.connect import integration_test
from apps.integrations.models import ORGANIZATION_TENANT, Integration, Organization
from apps.integrations.providers import client_credentials
from tests.helpers import a_backend_waits_on_a_lock, in_thread

TOKEN_URLS = {"google": "https://google.test/token", "microsoft": "https://microsoft.test/token",
              "slack": "https://slack.test/token", "zoom": "https://zoom.test/token"}
# Each provider's answer to a refresh, with its rotated refresh token where it rotates.
REFRESHED = {
    "microsoft": {"token_type": "Bearer", "expires_in": 4419, "access_token": "ms-access-2",
                  "refresh_token": "ms-refresh-2",
                  "scope": "https://graph.microsoft.com/Calendars.ReadWrite"},
    "slack": {"ok": True, "access_token": "xoxe.xoxb-access-2", "token_type": "bot",
              "refresh_token": "xoxe-1-refresh-2", "expires_in": 43200,
              "scope": "chat:write,channels:read", "team": {"id": "T1", "name": "TechCorp"}},
    "zoom": {"access_token": "zoom-access-2", "token_type": "bearer",
             "refresh_token": "zoom-refresh-2", "expires_in": 3599,
             "scope": "meeting:write:meeting meeting:read:meeting"},
}
# Each provider's refusal of a spent or revoked refresh token: (status, body).
REFUSED = {
    "google": (400, {"error": "invalid_grant",
                     "error_description": "Token has been expired or revoked."}),
    "microsoft": (400, {"error": "invalid_grant", "error_codes": [50173],
                        "error_description": "AADSTS50173: The provided grant has expired "
                                             "due to it being revoked."}),
    "slack": (200, {"ok": False, "error": "invalid_refresh_token"}),
    "zoom": (400, {"reason": "Invalid Token!", "error": "invalid_grant"}),
}


@pytest.fixture
def token_endpoints(settings):
    for name, url in TOKEN_URLS.items():
        setattr(settings, f"{name.upper()}_TOKEN_URL", url)
    settings.ZOOM_API_URL = "https://zoom.test/v2"
    client_cache_clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield mocked
    client_cache_clear()


def _expired_connection(provider: str) -> Connection:
    """A connected integration whose access token has expired."""
    organization = Organization.objects.create(name=f"Org {provider}", slug=f"org-{provider}")
    client_id, client_secret = client_credentials(provider)
    connection = connection_create(
        platform=provider, name=f"TechCorp {provider}", tenant_type=ORGANIZATION_TENANT,
        tenant_id=str(organization.pk),
        credentials=Credentials(client_id=client_id, client_secret=client_secret,
                                access_token="access-1", refresh_token="refresh-1"))
    connection.token_expires_at = timezone.now() - timedelta(seconds=1)
    connection.save(update_fields=["token_expires_at"])
    Integration.objects.create(organization=organization, connection=connection,
                               provider=provider, type="calendar", name=provider)
    return connection


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("provider", ["microsoft", "slack", "zoom"])
def test_it_refreshes_a_rotating_token_once_for_two_workers(token_endpoints, provider):
    connection = _expired_connection(provider)
    arrived, release = threading.Event(), threading.Event()
    spent: set[str] = set()

    def token_endpoint(request):
        refresh = parse_qs(request.body)["refresh_token"][0]
        arrived.set()
        release.wait(30)
        if refresh in spent:  # rotation: a refresh token is good once
            status, body = REFUSED[provider]
            return status, {}, json.dumps(body)
        spent.add(refresh)
        return 200, {}, json.dumps(REFRESHED[provider])

    token_endpoints.add_callback(responses.POST, TOKEN_URLS[provider], callback=token_endpoint)
    results: list[str] = []
    errors: list[BaseException] = []

    def refresh() -> str:
        return oauth_access_token(connection=Connection.objects.get(pk=connection.pk))

    first = in_thread(refresh, results, errors)
    first.start()
    assert arrived.wait(10), errors
    second = in_thread(refresh, results, errors)
    second.start()
    assert a_backend_waits_on_a_lock(), "the second worker never waited for the first"
    release.set()
    first.join(30)
    second.join(30)

    assert errors == []
    assert results == [REFRESHED[provider]["access_token"]] * 2
    assert len(token_endpoints.calls) == 1
    connection.refresh_from_db()
    assert connection.status == Connection.Status.CONNECTED
    credentials = connection.credentials()
    # The rotated refresh token replaced the spent one: the next refresh works.
    assert credentials.refresh_token == REFRESHED[provider]["refresh_token"]
    assert credentials.access_token == REFRESHED[provider]["access_token"]


@pytest.mark.django_db
@pytest.mark.parametrize("provider", ["google", "microsoft", "slack", "zoom"])
def test_a_refresh_refused_for_good_breaks_the_connection(token_endpoints, provider):
    connection = _expired_connection(provider)
    status, body = REFUSED[provider]
    token_endpoints.post(TOKEN_URLS[provider], status=status, json=body)

    result = integration_test(integration=Integration.objects.get(connection=connection))

    assert result.connection_status == "error"
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ERROR
    assert "no longer accepts the sign-in" in connection.status_reason
    item = AttentionItem.objects.open().get(kind=BROKEN_KIND)
    assert item.object_id == str(connection.pk)
    assert result.recommendations[0].startswith("Connect the integration again")
    # Nothing retries it: a second test asks the provider nothing more.
    integration_test(integration=Integration.objects.get(connection=connection))
    assert len(token_endpoints.calls) == 1
