"""The connector registry and the protocol's optional capabilities."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from apps.core.connections import client_cache_clear, connection_create
from apps.core.http import PermanentError
from apps.core.models import Credentials
from apps.core.registry_names import DuplicateRegistration
from apps.restosync import connectors
from apps.restosync.connectors import connector_platforms, connector_register, get_connector
from apps.restosync.connectors.base import Capability, NotSupported, PlatformConnector
from apps.restosync.connectors.zenchef.connector import ZenchefConnector
from apps.restosync.types import ConnectorConfig, SyncResult
from tests.restosync.samples import reservation_data


class MinimalConnector(PlatformConnector):
    """A platform with the required operations only."""

    platform: ClassVar[str] = "minimal"
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init__(self, config: ConnectorConfig) -> None:
        self.config = config

    def authenticate(self) -> None:
        return None

    def create_reservation(self, data, *, reconcile=False) -> SyncResult:
        return SyncResult(external_id=f"m-{data.reference}")

    def update_reservation(self, external_id, data, *, previous=None) -> SyncResult:
        return SyncResult(external_id=external_id)

    def cancel_reservation(self, external_id, *, reason="") -> None:
        return None

    def get_availability(self, *, day, party_size, offer_external_id=None) -> list:
        return []

    def sync_entity(self, entity_type, data, *, external_id=None) -> SyncResult:
        raise NotSupported(self.platform, f"sync of {entity_type}")

    def parse_webhook(self, *, headers, payload) -> Any:
        raise NotSupported(self.platform, "webhooks")


class BoastfulConnector(MinimalConnector):
    """Declares a check-in it does not implement."""

    platform: ClassVar[str] = "boastful"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.CHECK_IN})


@pytest.fixture
def registry():
    saved = dict(connectors._registry)
    yield connectors._registry
    connectors._registry.clear()
    connectors._registry.update(saved)


@pytest.fixture
def connection(db):
    client_cache_clear()
    yield connection_create(platform="zenchef", name="Bistro", credentials=Credentials(api_key="k"))
    client_cache_clear()


def _config(connection, platform: str) -> ConnectorConfig:
    return ConnectorConfig(platform=platform, restaurant_uid="91edfa29", connection=connection)


def test_it_serves_zenchef_out_of_the_box(connection):
    connector = get_connector(_config(connection, "zenchef"))

    assert isinstance(connector, ZenchefConnector)
    assert isinstance(connector, PlatformConnector)
    assert "zenchef" in connector_platforms()
    assert all(connector.supports(capability) for capability in Capability)


def test_a_new_platform_is_one_registration(registry, connection):
    connector_register("minimal", MinimalConnector)

    connector = get_connector(_config(connection, "minimal"))

    assert connector.create_reservation(reservation_data()).external_id == "m-res-1"


def test_an_unknown_platform_is_a_clear_error(connection):
    with pytest.raises(LookupError, match="no connector for the platform 'sevenrooms'"):
        get_connector(_config(connection, "sevenrooms"))


def test_a_missing_capability_is_not_supported_never_an_attribute_error(registry, connection):
    connector_register("minimal", MinimalConnector)
    connector = get_connector(_config(connection, "minimal"))

    assert not connector.supports(Capability.CHECK_IN)
    with pytest.raises(NotSupported) as caught:
        connector.check_in("bk-1")

    assert caught.value.capability == Capability.CHECK_IN
    assert str(caught.value) == "minimal does not support check_in."
    # Permanent: the outbox does not retry what the platform cannot do.
    assert isinstance(caught.value, PermanentError)
    for call in (lambda: connector.check_out("bk-1"), connector.list_tables,
                 connector.list_areas, lambda: connector.get_reservation("bk-1"),
                 lambda: connector.find_by_reference("res-1"), connector.list_changed):
        with pytest.raises(NotSupported):
            call()


def test_a_capability_declared_without_its_method_is_refused(registry, connection):
    connector_register("boastful", BoastfulConnector)

    with pytest.raises(TypeError, match="declares check_in without implementing it"):
        get_connector(_config(connection, "boastful"))


def test_another_factory_under_a_taken_name_is_refused(registry):
    connector_register("minimal", MinimalConnector)
    connector_register("minimal", MinimalConnector)  # the same again is harmless

    with pytest.raises(DuplicateRegistration):
        connector_register("minimal", BoastfulConnector)


def test_zenchef_takes_reservations_only_in_the_generic_sync(connection):
    connector = get_connector(_config(connection, "zenchef"))

    with pytest.raises(NotSupported, match="sync of menu_item"):
        connector.sync_entity("menu_item", {"name": "Soup"})


def test_a_connector_without_a_required_operation_cannot_be_built(registry, connection):
    class Forgetful(MinimalConnector):
        cancel_reservation = PlatformConnector.cancel_reservation

    connector_register("forgetful", Forgetful)

    with pytest.raises(TypeError, match="cancel_reservation"):
        get_connector(_config(connection, "forgetful"))
