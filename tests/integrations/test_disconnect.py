"""Disconnecting an integration: the grant revoked where the provider has a
revocation endpoint (the token it takes), the tokens forgotten, and the
cleanup counting what really happened."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
import responses

from apps.core.connections import client_cache_clear, connection_create
from apps.core.models import Connection, Credentials
from apps.integrations.connect import integration_disconnect
from apps.integrations.models import ORGANIZATION_TENANT, Integration, Organization
from apps.integrations.providers import client_credentials

pytestmark = pytest.mark.django_db

REVOKE_URLS = {"google": "https://google.test/revoke", "slack": "https://slack.test/revoke",
               "zoom": "https://zoom.test/revoke"}


@pytest.fixture
def revoke_endpoints(settings):
    for name, url in REVOKE_URLS.items():
        setattr(settings, f"{name.upper()}_REVOKE_URL", url)
    settings.MICROSOFT_REVOKE_URL = ""
    client_cache_clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield mocked
    client_cache_clear()


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("marie", password="pw-marie-1")


def _integration(provider: str) -> Integration:
    organization = Organization.objects.create(name="TechCorp", slug=f"techcorp-{provider}")
    client_id, client_secret = client_credentials(provider)
    connection = connection_create(
        platform=provider, name="TechCorp", tenant_type=ORGANIZATION_TENANT,
        tenant_id=str(organization.pk),
        credentials=Credentials(client_id=client_id, client_secret=client_secret,
                                access_token="access-1", refresh_token="refresh-1"))
    connection.granted_scopes = ["scope-a"]
    connection.save(update_fields=["granted_scopes"])
    return Integration.objects.create(organization=organization, connection=connection,
                                      provider=provider, type="calendar", name=provider)


def _forgotten(integration: Integration) -> None:
    connection = Connection.objects.get(pk=integration.connection_id)
    assert connection.status == Connection.Status.DISCONNECTED
    credentials = connection.credentials()
    assert (credentials.access_token, credentials.refresh_token) == ("", "")
    assert connection.granted_scopes == []
    integration.refresh_from_db()
    assert integration.disconnected_at is not None


def _form(call) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(call.request.body).items()}


def test_it_revokes_googles_refresh_token(revoke_endpoints, user):
    revoke_endpoints.post(REVOKE_URLS["google"], json={})
    integration = _integration("google")

    cleanup = integration_disconnect(integration=integration, user=user)

    assert (cleanup.events_removed, cleanup.webhooks_disabled, cleanup.tokens_revoked) == (
        0, 0, True)
    assert _form(revoke_endpoints.calls[0])["token"] == "refresh-1"
    _forgotten(integration)


def test_it_revokes_slacks_bot_token_itself(revoke_endpoints, user):
    revoke_endpoints.post(REVOKE_URLS["slack"], json={"ok": True, "revoked": True})
    integration = _integration("slack")

    cleanup = integration_disconnect(integration=integration, user=user)

    # auth.revoke revokes the token it is given, the one that authenticates it.
    assert _form(revoke_endpoints.calls[0])["token"] == "access-1"
    assert cleanup.tokens_revoked is True
    _forgotten(integration)


def test_it_says_so_when_slack_refuses_to_revoke(revoke_endpoints, user):
    # Slack refuses with HTTP 200 and ok false.
    revoke_endpoints.post(REVOKE_URLS["slack"], json={"ok": False, "error": "invalid_auth"})
    integration = _integration("slack")

    assert integration_disconnect(integration=integration, user=user).tokens_revoked is False
    _forgotten(integration)


def test_it_revokes_at_zoom_and_says_so_when_zoom_refuses(revoke_endpoints, user):
    revoke_endpoints.post(REVOKE_URLS["zoom"], status=400,
                          json={"reason": "Invalid Token!", "error": "invalid_request"})
    integration = _integration("zoom")

    cleanup = integration_disconnect(integration=integration, user=user)

    assert revoke_endpoints.calls[0].request.headers["Authorization"].startswith("Basic ")
    assert cleanup.tokens_revoked is False
    _forgotten(integration)


def test_microsoft_has_nothing_to_revoke_and_its_tokens_are_forgotten(revoke_endpoints, user):
    integration = _integration("microsoft")

    cleanup = integration_disconnect(integration=integration, user=user)

    assert cleanup.tokens_revoked is False
    assert len(revoke_endpoints.calls) == 0
    _forgotten(integration)
