"""Factories for RestoSync's local entities; saved through the services where
a rule applies, so a test starts from data the hub would accept."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import factory

from apps.restosync import services
from apps.restosync.models import (
    Customer,
    DiningRoom,
    DiningService,
    DiningTable,
    Offer,
    Restaurant,
)
from apps.restosync.simulator import SANDBOX_API_KEY, SANDBOX_RESTAURANT_UID

BRUSSELS = ZoneInfo("Europe/Brussels")


class RestaurantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Restaurant

    name = factory.Sequence(lambda n: f"Restaurant {n}")
    time_zone = "Europe/Brussels"


class DiningRoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DiningRoom

    restaurant = factory.SubFactory(RestaurantFactory)
    name = factory.Sequence(lambda n: f"Room {n}")


class DiningTableFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DiningTable

    restaurant = factory.SubFactory(RestaurantFactory)
    room = None
    name = factory.Sequence(lambda n: f"T{n}")
    min_covers = 1
    max_covers = 4


class DiningServiceFactory(factory.django.DjangoModelFactory):
    """Dinner, Tuesday to Sunday (closed on Mondays), 18:30 to 23:00, last seating 21:30."""

    class Meta:
        model = DiningService

    restaurant = factory.SubFactory(RestaurantFactory)
    name = "Dinner"
    days = factory.LazyFunction(lambda: [2, 3, 4, 5, 6, 7])
    start_time = time(18, 30)
    end_time = time(23, 0)
    last_seating_time = time(21, 30)
    max_covers = 10


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer

    restaurant = factory.SubFactory(RestaurantFactory)
    name = factory.Sequence(lambda n: f"Menu {n}")
    is_permanent = True


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    restaurant = factory.SubFactory(RestaurantFactory)
    name = "Ann Peeters"
    phone = factory.Sequence(lambda n: f"+3247000{n:04d}")
    email = factory.Sequence(lambda n: f"guest{n}@example.test")


def next_weekday(iso_day: int, at: time = time(19, 30)) -> datetime:
    """The next such day (1 Monday … 7 Sunday) at least a day ahead, in Brussels."""
    day = datetime.now(BRUSSELS).date() + timedelta(days=1)
    while day.isoweekday() != iso_day:
        day += timedelta(days=1)
    return datetime.combine(day, at, tzinfo=BRUSSELS)


def make_reservation(restaurant: Restaurant | None = None, **overrides):
    restaurant = restaurant or RestaurantFactory()
    values = {"customer_name": "Ann Peeters", "customer_phone": "+32 470 12 34 56",
              "customer_email": "ann@example.test", "party_size": 2,
              "reservation_time": next_weekday(5)}
    values.update(overrides)
    return services.reservation_create(restaurant=restaurant, **values)


# The webhook secret the engine's tests give their configurations.
WEBHOOK_SECRET = "whsec-restoengine"


def make_config(restaurant: Restaurant | None = None, **overrides):
    """A Zenchef configuration of the simulator's sandbox restaurant (it syncs
    reservations, the service's default)."""
    values = {"platform": "zenchef", "api_key": SANDBOX_API_KEY,
              "restaurant_uid": SANDBOX_RESTAURANT_UID, "webhook_secret": WEBHOOK_SECRET}
    values.update(overrides)
    return services.platform_config_create(restaurant=restaurant or RestaurantFactory(),
                                           **values)


# Secrets some tests look for (stored encrypted, never shown).
KNOWN_SECRETS = {"api_key": "key-abcdef-123456", "webhook_secret": "whsec-987654"}


def make_config_with_known_secrets(restaurant: Restaurant | None = None, **overrides):
    return make_config(restaurant, **{**KNOWN_SECRETS, **overrides})

