"""Disconnecting revokes the grant at the provider and forgets the tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.core.models import Connection
from apps.core.oauth import oauth_disconnect
from tests.core.oauth_stub import CLIENT_ID, OAuthConnectionFactory

pytestmark = pytest.mark.django_db


def test_it_revokes_the_refresh_token_and_forgets_the_tokens(oauth_stub):
    connection = OAuthConnectionFactory(tokens__access="a0", tokens__refresh="r0",
                                        tokens__expires_in=timedelta(hours=1))

    oauth_disconnect(connection=connection)

    assert oauth_stub.revoked == ["r0"]
    connection.refresh_from_db()
    credentials = connection.credentials()
    assert connection.status == Connection.Status.DISCONNECTED
    assert credentials.access_token == credentials.refresh_token == ""
    assert credentials.client_id == CLIENT_ID  # to connect again
    assert connection.token_expires_at is None and connection.granted_scopes == []


def test_it_disconnects_even_when_the_provider_refuses_to_revoke(oauth_stub):
    oauth_stub.revoke_status = 400
    connection = OAuthConnectionFactory(tokens__access="a0", tokens__refresh="r0")

    oauth_disconnect(connection=connection)

    connection.refresh_from_db()
    assert oauth_stub.revoked == ["r0"]
    assert connection.status == Connection.Status.DISCONNECTED
    assert connection.credentials().refresh_token == ""
