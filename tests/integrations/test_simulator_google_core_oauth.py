"""The hub's core OAuth (apps.core.oauth) against the Google simulator, over real HTTP.

The Integrations domain will sign in to Google with the core's connect,
callback, refresh and disconnect; these tests show the simulator and the
core agree on the wire: form client authentication, PKCE, a refresh that
does not rotate, revocation, and a grant revoked by the user breaking the
connection. The provider is registered under a platform name of its own
for one simulator served for the whole session (the core's registry keeps
a provider's URLs for good), reset before each test.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.utils import timezone

from apps.core.auth import TokenError
from apps.core.connections import BROKEN_KIND
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
from apps.integrations.simulator.google import GoogleSimulator

PLATFORM = "google-simulator-test"
CLIENT_ID = "core-test-client.apps.googleusercontent.com"
CLIENT_SECRET = "core-test-secret"
REDIRECT_URI = "http://hub.test/api/integrations/google/callback"

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_clients")]

_served: RunningSimulator | None = None


def _simulator() -> RunningSimulator:
    global _served
    if _served is None:
        _served = serve(GoogleSimulator(client_id=CLIENT_ID, client_secret=CLIENT_SECRET))
        url = _served.url
        register_oauth_provider(PLATFORM, OAuthProvider(
            authorize_url=f"{url}/o/oauth2/v2/auth", token_url=f"{url}/token",
            revoke_url=f"{url}/revoke",
            platform=lambda: Platform(name=PLATFORM, base_url=url),
            default_scopes=("openid", "email", "https://www.googleapis.com/auth/calendar"),
            client_auth=CLIENT_AUTH_FORM, rotates_refresh_tokens=False,
            authorize_params={"access_type": "offline", "prompt": "consent"}))
    return _served


@pytest.fixture
def fresh_clients():
    from apps.core.connections import client_cache_clear

    client_cache_clear()
    yield
    client_cache_clear()


@pytest.fixture
def google() -> GoogleSimulator:
    served = _simulator()
    requests.post(f"{served.url}/_sim/reset", timeout=5)
    return served.simulator


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("manager", password="x")


def _connection() -> Connection:
    connection = Connection(platform=PLATFORM, name="Google Calendar",
                            tenant_type="organisation", tenant_id="1")
    connection.set_credentials(Credentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET))
    connection.save()
    return connection


def _connect(user) -> Connection:
    url = oauth_start(connection=_connection(), user=user, redirect_uri=REDIRECT_URI)
    consent = requests.get(url, allow_redirects=False, timeout=5)
    assert consent.status_code == 302, consent.text
    query = {k: v[0] for k, v in parse_qs(urlsplit(consent.headers["Location"]).query).items()}
    return oauth_complete(state=query["state"], code=query["code"], user=user)


def _expire(connection: Connection) -> None:
    Connection.objects.filter(pk=connection.pk).update(
        token_expires_at=timezone.now() - timedelta(minutes=1))
    connection.refresh_from_db()


def _calendar(google: GoogleSimulator, token: str) -> int:
    return requests.get(f"{google.base_url}/calendar/v3/calendars/primary", timeout=5,
                        headers={"Authorization": f"Bearer {token}"}).status_code


def test_the_core_connects_with_pkce_and_stores_googles_tokens(google, user):
    connection = _connect(user)

    credentials = connection.credentials()
    assert connection.status == Connection.Status.CONNECTED
    assert credentials.refresh_token
    assert "https://www.googleapis.com/auth/calendar" in connection.granted_scopes
    assert "https://www.googleapis.com/auth/userinfo.email" in connection.granted_scopes
    assert _calendar(google, oauth_access_token(connection=connection)) == 200


def test_the_core_refreshes_and_keeps_the_refresh_token_google_does_not_rotate(google, user):
    connection = _connect(user)
    first_refresh_token = connection.credentials().refresh_token
    _expire(connection)

    token = oauth_access_token(connection=connection)
    connection.refresh_from_db()
    _expire(connection)
    again = oauth_access_token(connection=connection)

    assert connection.credentials().refresh_token == first_refresh_token
    assert token != again
    assert _calendar(google, again) == 200


def test_disconnecting_revokes_the_grant_at_google(google, user):
    connection = _connect(user)
    access_token = connection.credentials().access_token

    oauth_disconnect(connection=connection)

    assert google.oauth.state()["revocations"] == 1
    assert _calendar(google, access_token) == 401


def test_a_grant_the_user_revoked_breaks_the_connection_with_an_attention_item(google, user):
    connection = _connect(user)
    requests.post(f"{google.base_url}/_sim/revoke-access", timeout=5)
    _expire(connection)

    with pytest.raises(TokenError):
        oauth_access_token(connection=connection)

    connection.refresh_from_db()
    assert connection.status == Connection.Status.ERROR
    assert "invalid_grant" in connection.status_reason
    assert AttentionItem.objects.filter(kind=BROKEN_KIND).exists()
