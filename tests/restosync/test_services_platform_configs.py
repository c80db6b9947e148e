"""Platform configurations: one per restaurant and platform, on a core
connection that keeps the credentials encrypted."""

from __future__ import annotations

import pytest

from apps.core.errors import ServiceError
from apps.core.models import Connection
from apps.restosync import selectors, services
from apps.restosync.models import RESTAURANT_TENANT, SyncPlatformConfig
from tests.restosync.factories import make_config_with_known_secrets as make_config

pytestmark = pytest.mark.django_db


def test_it_keeps_the_credentials_encrypted_on_a_connection_of_the_restaurant():
    config = make_config()
    connection = Connection.objects.get(pk=config.connection_id)

    credentials = connection.credentials()
    assert (credentials.api_key, credentials.webhook_secret) == (
        "key-abcdef-123456", "whsec-987654")
    assert "key-abcdef" not in connection.encrypted_credentials
    assert (connection.platform, connection.tenant_type, connection.tenant_id) == (
        "zenchef", RESTAURANT_TENANT, str(config.restaurant_id))
    assert selectors.config_restaurant_uid(config) == "91edfa29"
    assert config.poll_interval_sec == 300
    assert config.sync_entities == ["reservation"]


def test_its_webhook_url_is_the_core_channel_of_its_connection(settings):
    settings.HUB_BASE_URL = "https://hub.example.test/"
    config = make_config()

    assert selectors.config_webhook_url(config) == (
        f"https://hub.example.test/api/webhooks/zenchef/{config.connection_id}/")


def test_it_refuses_a_second_configuration_for_the_same_restaurant_and_platform():
    config = make_config()

    with pytest.raises(ServiceError) as caught:
        make_config(restaurant=config.restaurant)

    assert (caught.value.code, caught.value.status) == (services.DUPLICATE_CONFIG, 409)
    assert Connection.objects.count() == 1


def test_it_refuses_unknown_entity_types_and_missing_credentials():
    with pytest.raises(ServiceError) as caught:
        make_config(api_key="", restaurant_uid="", master_for=["reservation", "menu"])

    assert set(caught.value.details) == {"api_key", "restaurant_uid", "master_for"}
    assert not Connection.objects.exists()


def test_an_update_replaces_only_the_credentials_given():
    config = make_config()

    config = services.platform_config_update(config=config, api_key="new-key-000111",
                                             master_for=["reservation"], base_url="")

    credentials = Connection.objects.get(pk=config.connection_id).credentials()
    assert credentials.api_key == "new-key-000111"
    assert credentials.webhook_secret == "whsec-987654"
    assert credentials.extra["restaurant_uid"] == "91edfa29"
    config.refresh_from_db()
    assert config.is_master_for("reservation")


def test_deleting_a_configuration_disconnects_its_connection():
    config = make_config()

    services.platform_config_delete(config=config)

    assert not SyncPlatformConfig.objects.exists()
    assert Connection.objects.get().status == Connection.Status.DISCONNECTED


def test_the_sync_engine_records_the_last_sync_and_the_last_error():
    config = make_config()

    services.platform_config_record_sync(config=config, error="HTTP 500")
    config.refresh_from_db()
    assert (config.last_error, config.last_sync_at) == ("HTTP 500", None)
    services.platform_config_record_sync(config=config)
    config.refresh_from_db()
    assert config.last_error == ""
    assert config.last_sync_at is not None
