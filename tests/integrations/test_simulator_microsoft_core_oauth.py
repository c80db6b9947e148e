"""The hub's core OAuth (apps.core.oauth) against the Microsoft simulator, over real HTTP.

The Integrations domain will sign in to Microsoft with the core's connect,
callback and refresh; these tests show the simulator and the core agree on
the wire: form client authentication, PKCE, a refresh token replaced at each
refresh, a revoked grant (AADSTS50173) breaking the connection, and a
disconnect with no revocation endpoint. The provider is registered under a
platform name of its own for one simulator served for the whole session (the
core's registry keeps a provider's URLs for good), reset before each test.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.utils import timezone

from apps.core.auth import TokenError
from apps.core.connections import BROKEN_KIND, client_cache_clear
from apps.core.http import Platform
from apps.core.models import AttentionItem, Connection, Credentials
from apps.core.oauth import (
    CLIENT_AUTH_FORM,
    OAuthProvider,
    oauth_access_token,
    oauth_complete,
    oauth_disconnect,
    oauth_start,
    register_oauth_provider,
)
from apps.core.simulator import RunningSimulator, serve
from apps.integrations.simulator.microsoft import MicrosoftSimulator

PLATFORM = "microsoft-simulator-test"
CLIENT_ID = "core-test-microsoft-client"
CLIENT_SECRET = "core-test-microsoft-secret"
REDIRECT_URI = "http://hub.test/api/integrations/microsoft/callback"
SCOPES = ("offline_access", "Calendars.ReadWrite", "OnlineMeetings.ReadWrite", "User.Read")

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_clients")]

_served: RunningSimulator | None = None


def _simulator() -> RunningSimulator:
    global _served
    if _served is None:
        _served = serve(MicrosoftSimulator(clients={CLIENT_ID: CLIENT_SECRET}))
        url = _served.url
        register_oauth_provider(PLATFORM, OAuthProvider(
            authorize_url=f"{url}/common/oauth2/v2.0/authorize",
            token_url=f"{url}/common/oauth2/v2.0/token",
            platform=lambda: Platform(name=PLATFORM, base_url=url),
            default_scopes=SCOPES, client_auth=CLIENT_AUTH_FORM,
            rotates_refresh_tokens=True, authorize_params={"response_mode": "query"}))
    return _served


@pytest.fixture
def fresh_clients():
    client_cache_clear()
    yield
    client_cache_clear()


@pytest.fixture
def microsoft() -> MicrosoftSimulator:
    served = _simulator()
    requests.post(f"{served.url}/_sim/reset", timeout=5)
    return served.simulator


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("manager", password="x")


def _connect(user) -> Connection:
    connection = Connection(platform=PLATFORM, name="Microsoft 365",
                            tenant_type="organisation", tenant_id="1")
    connection.set_credentials(Credentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET))
    connection.save()
    url = oauth_start(connection=connection, user=user, redirect_uri=REDIRECT_URI)
    consent = requests.get(url, allow_redirects=False, timeout=5)
    assert consent.status_code == 302, consent.text
    query = {k: v[0] for k, v in parse_qs(urlsplit(consent.headers["Location"]).query).items()}
    return oauth_complete(state=query["state"], code=query["code"], user=user)


def _expire(connection: Connection) -> None:
    Connection.objects.filter(pk=connection.pk).update(
        token_expires_at=timezone.now() - timedelta(minutes=1))
    connection.refresh_from_db()


def _me(microsoft: MicrosoftSimulator, token: str) -> int:
    return requests.get(f"{microsoft.base_url}/v1.0/me", timeout=5,
                        headers={"Authorization": f"Bearer {token}"}).status_code


def test_the_core_connects_with_pkce_and_stores_microsofts_tokens(microsoft, user):
    connection = _connect(user)

    assert connection.status == Connection.Status.CONNECTED
    assert connection.credentials().refresh_token
    assert connection.granted_scopes == ["Calendars.ReadWrite", "OnlineMeetings.ReadWrite",
                                         "User.Read"]
    assert _me(microsoft, oauth_access_token(connection=connection)) == 200


def test_the_core_stores_the_refresh_token_microsoft_replaces_at_each_refresh(microsoft, user):
    connection = _connect(user)
    first = connection.credentials().refresh_token
    _expire(connection)

    token = oauth_access_token(connection=connection)
    connection.refresh_from_db()

    assert connection.credentials().refresh_token != first
    assert _me(microsoft, token) == 200
    assert microsoft.identity.state()["refreshes"] == 1


def test_a_revoked_grant_breaks_the_connection_with_an_attention_item(microsoft, user):
    connection = _connect(user)
    requests.post(f"{microsoft.base_url}/_sim/revoke", json={}, timeout=5)
    _expire(connection)

    with pytest.raises(TokenError):
        oauth_access_token(connection=connection)

    connection.refresh_from_db()
    assert connection.status == Connection.Status.ERROR
    assert "invalid_grant" in connection.status_reason
    assert "AADSTS50173" in connection.status_reason
    assert AttentionItem.objects.filter(kind=BROKEN_KIND).exists()


def test_disconnecting_forgets_the_tokens_without_a_revocation_endpoint(microsoft, user):
    connection = _connect(user)
    requests_before = microsoft.request_count

    oauth_disconnect(connection=connection)

    connection.refresh_from_db()
    assert connection.status == Connection.Status.DISCONNECTED
    assert not connection.credentials().refresh_token
    assert microsoft.request_count == requests_before
