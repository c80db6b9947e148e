"""Demo data: a restaurant with a room, its tables, lunch and dinner services, a set menu."""

from __future__ import annotations

from datetime import time

from apps.restosync import services
from apps.restosync.models import DiningRoom, DiningService, DiningTable, Offer, Restaurant

DEMO_RESTAURANT = "Brasserie De Demo"
DEMO_TABLES = [("T1", 1, 2), ("T2", 1, 2), ("T3", 2, 4), ("T4", 2, 4), ("T5", 4, 8)]


def demo_load() -> str:
    restaurant = Restaurant.objects.filter(name=DEMO_RESTAURANT).first() \
        or services.restaurant_create(name=DEMO_RESTAURANT, time_zone="Europe/Brussels")
    room = DiningRoom.objects.filter(restaurant=restaurant, name="Salle").first() \
        or services.room_create(restaurant=restaurant, name="Salle", capacity=20)
    created = 0
    for name, low, high in DEMO_TABLES:
        if not DiningTable.objects.filter(restaurant=restaurant, name=name).exists():
            services.table_create(restaurant=restaurant, room=room, name=name, min_covers=low,
                                  max_covers=high)
            created += 1
    for name, start, last, end in (("Lunch", time(12), time(13, 30), time(14, 30)),
                                   ("Dinner", time(18, 30), time(21, 30), time(23))):
        if not DiningService.objects.filter(restaurant=restaurant, name=name).exists():
            services.service_create(restaurant=restaurant, name=name, days=[2, 3, 4, 5, 6, 7],
                                    start_time=start, end_time=end, last_seating_time=last,
                                    max_covers=40, rooms=[room])
            created += 1
    if not Offer.objects.filter(restaurant=restaurant, name="Menu du chef").exists():
        services.offer_create(restaurant=restaurant, name="Menu du chef", is_permanent=True,
                              kind=Offer.Kind.MENU, min_party_size=2)
        created += 1
    return f"restaurant {restaurant.name}, {created} new tables, services and offers"
