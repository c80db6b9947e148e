"""What the sync engine hands a connector: `selectors.reservation_data` and
`selectors.connector_config`."""

from __future__ import annotations

import pytest

from apps.core.sync import mapping_upsert
from apps.restosync import selectors
from apps.restosync.models import ENTITY_ROOM, ENTITY_SERVICE, ENTITY_TABLE
from apps.restosync.types import ReservationStatus
from tests.restosync.factories import (
    DiningRoomFactory,
    DiningServiceFactory,
    DiningTableFactory,
    OfferFactory,
    RestaurantFactory,
    make_reservation,
)
from tests.restosync.factories import make_config_with_known_secrets as make_config

pytestmark = pytest.mark.django_db


def test_it_resolves_our_links_to_the_platform_ids_and_leaves_out_unmapped_ones():
    restaurant = RestaurantFactory()
    room = DiningRoomFactory(restaurant=restaurant)
    mapped, unmapped = (DiningTableFactory(restaurant=restaurant) for _ in range(2))
    service = DiningServiceFactory(restaurant=restaurant)
    reservation = make_reservation(restaurant=restaurant, dining_room=room,
                                   tables=[mapped, unmapped], service=service,
                                   offer=OfferFactory(restaurant=restaurant), party_size=4,
                                   adults=3, children=1, allergies=["sesame"],
                                   dietary_restrictions=["vegan"], occasion="birthday")
    connection = make_config(restaurant=restaurant).connection
    mapping_upsert(entity_type=ENTITY_ROOM, local_id=room.pk, connection=connection,
                   external_id=3)
    mapping_upsert(entity_type=ENTITY_TABLE, local_id=mapped.pk, connection=connection,
                   external_id=12)
    mapping_upsert(entity_type=ENTITY_SERVICE, local_id=service.pk, connection=connection,
                   external_id="dinner")

    data = selectors.reservation_data(reservation, connection=connection)

    assert data.reference == str(reservation.pk)
    assert (data.party_size, data.adults, data.children) == (4, 3, 1)
    assert data.start == reservation.reservation_time
    assert data.status == ReservationStatus.CONFIRMED
    assert (data.area_external_id, data.table_external_ids) == ("3", ("12",))
    assert data.service_external_id == "dinner"
    assert data.offer_external_id is None
    assert data.customer.phone == "+32470123456"
    assert data.customer.allergies == ("sesame",)
    assert (data.dietary_restrictions, data.occasion) == (("vegan",), "birthday")


def test_without_a_connection_no_platform_id_is_given():
    table = DiningTableFactory()
    reservation = make_reservation(restaurant=table.restaurant, tables=[table])

    data = selectors.reservation_data(reservation)

    assert data.table_external_ids == ()


def test_a_connector_gets_the_uid_connection_and_zone_of_its_configuration():
    config = make_config(base_url="http://127.0.0.1:8103")

    connector_config = selectors.connector_config(config)

    assert connector_config.restaurant_uid == "91edfa29"
    assert connector_config.connection == config.connection
    assert connector_config.base_url == "http://127.0.0.1:8103"
    assert connector_config.time_zone == "Europe/Brussels"
