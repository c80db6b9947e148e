"""Each provider end to end over real HTTP, against its simulator: connect ->
the user's browser at the provider (the consent redirects at once) -> the
callback with the code and state from its redirect -> a connection test ->
disconnect, the grant revoked at the simulator where the provider can."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from apps.core.models import Connection
from apps.integrations.connect import (
    connect_finish,
    connect_start,
    integration_disconnect,
    integration_test,
)
from apps.integrations.models import Organization
from tests.integrations import microsoft_fixtures
from tests.integrations.slack_fixtures import slack_simulator  # noqa: F401
from tests.integrations.zoom_fixtures import zoom_simulator  # noqa: F401

microsoft_simulator = microsoft_fixtures.microsoft_simulator

pytestmark = pytest.mark.django_db

REDIRECT = "https://hub.example/api/integrations/callback"


@pytest.fixture
def organization():
    return Organization.objects.create(name="TechCorp", slug="techcorp")


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("marie", password="pw-marie-1")


def _connect(organization, user, provider: str):
    started = connect_start(organization=organization, provider=provider, user=user,
                            scopes=None, settings=None, redirect_uri=REDIRECT)
    consent = requests.get(started.auth_url, allow_redirects=False, timeout=5)
    assert consent.status_code == 302, consent.text
    back = urlsplit(consent.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT
    query = {key: values[0] for key, values in parse_qs(back.query).items()}
    assert query["state"] == started.state
    return connect_finish(organization=organization, provider=provider, user=user,
                          code=query["code"], state=query["state"])


def _disconnect(result, user):
    connection = Connection.objects.get(pk=result.integration.connection_id)
    access_token = connection.credentials().access_token
    cleanup = integration_disconnect(integration=result.integration, user=user)
    assert Connection.objects.get(pk=connection.pk).status == Connection.Status.DISCONNECTED
    return cleanup, access_token


def test_google_end_to_end(google_simulator, organization, user):
    sim = google_simulator()
    result = _connect(organization, user, "google")

    assert result.user_info["email"] and result.user_info["name"]
    assert result.permissions == ["read_calendar", "write_calendar", "manage_events"]
    checked = integration_test(integration=result.integration)
    assert checked.connection_status == "healthy", checked
    cleanup, access_token = _disconnect(result, user)

    assert cleanup.tokens_revoked is True
    # Revoked at the simulator: the old access token is refused there.
    refused = requests.get(f"{sim.base_url}/oauth2/v3/userinfo", timeout=5,
                           headers={"Authorization": f"Bearer {access_token}"})
    assert refused.status_code == 401


def test_microsoft_end_to_end(microsoft_simulator, organization, user):
    microsoft_simulator()
    result = _connect(organization, user, "microsoft")

    assert result.user_info["email"]
    assert "write_calendar" in result.permissions
    checked = integration_test(integration=result.integration)
    assert checked.connection_status == "healthy", checked
    cleanup, _ = _disconnect(result, user)
    # Microsoft has no revocation endpoint: the tokens are only forgotten.
    assert cleanup.tokens_revoked is False


def test_slack_end_to_end(slack_simulator, organization, user):  # noqa: F811
    sim = slack_simulator()
    result = _connect(organization, user, "slack")

    assert result.user_info["name"]
    assert result.permissions == ["send_messages", "read_channels"]
    checked = integration_test(integration=result.integration)
    assert checked.connection_status == "healthy", checked
    cleanup, access_token = _disconnect(result, user)

    assert cleanup.tokens_revoked is True
    answer = requests.post(f"{sim.base_url}/api/auth.test", timeout=5,
                           headers={"Authorization": f"Bearer {access_token}"}).json()
    assert (answer["ok"], answer["error"]) == (False, "token_revoked")


def test_zoom_end_to_end(zoom_simulator, organization, user):  # noqa: F811
    sim = zoom_simulator()
    result = _connect(organization, user, "zoom")

    assert result.user_info["email"]
    assert result.permissions == ["manage_meetings", "read_meetings"]
    checked = integration_test(integration=result.integration)
    assert checked.connection_status in ("healthy", "degraded"), checked
    assert checked.api_limits is not None and checked.api_limits["limit"]
    cleanup, access_token = _disconnect(result, user)

    assert cleanup.tokens_revoked is True
    refused = requests.get(f"{sim.base_url}/v2/users/me", timeout=5,
                           headers={"Authorization": f"Bearer {access_token}"})
    assert refused.status_code == 401 and refused.json()["code"] == 124
