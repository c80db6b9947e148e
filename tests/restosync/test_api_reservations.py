"""/api/reservations/: create, change and list reservations; every bad input a
400 naming its field with nothing stored; contact details masked."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from apps.core.models import ExternalMapping
from apps.core.sync import mapping_upsert
from apps.restosync.models import Customer, Reservation
from tests.restosync.factories import (
    DiningServiceFactory,
    DiningTableFactory,
    RestaurantFactory,
    make_reservation,
    next_weekday,
)
from tests.restosync.factories import make_config_with_known_secrets as make_config

pytestmark = pytest.mark.django_db

URL = "/api/reservations/"
MONDAY, FRIDAY = 1, 5


def body(restaurant, **overrides) -> dict:
    values = {"restaurant": restaurant.pk, "customer_name": "Ann Peeters",
              "customer_phone": "+32 470 12 34 56", "customer_email": "ann@example.test",
              "party_size": 2, "reservation_time": next_weekday(FRIDAY).isoformat()}
    values.update(overrides)
    return values


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


def test_it_creates_a_reservation_and_masks_the_customer_contact(api_client):
    restaurant = RestaurantFactory()
    table = DiningTableFactory(restaurant=restaurant)

    response = api_client.post(URL, body(restaurant, tables=[table.pk], adults=1, children=1,
                                         allergies=["nuts"], occasion="birthday"),
                               format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    assert data["version"] == 1
    assert data["tables"] == [table.pk]
    assert data["status"] == "confirmed"
    assert data["customer_name"] == "Ann Peeters"
    assert data["customer_phone"].endswith("456") and "470" not in data["customer_phone"]
    assert data["customer_email"] == "a••@example.test"
    assert data["sync"] == []
    assert (data["adults"], data["children"], data["allergies"]) == (1, 1, ["nuts"])


@pytest.mark.parametrize("case", ["closed_day", "party_too_large", "foreign_table",
                                  "no_offset"])
def test_it_answers_each_bad_input_with_a_field_error_and_stores_nothing(api_client, case):
    restaurant = RestaurantFactory()
    service = DiningServiceFactory(restaurant=restaurant, max_covers=6)
    overrides, field, code = {
        "closed_day": ({"service": service.pk,
                        "reservation_time": next_weekday(MONDAY).isoformat()},
                       "reservation_time", "service_closed"),
        "party_too_large": ({"service": service.pk, "party_size": 7}, "party_size",
                            "party_too_large"),
        "foreign_table": ({"tables": [DiningTableFactory().pk]}, "tables", "other_restaurant"),
        "no_offset": ({"reservation_time": "2030-05-03T19:30:00"}, "reservation_time",
                      "validation_error"),
    }[case]

    error = error_of(api_client.post(URL, body(restaurant, **overrides), format="json"), 400)

    assert list(error["details"]) == [field]
    assert error["code"] == code
    assert not Reservation.objects.exists()
    assert not Customer.objects.exists()


def test_it_reports_every_bad_field_at_once(api_client):
    restaurant = RestaurantFactory()
    service = DiningServiceFactory(restaurant=restaurant, max_covers=6)

    error = error_of(api_client.post(URL, body(
        restaurant, service=service.pk, party_size=8, tables=[DiningTableFactory().pk],
        reservation_time=next_weekday(MONDAY).isoformat(), flavour="x"), format="json"), 400)

    assert set(error["details"]) == {"reservation_time", "party_size", "tables", "flavour"}
    assert error["details"]["flavour"] == ["Unknown field."]


def test_it_refuses_a_read_only_field(api_client):
    error = error_of(api_client.post(URL, body(RestaurantFactory(), sync=[]), format="json"),
                     400)

    assert error["code"] == "read_only_field"


def test_a_patch_bumps_the_version_and_refuses_a_stale_one(api_client):
    reservation = make_reservation()
    url = f"{URL}{reservation.pk}/"

    changed = api_client.patch(url, {"party_size": 3, "version": 1}, format="json")
    assert changed.status_code == 200, changed.content
    assert (changed.json()["party_size"], changed.json()["version"]) == (3, 2)

    error = error_of(api_client.patch(url, {"party_size": 4, "version": 1}, format="json"), 409)
    assert error["code"] == "version_conflict"
    reservation.refresh_from_db()
    assert (reservation.party_size, reservation.version) == (3, 2)


def test_a_patch_breaking_a_rule_is_a_field_error(api_client):
    restaurant = RestaurantFactory()
    DiningServiceFactory(restaurant=restaurant, max_covers=6)
    reservation = make_reservation(restaurant=restaurant)

    error = error_of(api_client.patch(f"{URL}{reservation.pk}/", {"party_size": 9},
                                      format="json"), 400)

    assert error["code"] == "party_too_large"
    assert list(error["details"]) == ["party_size"]


def test_the_restaurant_of_a_reservation_cannot_change(api_client):
    reservation = make_reservation()

    error = error_of(api_client.patch(f"{URL}{reservation.pk}/",
                                      {"restaurant": RestaurantFactory().pk}, format="json"),
                     400)

    assert error["code"] == "read_only_field"


def test_it_lists_by_restaurant_local_day_and_status(api_client):
    restaurant = RestaurantFactory()
    friday = next_weekday(FRIDAY, time(0, 30))
    on_friday = make_reservation(restaurant=restaurant, reservation_time=friday)
    make_reservation(restaurant=restaurant, reservation_time=friday - timedelta(hours=1))
    make_reservation(reservation_time=friday)
    cancelled = make_reservation(restaurant=restaurant, reservation_time=friday,
                                 status="cancelled")

    listed = api_client.get(URL, {"restaurant": restaurant.pk,
                                  "date": friday.date().isoformat()})
    assert listed.status_code == 200, listed.content
    assert {row["id"] for row in listed.json()["results"]} == {on_friday.pk, cancelled.pk}

    listed = api_client.get(URL, {"restaurant": restaurant.pk, "status": "cancelled"})
    assert [row["id"] for row in listed.json()["results"]] == [cancelled.pk]

    unfiltered_day = api_client.get(URL, {"date": friday.date().isoformat()})
    assert len(unfiltered_day.json()["results"]) == 3


def test_it_refuses_an_unknown_query_parameter(api_client):
    error = error_of(api_client.get(URL, {"day": "2030-01-01"}), 400)

    assert error["code"] == "unknown_query_parameter"


def test_the_sync_list_shows_each_platform_booking_and_its_state(api_client,
                                                                 django_assert_max_num_queries):
    restaurant = RestaurantFactory()
    config = make_config(restaurant=restaurant)
    reservations = [make_reservation(restaurant=restaurant) for _ in range(3)]
    for n, reservation in enumerate(reservations):
        mapping_upsert(entity_type="reservation", local_id=reservation.pk,
                       connection=config.connection, external_id=f"bk-{n}",
                       status=ExternalMapping.Status.PENDING if n else
                       ExternalMapping.Status.SYNCED)

    with django_assert_max_num_queries(12):
        listed = api_client.get(URL, {"restaurant": restaurant.pk})

    rows = {row["id"]: row["sync"] for row in listed.json()["results"]}
    assert rows[reservations[0].pk] == [{
        "platform": "zenchef", "connection": config.connection_id, "external_id": "bk-0",
        "status": "synced", "synced_at": rows[reservations[0].pk][0]["synced_at"]}]
    assert rows[reservations[1].pk][0]["status"] == "pending"
    detail = api_client.get(f"{URL}{reservations[2].pk}/").json()
    assert detail["sync"][0]["external_id"] == "bk-2"


def test_a_reservation_cannot_be_deleted(api_client):
    reservation = make_reservation()

    assert api_client.delete(f"{URL}{reservation.pk}/").status_code == 405
