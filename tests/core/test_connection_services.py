"""The connection services, and one platform client per connection and credentials."""

from __future__ import annotations

import pytest
import responses

from apps.core.connections import (
    BROKEN_KIND,
    client_for,
    connection_create,
    connection_default,
    connection_set_credentials,
    connection_update,
)
from apps.core.errors import ServiceError
from apps.core.http import PermanentError
from apps.core.models import AttentionItem, Connection, Credentials
from tests.core.connection_platform import BASE, LOG, OAUTHY, PLATFORM, TOKEN_URL, acme_connection

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_clients")]


def test_the_default_connection_is_created_once():
    first = connection_default(platform="acme")
    second = connection_default(platform="acme")

    assert first.pk == second.pk and first.is_default
    assert Connection.objects.filter(platform="acme").count() == 1
    assert first.credentials() == Credentials()


def test_a_second_default_connection_is_refused():
    connection_default(platform="acme")

    with pytest.raises(ServiceError) as refused:
        connection_create(platform="acme", name="Another", is_default=True)
    assert refused.value.code == "duplicate_default"


def test_changing_some_credentials_keeps_the_others_and_bumps_the_version():
    connection = connection_create(platform="acme", name="A", credentials=Credentials(
        client_id="id-1", client_secret="secret-1"))

    connection = connection_set_credentials(connection=connection,
                                            changes={"client_secret": "secret-2", "client_id": "",
                                                     "private_key_pem": "PEM"})

    credentials = connection.credentials()
    assert (credentials.client_id, credentials.client_secret) == ("id-1", "secret-2")
    assert credentials.extra == {"private_key_pem": "PEM"}
    assert connection.credentials_version == 2


@responses.activate
def test_one_client_per_connection_until_its_credentials_change():
    connection = acme_connection("A", "key-1")
    responses.get(f"{BASE}/things", json={"ok": True})
    first = client_for(connection, platform=PLATFORM)
    assert client_for(connection, platform=PLATFORM) is first
    assert client_for(acme_connection("B", "key-b"), platform=PLATFORM) is not first

    connection = connection_set_credentials(connection=connection, changes={"api_key": "key-2"})
    client_for(connection, platform=PLATFORM).get("/things", log=LOG)

    assert client_for(connection, platform=PLATFORM) is not first
    assert responses.calls[0].request.headers["X-Api-Key"] == "key-2"


@responses.activate
def test_the_base_url_of_a_connection_replaces_the_platforms():
    connection = acme_connection("Sandbox", "key-1", base_url="https://sandbox.acme.test/v2")
    responses.get("https://sandbox.acme.test/v2/things", json={"ok": True})

    assert client_for(connection, platform=PLATFORM).get("/things", log=LOG).status_code == 200

    connection = connection_update(connection=connection, base_url="")
    responses.get(f"{BASE}/things", json={"ok": True})
    client_for(connection, platform=PLATFORM).get("/things", log=LOG)
    assert responses.calls[1].request.url == f"{BASE}/things"


@responses.activate
def test_refused_credentials_break_the_connection_until_a_success():
    connection = connection_create(platform="oauthy", name="Org", credentials=Credentials(
        client_id="org", client_secret="wrong"))
    responses.post(TOKEN_URL, status=401, json={"error": "invalid_client"})

    with pytest.raises(PermanentError):
        client_for(connection, platform=OAUTHY).get("/me", log=LOG)

    connection.refresh_from_db()
    assert connection.status == Connection.Status.ERROR
    assert "invalid_client" in connection.status_reason
    assert AttentionItem.objects.open().filter(kind=BROKEN_KIND).count() == 1

    connection = connection_set_credentials(connection=connection,
                                            changes={"client_secret": "right"})
    assert connection.status == Connection.Status.CONNECTED
    assert not AttentionItem.objects.open().filter(kind=BROKEN_KIND).exists()


def test_a_disconnected_connection_sends_nothing():
    connection = acme_connection("A", "key-1")
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.DISCONNECTED)
    connection.refresh_from_db()

    with pytest.raises(PermanentError, match="disconnected"):
        client_for(connection, platform=PLATFORM)


def test_it_sends_no_credentials_for_a_connection_without_an_api_key():
    connection = connection_create(platform="acme", name="Empty")

    client = client_for(connection, platform=PLATFORM)
    assert client.auth is None
