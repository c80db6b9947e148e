"""The demo loader: a restaurant with a room, tables, services and an offer, once."""

from __future__ import annotations

import pytest

from apps.restosync.demo import demo_load
from apps.restosync.models import DiningRoom, DiningService, DiningTable, Offer, Restaurant

pytestmark = pytest.mark.django_db


def test_it_loads_a_demo_restaurant_once():
    demo_load()
    demo_load()

    restaurant = Restaurant.objects.get()
    assert DiningRoom.objects.filter(restaurant=restaurant).count() == 1
    assert DiningTable.objects.filter(restaurant=restaurant, room__isnull=False).count() == 5
    assert set(DiningService.objects.values_list("name", flat=True)) == {"Lunch", "Dinner"}
    assert Offer.objects.count() == 1
