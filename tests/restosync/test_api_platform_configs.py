"""/api/restosync/platform-configs/: credentials and secret write-only, the
restaurant uid readable, the webhook URL generated."""

from __future__ import annotations

import json

import pytest

from apps.core.models import Connection
from apps.restosync.models import SyncPlatformConfig
from tests.restosync.factories import RestaurantFactory

pytestmark = pytest.mark.django_db

URL = "/api/restosync/platform-configs/"
SECRETS = ("key-abcdef-123456", "whsec-987654")


def create(api_client, restaurant, **overrides):
    values = {"restaurant": restaurant.pk, "platform": "zenchef",
              "api_key": SECRETS[0], "restaurant_uid": "91edfa29", "webhook_secret": SECRETS[1],
              "master_for": ["reservation"]}
    values.update(overrides)
    return api_client.post(URL, values, format="json")


def test_it_creates_a_configuration_and_never_shows_its_secrets(api_client, settings):
    settings.HUB_BASE_URL = "https://hub.example.test"
    created = create(api_client, RestaurantFactory())

    assert created.status_code == 201, created.content
    data = created.json()
    assert not any(secret in json.dumps(data) for secret in SECRETS)
    assert data["restaurant_uid"] == "91edfa29"
    assert data["has_webhook_secret"] is True
    assert data["webhook_url"] == (
        f"https://hub.example.test/api/webhooks/zenchef/{data['connection']}/")
    assert (data["poll_interval_sec"], data["master_for"]) == (300, ["reservation"])
    listed = api_client.get(URL).json()["results"]
    assert not any(secret in json.dumps(listed) for secret in SECRETS)


def test_it_refuses_a_second_configuration_of_the_platform(api_client):
    restaurant = RestaurantFactory()
    create(api_client, restaurant)

    again = create(api_client, restaurant)

    assert again.status_code == 409, again.content
    assert again.json()["error"]["code"] == "duplicate_config"


def test_it_refuses_unknown_entities_and_a_missing_key(api_client):
    response = create(api_client, RestaurantFactory(), api_key="", sync_entities=["menu"],
                      poll_interval_sec=5)

    assert response.status_code == 400, response.content
    assert set(response.json()["error"]["details"]) == {"api_key", "sync_entities",
                                                        "poll_interval_sec"}
    assert not Connection.objects.exists()


def test_a_patch_replaces_credentials_and_refuses_shown_only_fields(api_client):
    pk = create(api_client, RestaurantFactory()).json()["id"]

    changed = api_client.patch(f"{URL}{pk}/", {"api_key": "other-key-555666",
                                               "poll_interval_sec": 600}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["poll_interval_sec"] == 600
    config = SyncPlatformConfig.objects.get(pk=pk)
    assert config.connection.credentials().api_key == "other-key-555666"

    refused = api_client.patch(f"{URL}{pk}/", {"webhook_url": "https://x.test/"},
                               format="json")
    assert refused.json()["error"]["code"] == "read_only_field"


def test_deleting_a_configuration_disconnects_its_connection(api_client):
    pk = create(api_client, RestaurantFactory()).json()["id"]

    assert api_client.delete(f"{URL}{pk}/").status_code == 204

    assert Connection.objects.get().status == Connection.Status.DISCONNECTED
