"""A callback with a reused, expired, foreign or unknown state: 400 OAUTH_ERROR, nothing stored."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core.models import Connection
from tests.core.oauth_stub import OAuthConnectionFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _callback(api_client, connection) -> dict[str, str]:
    url = api_client.get(f"/api/connections/{connection.pk}/oauth/connect/",
                         HTTP_ACCEPT="application/json").json()["authorization_url"]
    answer = requests.get(url, allow_redirects=False, timeout=5)
    return {k: v[0] for k, v in parse_qs(urlparse(answer.headers["Location"]).query).items()}


def _stored(connection: Connection) -> tuple:
    connection.refresh_from_db()
    return (connection.encrypted_credentials, connection.credentials_version, connection.status,
            connection.token_expires_at, connection.connected_by_id)


def _assert_refused(response) -> None:
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "OAUTH_ERROR"


def test_it_refuses_a_state_used_before(api_client, oauth_stub):
    connection = OAuthConnectionFactory()
    callback = _callback(api_client, connection)
    assert api_client.get("/api/oauth/callback/", callback).status_code == 302
    before = _stored(connection)
    exchanges = len(oauth_stub.token_requests)

    _assert_refused(api_client.get("/api/oauth/callback/", callback))

    assert _stored(connection) == before
    assert len(oauth_stub.token_requests) == exchanges


def test_it_refuses_a_state_after_ten_minutes(api_client, oauth_stub):
    connection = OAuthConnectionFactory()
    before = _stored(connection)
    callback = _callback(api_client, connection)

    with time_machine.travel(timezone.now() + timedelta(minutes=10, seconds=1)):
        response = api_client.get("/api/oauth/callback/", callback)

    _assert_refused(response)
    assert "expired" in response.json()["error"]["message"]
    assert _stored(connection) == before
    assert oauth_stub.token_requests == []


def test_it_refuses_a_state_another_user_started(api_client, oauth_stub, django_user_model):
    connection = OAuthConnectionFactory()
    before = _stored(connection)
    callback = _callback(api_client, connection)
    from django.contrib.auth.models import Group

    other = UserFactory(username="other-manager")
    other.groups.add(Group.objects.get(name="Manager"))
    intruder = APIClient()
    intruder.force_authenticate(other)

    _assert_refused(intruder.get("/api/oauth/callback/", callback))

    assert _stored(connection) == before
    assert oauth_stub.token_requests == []
    # The rightful user can still finish: a foreign attempt does not spend the state.
    assert api_client.get("/api/oauth/callback/", callback).status_code == 302


def test_it_refuses_an_unknown_state_or_a_missing_code(api_client, oauth_stub):
    connection = OAuthConnectionFactory()
    before = _stored(connection)
    callback = _callback(api_client, connection)

    _assert_refused(api_client.get("/api/oauth/callback/", {**callback, "state": "forged"}))
    _assert_refused(api_client.get("/api/oauth/callback/", {"state": callback["state"]}))

    assert _stored(connection) == before
    assert oauth_stub.token_requests == []
