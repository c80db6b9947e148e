"""Audit rows carry the connection they were made with; its secrets never appear in them."""

from __future__ import annotations

import pytest
import responses

from apps.core.audit import LogContext
from apps.core.connections import client_for, connection_create
from apps.core.http import PermanentError
from apps.core.models import Credentials, SyncLog
from tests.core.connection_platform import BASE, LOG, OAUTHY, PLATFORM, TOKEN_URL, acme_connection

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_clients")]


@responses.activate
def test_every_row_of_an_exchange_names_its_connection():
    connection = acme_connection("Restaurant A", "key-a")
    other = acme_connection("Restaurant B", "key-b")
    responses.get(f"{BASE}/things", json={"ok": True})

    client_for(connection, platform=PLATFORM).get("/things", log=LOG)
    client_for(other, platform=PLATFORM).get("/things", log=LOG)

    assert list(SyncLog.objects.order_by("pk").values_list("connection_id", flat=True)) == [
        connection.pk, other.pk]


@responses.activate
def test_token_requests_are_logged_with_the_connection_too():
    connection = connection_create(
        platform="oauthy", name="Org", credentials=Credentials(client_id="org-1",
                                                                client_secret="org-secret-1"))
    responses.post(TOKEN_URL, json={"access_token": "tok-org-1", "expires_in": 600})
    responses.get("https://oauthy.test/api/me", json={"ok": True})

    client_for(connection, platform=OAUTHY).get("/me", log=LogContext(action="me.read"))

    rows = SyncLog.objects.order_by("pk")
    assert [row.action for row in rows] == ["auth.token", "me.read"]
    assert {row.connection_id for row in rows} == {connection.pk}
    assert "org-secret-1" not in rows[0].request_body
    assert "tok-org-1" not in str(rows[1].request_headers)


@responses.activate
def test_a_connection_secret_echoed_by_the_platform_is_scrubbed():
    connection = acme_connection("Restaurant A", "key-a-9f8e7d")
    responses.get(f"{BASE}/things", status=400,
                  json={"message": "bad key key-a-9f8e7d", "echo": "key-a-9f8e7d"})

    with pytest.raises(PermanentError):
        client_for(connection, platform=PLATFORM).get("/things", log=LOG)

    row = SyncLog.objects.get()
    assert row.connection_id == connection.pk
    for text in (row.response_body, row.error, str(row.request_headers)):
        assert "key-a-9f8e7d" not in text


@responses.activate
def test_a_successful_call_records_the_connections_last_success():
    connection = acme_connection("Restaurant A", "key-a")
    responses.get(f"{BASE}/things", json={"ok": True})

    client_for(connection, platform=PLATFORM).get("/things", log=LOG)

    connection.refresh_from_db()
    assert connection.last_success_at is not None
