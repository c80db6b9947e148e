"""Rooms, tables, services and offers written through the services."""

from __future__ import annotations

from datetime import time

import pytest

from apps.core.errors import ServiceError
from apps.restosync import services
from apps.restosync.models import DiningTable
from tests.restosync.factories import (
    DiningRoomFactory,
    DiningServiceFactory,
    DiningTableFactory,
    OfferFactory,
    RestaurantFactory,
    make_reservation,
)

pytestmark = pytest.mark.django_db


def test_it_refuses_a_table_in_a_room_of_another_restaurant():
    restaurant = RestaurantFactory()

    with pytest.raises(ServiceError) as caught:
        services.table_create(restaurant=restaurant, name="T1", room=DiningRoomFactory())

    assert list(caught.value.details) == ["room"]
    assert not DiningTable.objects.exists()


def test_it_refuses_a_service_with_hours_the_wrong_way_round_and_no_prepayment_amount():
    restaurant = RestaurantFactory()

    with pytest.raises(ServiceError) as caught:
        services.service_create(restaurant=restaurant, name="Lunch", days=[1, 9],
                                start_time=time(14), end_time=time(12),
                                requires_prepayment=True, rooms=[DiningRoomFactory()])

    assert {"days", "end_time", "prepayment_amount", "rooms"} <= set(caught.value.details)


def test_it_sets_a_service_rooms():
    restaurant = RestaurantFactory()
    room = DiningRoomFactory(restaurant=restaurant)
    service = services.service_create(restaurant=restaurant, name="Lunch", days=[1, 2],
                                      start_time=time(12), end_time=time(14), rooms=[room])

    service = services.service_update(service=service, rooms=[], max_covers=30)

    assert list(service.rooms.all()) == []
    assert service.max_covers == 30


def test_it_refuses_an_offer_ending_before_it_starts():
    offer = OfferFactory()

    with pytest.raises(ServiceError) as caught:
        services.offer_update(offer=offer, is_permanent=False,
                              start_date="2030-05-10", end_date="2030-05-01")

    assert list(caught.value.details) == ["end_date"]


@pytest.mark.parametrize("kind", ["room", "table", "service", "offer"])
def test_it_refuses_to_delete_what_reservations_refer_to(kind):
    restaurant = RestaurantFactory()
    room = DiningRoomFactory(restaurant=restaurant)
    table = DiningTableFactory(restaurant=restaurant, room=room)
    service = DiningServiceFactory(restaurant=restaurant)
    offer = OfferFactory(restaurant=restaurant)
    make_reservation(restaurant=restaurant, dining_room=room, tables=[table], service=service,
                     offer=offer)
    obj = {"room": room, "table": table, "service": service, "offer": offer}[kind]

    with pytest.raises(ServiceError) as caught:
        getattr(services, f"{kind}_delete")(**{kind: obj})

    assert (caught.value.code, caught.value.status) == (services.IN_USE, 409)
    obj.refresh_from_db()


def test_it_deletes_a_table_nobody_booked():
    table = DiningTableFactory()

    services.table_delete(table=table)

    assert not DiningTable.objects.exists()


def test_it_refuses_an_unknown_time_zone():
    with pytest.raises(ServiceError) as caught:
        services.restaurant_create(name="Chez X", time_zone="Mars/Olympus")

    assert list(caught.value.details) == ["time_zone"]
