"""Connect, sign in at the provider, callback: tokens stored encrypted, connection connected."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.db import connection as db

from apps.core.models import Connection, OAuthState
from apps.core.oauth import pkce_challenge
from tests.core.oauth_stub import SCOPES, OAuthConnectionFactory

pytestmark = pytest.mark.django_db


def _authorization_url(api_client, connection) -> str:
    response = api_client.get(f"/api/connections/{connection.pk}/oauth/connect/",
                              HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content
    return response.json()["authorization_url"]


def _sign_in(url: str) -> dict[str, str]:
    """What the user's browser does at the provider: consent, then back to the hub."""
    answer = requests.get(url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    back = urlparse(answer.headers["Location"])
    assert back.path == "/api/oauth/callback/"
    return {k: v[0] for k, v in parse_qs(back.query).items()}


def test_it_sends_the_user_to_the_provider_with_an_s256_challenge(api_client, oauth_stub):
    connection = OAuthConnectionFactory()
    response = api_client.get(f"/api/connections/{connection.pk}/oauth/connect/")
    assert response.status_code == 302
    query = {k: v[0] for k, v in parse_qs(urlparse(response["Location"]).query).items()}
    assert response["Location"].startswith(f"{oauth_stub.base_url}/authorize?")
    assert query["code_challenge_method"] == "S256"
    assert query["response_type"] == "code"
    assert query["access_type"] == "offline" and query["prompt"] == "consent"
    assert query["scope"] == " ".join(SCOPES)
    assert query["redirect_uri"] == "http://testserver/api/oauth/callback/"
    # Only a hash of the state is stored; the verifier, encrypted, matches the challenge.
    state = OAuthState.objects.get()
    assert state.state_hash != query["state"] and query["state"] not in state.state_hash
    from apps.core.fields import decrypt_str

    verifier = decrypt_str(state.encrypted_verifier)
    assert verifier not in state.encrypted_verifier
    assert pkce_challenge(verifier) == query["code_challenge"]
    assert (state.expires_at - state.created_at).total_seconds() == 600


def test_it_stores_the_tokens_encrypted_and_connects(api_client, manager_user, oauth_stub):
    connection = OAuthConnectionFactory()
    connection.status = Connection.Status.DISCONNECTED
    connection.save(update_fields=["status"])
    callback = _sign_in(_authorization_url(api_client, connection))

    response = api_client.get("/api/oauth/callback/", callback)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/")
    connection.refresh_from_db()
    credentials = connection.credentials()
    issued = oauth_stub.token_requests[-1]
    assert issued["grant_type"] == "authorization_code" and issued["code_verifier"]
    assert credentials.access_token.startswith("access-")
    assert credentials.refresh_token in oauth_stub.refresh_tokens
    assert credentials.client_id == "hub-client-id"
    assert connection.status == Connection.Status.CONNECTED
    assert connection.connected_by == manager_user and connection.connected_at
    assert connection.granted_scopes == list(SCOPES)
    assert connection.token_expires_at is not None
    with db.cursor() as cursor:
        cursor.execute("SELECT encrypted_credentials FROM core_connection WHERE id = %s",
                       [connection.pk])
        raw = cursor.fetchone()[0]
    assert credentials.access_token not in raw and credentials.refresh_token not in raw
    assert OAuthState.objects.get().used_at is not None


def test_it_refuses_a_provider_error_in_the_error_shape(api_client, oauth_stub):
    connection = OAuthConnectionFactory()
    callback = _sign_in(_authorization_url(api_client, connection))

    response = api_client.get("/api/oauth/callback/", {"error": "access_denied",
                                                       "state": callback["state"]})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "OAUTH_ERROR"
    assert response.json()["error"]["details"]["provider_error"] == "access_denied"
    assert oauth_stub.token_requests == []


def test_it_refuses_to_connect_without_the_client_id(api_client, oauth_stub):
    connection = OAuthConnectionFactory()
    connection.set_credentials(connection.credentials().updated(client_id=""))
    connection.save()

    response = api_client.get(f"/api/connections/{connection.pk}/oauth/connect/")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "OAUTH_ERROR"
    assert not OAuthState.objects.exists()
