"""Availability as Formitable v1.2 reports it, from shifts, tables and bookings.

A slot (every `slot_minutes` from a shift's start to its end) is
AVAILABLE when a free table fits the party for the restaurant's default
duration. The model's statuses are the reference's
(1.3): days `0` Available, `1` RestaurantClosed, `2` DatePassed,
`3` FullyBooked; times `AVAILABLE`, `UNAVAILABLE`, `CLOSED`, `PASSED`.
`maxDuration` and `area` (the id of the area of the table that would be
given) are this simulator's reading of fields the model only names.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .store import Booking, Restaurant, free_tables, place

AVAILABLE, CLOSED_DAY, PASSED_DAY, FULL_DAY = 0, 1, 2, 3
DAY_MESSAGES = {AVAILABLE: "Available", CLOSED_DAY: "RestaurantClosed",
                PASSED_DAY: "DatePassed", FULL_DAY: "FullyBooked"}


def shifts_of(restaurant: Restaurant, day: dt.date) -> list[dict[str, Any]]:
    if day.weekday() in restaurant.closed_weekdays:
        return []
    return [shift.view() for shift in restaurant.shifts]


def times_of(restaurant: Restaurant, bookings: list[Booking], day: dt.date, people: int,
             now: dt.datetime) -> list[dict[str, Any]]:
    """BookingTimePublic for every slot of the day."""
    zone = restaurant.zone
    duration = dt.timedelta(minutes=restaurant.default_duration)
    closed = day.weekday() in restaurant.closed_weekdays
    slots = []
    for shift in restaurant.shifts:
        for minute in range(shift.start_time, shift.end_time, restaurant.slot_minutes):
            start = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=zone)
            if closed:
                status, area = "CLOSED", None
            elif start <= now:
                status, area = "PASSED", None
            else:
                free = free_tables(restaurant, bookings, start, start + duration)
                table = place(restaurant, free, people)
                status = "AVAILABLE" if table else "UNAVAILABLE"
                area = restaurant.tables[table[0]].area_id if table else None
            slots.append({"time": start.isoformat(timespec="seconds"), "status": status,
                          "maxDuration": restaurant.default_duration, "area": area})
    return slots


def days_of(restaurant: Restaurant, bookings: list[Booking], first: dt.date, days: int,
            people: int, now: dt.datetime) -> list[dict[str, Any]]:
    """BookingDateViewModel for `days` days from `first`."""
    answer = []
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        if day.weekday() in restaurant.closed_weekdays:
            status = CLOSED_DAY
        elif day < now.date():
            status = PASSED_DAY
        else:
            slots = times_of(restaurant, bookings, day, people, now)
            status = AVAILABLE if any(s["status"] == "AVAILABLE" for s in slots) else FULL_DAY
        answer.append({"date": day.isoformat(), "status": status,
                       "message": DAY_MESSAGES[status]})
    return answer
