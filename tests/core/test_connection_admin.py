"""Connections in the admin: a fast list, write-only credentials, the status reason."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core.connections import connection_record_error
from apps.core.models import Connection, Credentials
from tests.core.connection_platform import acme_connection

pytestmark = pytest.mark.django_db

SECRET = "sk-live-7c1d2e3f4a5b"


def _form_data(connection: Connection, **changes) -> dict:
    data = {"name": connection.name, "tenant_type": connection.tenant_type,
            "tenant_id": connection.tenant_id, "base_url": connection.base_url,
            "settings": "{}"}
    return {**data, **changes}


def _list_queries(admin_client) -> int:
    with CaptureQueriesContext(db) as queries:
        response = admin_client.get(reverse("admin:core_connection_changelist"))
    assert response.status_code == 200
    return len(queries)


def test_the_list_costs_the_same_queries_for_2_or_20_connections(admin_client, admin_user):
    for n in range(2):
        acme_connection(f"Restaurant {n}", f"key-{n}", connected_by=admin_user)
    few = _list_queries(admin_client)
    for n in range(2, 20):
        acme_connection(f"Restaurant {n}", f"key-{n}", connected_by=admin_user)

    assert _list_queries(admin_client) == few


def test_it_shows_the_status_and_the_reason_of_a_broken_connection(admin_client):
    connection = acme_connection("Restaurant A", "key-a")
    connection_record_error(connection=connection, reason="The API key was revoked.")

    page = admin_client.get(reverse("admin:core_connection_changelist")).content.decode()

    assert "Error" in page and "The API key was revoked." in page


def test_a_stored_secret_is_shown_masked_never_in_clear(admin_client):
    connection = acme_connection("Restaurant A", SECRET)

    page = admin_client.get(reverse("admin:core_connection_change", args=[connection.pk]))

    assert SECRET not in page.content.decode()
    assert SECRET[-3:] in page.content.decode()  # masked: its last characters only


def test_a_typed_secret_replaces_the_stored_one_and_empty_fields_keep_theirs(admin_client):
    connection = connection_record_error(
        connection=acme_connection("Restaurant A", SECRET), reason="refused")
    url = reverse("admin:core_connection_change", args=[connection.pk])

    response = admin_client.post(url, _form_data(connection, new_client_id="id-2",
                                                  new_api_key=""))

    assert response.status_code == 302, response.content.decode()[:2000]
    connection.refresh_from_db()
    assert connection.credentials() == Credentials(api_key=SECRET, client_id="id-2")
    assert connection.credentials_version == 2
    assert connection.status == Connection.Status.CONNECTED


def test_it_adds_a_connection_with_its_credentials(admin_client):
    response = admin_client.post(reverse("admin:core_connection_add"), {
        "platform": "dimona", "name": "Employer B's ONSS account", "tenant_type": "",
        "tenant_id": "", "base_url": "", "settings": "{}", "new_client_id": "employer-b",
        "new_private_key_pem": "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----"})

    assert response.status_code == 302, response.content.decode()[:2000]
    connection = Connection.objects.get(name="Employer B's ONSS account")
    assert connection.credentials().client_id == "employer-b"
    assert connection.credentials().extra["private_key_pem"].startswith("-----BEGIN")


def test_a_second_default_connection_is_an_error_message_not_a_500(admin_client):
    acme_connection("Default", "key-a", is_default=True)

    response = admin_client.post(reverse("admin:core_connection_add"), {
        "platform": "acme", "name": "Another", "is_default": "on", "settings": "{}"})

    assert response.status_code == 200
    assert Connection.objects.filter(platform="acme").count() == 1


def test_unreadable_credentials_show_the_reason(admin_client, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    connection = acme_connection("Restaurant A", SECRET)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    page = admin_client.get(reverse("admin:core_connection_change", args=[connection.pk]))

    assert page.status_code == 200
    assert "cannot be decrypted" in page.content.decode()


def test_a_typed_secret_is_not_echoed_when_another_field_is_wrong(admin_client):
    connection = acme_connection("Restaurant A", "key-a")
    url = reverse("admin:core_connection_change", args=[connection.pk])

    page = admin_client.post(url, _form_data(connection, base_url="not a url",
                                             new_client_secret=SECRET,
                                             new_private_key_pem=f"PEM {SECRET}"))

    assert page.status_code == 200
    assert SECRET not in page.content.decode()
    connection.refresh_from_db()
    assert connection.credentials().client_secret == ""
