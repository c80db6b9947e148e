"""Sample platform bookings and our reservation data, shared by the connector tests."""

from __future__ import annotations

from datetime import UTC, datetime

from apps.restosync.types import CustomerData, ReservationData, ReservationStatus


def booking_body(**overrides) -> dict:
    """A BookingViewModel as Formitable v1.2 answers it."""
    body = {
        "uid": "bk-1", "created": "2026-12-01T10:00:00+01:00",
        "bookingDateTime": "2026-12-10T19:30:00+01:00", "bookingDuration": 120,
        "checkInDateTime": None, "checkOutDateTime": None, "numberOfPeople": 4,
        "companyName": None, "title": "NONE", "firstName": "Jan", "lastName": "de Vries",
        "telephone": "+32470123456", "email": "jan@example.com",
        "comments": "Window seat\nAllergies: nuts, gluten", "culture": "en",
        "company": False, "newsletter": False, "status": "ACCEPTED", "color": "#3edca8",
        "prePaidAmount": 0.0, "source": "workforce-hub", "externalReferenceId": "res-1",
        "optionExpires": None, "tickets": [], "payments": [],
        "tables": [{"id": 12, "posId": "T12", "name": "12", "minPeople": 2, "maxPeople": 4,
                    "areaId": 3}],
    }
    body.update(overrides)
    return body


def reservation_data(**overrides) -> ReservationData:
    values = {
        "reference": "res-1", "party_size": 4,
        "start": datetime(2026, 12, 10, 18, 30, tzinfo=UTC),
        "status": ReservationStatus.CONFIRMED, "duration_minutes": 120,
        "customer": CustomerData(name="Jan de Vries", phone="+32470123456",
                                 email="jan@example.com", allergies=("nuts", "gluten")),
        "notes": "Window seat", "table_external_ids": ("12",),
    }
    values.update(overrides)
    return ReservationData(**values)
