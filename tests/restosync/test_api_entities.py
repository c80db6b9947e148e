"""Full CRUD of restaurants, rooms, tables, dining services and offers, strict
about what it takes, and only for managers."""

from __future__ import annotations

import pytest

from apps.restosync.models import DiningRoom, DiningService, DiningTable, Offer, Restaurant
from tests.factories import UserFactory
from tests.restosync.factories import (
    DiningRoomFactory,
    DiningTableFactory,
    RestaurantFactory,
    make_reservation,
)

pytestmark = pytest.mark.django_db


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


def test_restaurants_full_crud(api_client):
    url = "/api/restosync/restaurants/"
    created = api_client.post(url, {"name": "Chez Ann", "time_zone": "Europe/Paris"},
                              format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]

    assert api_client.get(url).json()["results"][0]["name"] == "Chez Ann"
    changed = api_client.patch(f"{url}{pk}/", {"name": "Chez Anne"}, format="json")
    assert changed.json()["name"] == "Chez Anne"
    assert error_of(api_client.patch(f"{url}{pk}/", {"time_zone": "Mars/Olympus"},
                                     format="json"), 400)["details"].keys() == {"time_zone"}
    assert api_client.delete(f"{url}{pk}/").status_code == 204
    assert not Restaurant.objects.exists()


def test_a_restaurant_with_reservations_is_not_deleted(api_client):
    reservation = make_reservation()

    error = error_of(api_client.delete(f"/api/restosync/restaurants/"
                                       f"{reservation.restaurant_id}/"), 409)

    assert error["code"] == "in_use"


@pytest.mark.parametrize("url, model, values, change", [
    ("/api/rooms/", DiningRoom, {"name": "Terrace", "capacity": 20}, {"capacity": 24}),
    ("/api/tables/", DiningTable, {"name": "T9", "min_covers": 2, "max_covers": 4},
     {"max_covers": 6}),
    ("/api/dining-services/", DiningService,
     {"name": "Lunch", "days": [1, 2, 3], "start_time": "12:00", "end_time": "14:30",
      "last_seating_time": "13:45", "max_covers": 30}, {"days": [4, 5]}),
    ("/api/offers/", Offer, {"name": "Menu", "kind": "menu", "is_permanent": True,
                             "min_party_size": 2}, {"discount_percent": 10}),
])
def test_local_entities_full_crud(api_client, url, model, values, change):
    restaurant = RestaurantFactory()

    created = api_client.post(url, {"restaurant": restaurant.pk, **values}, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    listed = api_client.get(url, {"restaurant": restaurant.pk})
    assert [row["id"] for row in listed.json()["results"]] == [pk]
    changed = api_client.patch(f"{url}{pk}/", change, format="json")
    assert changed.status_code == 200, changed.content
    for field, value in change.items():
        assert changed.json()[field] == value
    assert api_client.get(f"{url}{pk}/").status_code == 200
    assert api_client.delete(f"{url}{pk}/").status_code == 204
    assert not model.objects.exists()


def test_a_table_in_another_restaurant_room_is_a_field_error(api_client):
    restaurant = RestaurantFactory()

    error = error_of(api_client.post("/api/tables/", {
        "restaurant": restaurant.pk, "name": "T1", "room": DiningRoomFactory().pk},
        format="json"), 400)

    assert list(error["details"]) == ["room"]
    assert not DiningTable.objects.exists()


def test_an_object_does_not_move_to_another_restaurant(api_client):
    table = DiningTableFactory()

    error = error_of(api_client.patch(f"/api/tables/{table.pk}/",
                                      {"restaurant": RestaurantFactory().pk}, format="json"), 400)

    assert list(error["details"]) == ["restaurant"]


def test_a_booked_table_is_not_deleted(api_client):
    table = DiningTableFactory()
    make_reservation(restaurant=table.restaurant, tables=[table])

    assert error_of(api_client.delete(f"/api/tables/{table.pk}/"), 409)["code"] == "in_use"


def test_bad_service_days_and_unknown_fields_are_field_errors(api_client):
    error = error_of(api_client.post("/api/dining-services/", {
        "restaurant": RestaurantFactory().pk, "name": "Lunch", "days": [0, 8],
        "start_time": "12:00", "end_time": "14:00", "colour": "red"}, format="json"), 400)

    assert set(error["details"]) == {"days", "colour"}


@pytest.mark.parametrize("url", ["/api/restosync/restaurants/", "/api/reservations/",
                                 "/api/restosync/platform-configs/", "/api/dining-services/",
                                 "/api/offers/", "/api/rooms/", "/api/tables/"])
def test_only_managers_use_the_api(client, url):
    assert client.get(url).status_code in (401, 403)
    client.force_login(UserFactory())
    assert error_of(client.get(url), 403)["code"] == "permission_denied"
