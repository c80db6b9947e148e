"""Reservations written through the services: the rules, the version, nothing
stored on a refusal."""

from __future__ import annotations

from datetime import datetime, time

import pytest

from apps.core.errors import ServiceError
from apps.restosync import services
from apps.restosync.models import Customer, Reservation
from tests.restosync.factories import (
    DiningServiceFactory,
    DiningTableFactory,
    OfferFactory,
    RestaurantFactory,
    make_reservation,
    next_weekday,
)

pytestmark = pytest.mark.django_db

MONDAY, FRIDAY = 1, 5


def refusal(**kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        make_reservation(**kwargs)
    assert Reservation.objects.count() == 0
    assert Customer.objects.count() == 0
    return caught.value


def test_it_takes_a_reservation_at_any_time_when_the_restaurant_defines_no_service():
    reservation = make_reservation(reservation_time=next_weekday(MONDAY, time(3, 0)))

    assert reservation.version == 1
    assert reservation.service is None
    assert reservation.status == Reservation.Status.CONFIRMED


def test_it_refuses_a_closed_day_of_a_defined_service():
    restaurant = RestaurantFactory()
    service = DiningServiceFactory(restaurant=restaurant)

    error = refusal(restaurant=restaurant, service=service,
                    reservation_time=next_weekday(MONDAY))

    assert error.code == services.SERVICE_CLOSED
    assert list(error.details) == ["reservation_time"]


def test_it_refuses_a_time_no_service_takes_when_the_restaurant_has_services():
    restaurant = RestaurantFactory()
    DiningServiceFactory(restaurant=restaurant)

    error = refusal(restaurant=restaurant, reservation_time=next_weekday(FRIDAY, time(15, 0)))

    assert error.code == services.SERVICE_CLOSED
    assert "reservation_time" in error.details


def test_it_links_the_service_whose_hours_take_the_time():
    restaurant = RestaurantFactory()
    service = DiningServiceFactory(restaurant=restaurant, auto_confirm=False,
                                   default_duration_min=120)

    reservation = make_reservation(restaurant=restaurant)

    assert reservation.service == service
    assert reservation.duration_min == 120
    assert reservation.status == Reservation.Status.PENDING


def test_it_refuses_a_party_larger_than_the_service_covers():
    restaurant = RestaurantFactory()
    service = DiningServiceFactory(restaurant=restaurant, max_covers=6)

    error = refusal(restaurant=restaurant, service=service, party_size=7)

    assert error.code == services.PARTY_TOO_LARGE
    assert list(error.details) == ["party_size"]


def test_it_refuses_a_table_of_another_restaurant():
    restaurant = RestaurantFactory()
    elsewhere = DiningTableFactory()

    error = refusal(restaurant=restaurant, tables=[elsewhere])

    assert error.code == services.FOREIGN_OBJECT
    assert list(error.details) == ["tables"]


def test_it_refuses_a_time_without_offset():
    error = refusal(reservation_time=datetime(2030, 5, 3, 19, 30))

    assert error.code == services.NAIVE_TIME
    assert list(error.details) == ["reservation_time"]


def test_it_reports_every_problem_in_one_error():
    restaurant = RestaurantFactory()
    service = DiningServiceFactory(restaurant=restaurant, max_covers=4)

    error = refusal(restaurant=restaurant, service=service, party_size=9,
                    reservation_time=next_weekday(MONDAY), tables=[DiningTableFactory()],
                    customer_name=" ")

    assert error.code == "validation_error"
    assert set(error.details) == {"reservation_time", "party_size", "tables", "customer_name"}


def test_it_refuses_an_offer_outside_its_party_sizes():
    restaurant = RestaurantFactory()
    offer = OfferFactory(restaurant=restaurant, min_party_size=4)

    error = refusal(restaurant=restaurant, offer=offer, party_size=2)

    assert "party_size" in error.details


def test_it_increments_the_version_on_every_change_and_not_otherwise():
    reservation = make_reservation()

    reservation = services.reservation_update(reservation=reservation, party_size=3)
    assert reservation.version == 2
    reservation = services.reservation_update(reservation=reservation, notes="Window")
    assert reservation.version == 3
    reservation = services.reservation_update(reservation=reservation, notes="Window")
    assert reservation.version == 3
    table = DiningTableFactory(restaurant=reservation.restaurant)
    reservation = services.reservation_update(reservation=reservation, tables=[table])
    assert reservation.version == 4
    reservation = services.reservation_update(reservation=reservation,
                                              customer_phone="+32 470 99 99 99")
    assert reservation.version == 5
    reservation.refresh_from_db()
    assert reservation.version == 5


def test_it_refuses_a_change_to_another_version_than_the_current_one():
    reservation = make_reservation()
    services.reservation_update(reservation=reservation, party_size=3)

    with pytest.raises(ServiceError) as caught:
        services.reservation_update(reservation=reservation, expected_version=1, party_size=4)

    assert (caught.value.code, caught.value.status) == (services.VERSION_CONFLICT, 409)
    reservation.refresh_from_db()
    assert (reservation.party_size, reservation.version) == (3, 2)


def test_an_update_breaking_a_rule_stores_nothing():
    restaurant = RestaurantFactory()
    service = DiningServiceFactory(restaurant=restaurant, max_covers=6)
    reservation = make_reservation(restaurant=restaurant)

    with pytest.raises(ServiceError) as caught:
        services.reservation_update(reservation=reservation, party_size=8,
                                    tables=[DiningTableFactory()])
    assert set(caught.value.details) == {"party_size", "tables"}
    with pytest.raises(ServiceError) as caught:
        services.reservation_update(reservation=reservation,
                                    reservation_time=next_weekday(MONDAY))
    assert caught.value.code == services.SERVICE_CLOSED

    reservation.refresh_from_db()
    assert (reservation.party_size, reservation.version, reservation.service) == (2, 1, service)


def test_a_cancelled_reservation_is_not_taken_back():
    reservation = make_reservation()
    services.reservation_update(reservation=reservation, status=Reservation.Status.CANCELLED)

    with pytest.raises(ServiceError) as caught:
        services.reservation_update(reservation=reservation,
                                    status=Reservation.Status.CONFIRMED)

    assert (caught.value.code, caught.value.status) == ("reservation_cancelled", 409)


def test_a_returning_customer_is_found_by_phone_and_keeps_their_allergies():
    restaurant = RestaurantFactory()
    first = make_reservation(restaurant=restaurant, allergies=["peanuts"])
    second = make_reservation(restaurant=restaurant, customer_phone="+32470123456",
                              customer_email="", allergies=["gluten"])

    assert first.customer_id == second.customer_id
    second.customer.refresh_from_db()
    assert second.customer.allergies == ["peanuts", "gluten"]
    assert Customer.objects.count() == 1


def test_it_refuses_a_reservation_without_any_contact():
    error = refusal(customer_phone="", customer_email="")

    assert "customer_phone" in error.details


def test_a_reservation_moved_to_another_sitting_takes_its_service():
    restaurant = RestaurantFactory()
    dinner = DiningServiceFactory(restaurant=restaurant)
    lunch = DiningServiceFactory(restaurant=restaurant, name="Lunch", start_time=time(12),
                                 end_time=time(14, 30), last_seating_time=time(13, 30))
    reservation = make_reservation(restaurant=restaurant)
    assert reservation.service == dinner

    reservation = services.reservation_update(
        reservation=reservation, reservation_time=next_weekday(FRIDAY, time(12, 30)))

    assert (reservation.service, reservation.version) == (lunch, 2)
