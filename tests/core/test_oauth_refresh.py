"""Access tokens refreshed ahead of expiry; a refused grant breaks the connection readably."""

from __future__ import annotations

from datetime import timedelta

import pytest
from requests import Response

from apps.core.audit import LogContext
from apps.core.auth import TokenError
from apps.core.connections import client_for
from apps.core.models import AttentionItem, Connection, SyncLog
from apps.core.oauth import OAuthConnectionAuth, oauth_access_token, oauth_provider_for
from tests.core.oauth_stub import PLATFORM, OAuthConnectionFactory, stub_platform

# The connection's client is cached; a later test must not be served this test's one.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_clients")]


def _margin() -> timedelta:
    return timedelta(seconds=oauth_provider_for(PLATFORM).refresh_margin_seconds)


def test_it_uses_a_token_that_outlives_the_margin(oauth_stub):
    connection = OAuthConnectionFactory(tokens__access="a0", tokens__refresh="r0",
                                        tokens__expires_in=_margin() + timedelta(minutes=5))

    assert oauth_access_token(connection=connection) == "a0"
    assert oauth_stub.token_requests == []


def test_it_refreshes_ahead_of_expiry_and_keeps_the_rotated_refresh_token(oauth_stub):
    oauth_stub.give_refresh_token("r0")
    connection = OAuthConnectionFactory(tokens__access="a0", tokens__refresh="r0",
                                        tokens__expires_in=_margin() - timedelta(seconds=1))
    version = connection.credentials_version

    token = oauth_access_token(connection=connection)

    connection.refresh_from_db()
    credentials = connection.credentials()
    assert token != "a0" and token == credentials.access_token
    assert oauth_stub.refreshes() == [{"grant_type": "refresh_token", "refresh_token": "r0"}]
    assert credentials.refresh_token != "r0"
    assert credentials.refresh_token in oauth_stub.refresh_tokens
    assert connection.credentials_version == version + 1
    assert connection.token_is_fresh(connection.updated_at, _margin().total_seconds())
    # The token request is audited like every exchange, its answer not stored.
    row = SyncLog.objects.get(action="oauth.refresh")
    assert row.connection_id == connection.pk and token not in row.response_body
    assert "r0" not in row.request_body


def test_it_breaks_the_connection_on_invalid_grant(oauth_stub):
    connection = OAuthConnectionFactory(tokens__access="a0", tokens__refresh="spent",
                                        tokens__expires_in=timedelta(seconds=-1))

    with pytest.raises(TokenError) as refused:
        oauth_access_token(connection=connection)

    assert not refused.value.transient
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ERROR
    assert "invalid_grant" in connection.status_reason
    item = AttentionItem.objects.open().get()
    assert item.kind == "connection.broken" and item.subject == connection
    # Nothing asks the provider again until someone reconnects.
    with pytest.raises(TokenError):
        oauth_access_token(connection=connection)
    assert len(oauth_stub.refreshes()) == 1


def test_it_replaces_a_token_the_platform_refused_through_the_connections_client(oauth_stub):
    oauth_stub.give_refresh_token("r0")
    connection = OAuthConnectionFactory(tokens__access="revoked-early", tokens__refresh="r0",
                                        tokens__expires_in=timedelta(hours=1))
    calls = []

    client = client_for(connection, platform=stub_platform())
    assert isinstance(client.auth, OAuthConnectionAuth)

    def answer(method, url, **kwargs):
        # The API's answer: 401 to the first token, then accepted.
        calls.append(kwargs["headers"]["Authorization"])
        response = Response()
        response.status_code = 401 if len(calls) == 1 else 200
        response._content = b"{}"
        response.headers["Content-Type"] = "application/json"
        return response

    client.session.request = answer
    client.get(f"{oauth_stub.base_url}/me", log=LogContext(action="me.get"))

    assert calls[0] == "Bearer revoked-early"
    connection.refresh_from_db()
    assert calls[1] == f"Bearer {connection.credentials().access_token}" != calls[0]
    assert len(oauth_stub.refreshes()) == 1
