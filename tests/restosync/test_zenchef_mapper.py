"""The Zenchef mapper and webhook parser: pure functions, both ways."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from apps.restosync.connectors.zenchef import mapper
from apps.restosync.connectors.zenchef.webhooks import WebhookFormat, parse_event
from apps.restosync.types import (
    UNKNOWN,
    CustomerData,
    EventKind,
    ReservationStatus,
    SlotStatus,
    UnknownValue,
)
from tests.restosync.samples import booking_body, reservation_data

BRUSSELS = "Europe/Brussels"


def test_it_reads_a_booking_in_our_words():
    remote = mapper.booking_from_wire(booking_body(), time_zone=BRUSSELS)

    assert remote.external_id == "bk-1"
    assert remote.reference == "res-1"
    assert remote.status == ReservationStatus.CONFIRMED
    assert remote.raw_status == "ACCEPTED"
    assert remote.start == datetime(2026, 12, 10, 18, 30, tzinfo=UTC)
    assert remote.party_size == 4
    assert remote.customer.name == "Jan de Vries"
    assert remote.customer.allergies == ("nuts", "gluten")
    assert remote.notes == "Window seat"
    # Integer ids on the wire, strings on our side (ExternalMapping's type).
    assert remote.table_external_ids == ("12",)
    assert remote.area_external_id == "3"
    assert remote.unknown_values == ()


@pytest.mark.parametrize(("status", "check_in", "check_out", "ours"), [
    ("CREATED", None, None, ReservationStatus.PENDING),
    ("ACCEPTED", None, None, ReservationStatus.CONFIRMED),
    ("ACCEPTED", "2026-12-10T19:35:00+01:00", None, ReservationStatus.SEATED),
    ("ACCEPTED", "2026-12-10T19:35:00+01:00", "2026-12-10T21:40:00+01:00",
     ReservationStatus.COMPLETED),
    ("CANCELLED", None, None, ReservationStatus.CANCELLED),
    ("FAILED", None, None, ReservationStatus.CANCELLED),
    ("EXPIRED", None, None, ReservationStatus.CANCELLED),
])
def test_it_maps_statuses_and_toggles(status, check_in, check_out, ours):
    remote = mapper.booking_from_wire(
        booking_body(status=status, checkInDateTime=check_in, checkOutDateTime=check_out),
        time_zone=BRUSSELS)

    assert remote.status == ours
    assert remote.raw_status == status


def test_it_flags_an_unknown_status_instead_of_defaulting(caplog):
    with caplog.at_level(logging.WARNING):
        remote = mapper.booking_from_wire(booking_body(status="WAITLISTED", title="DR"),
                                          time_zone=BRUSSELS)

    assert remote.status == UNKNOWN
    assert not remote.status_known
    assert remote.raw_status == "WAITLISTED"
    assert remote.unknown_values == (UnknownValue("status", "WAITLISTED"),
                                     UnknownValue("title", "DR"))
    assert "WAITLISTED" in caplog.text


def test_it_reads_a_time_without_offset_in_the_restaurants_zone():
    remote = mapper.booking_from_wire(booking_body(bookingDateTime="2026-07-10T19:30:00"),
                                      time_zone=BRUSSELS)

    assert remote.start == datetime(2026, 7, 10, 19, 30, tzinfo=ZoneInfo(BRUSSELS))


def test_it_leaves_the_area_out_when_tables_straddle_two():
    remote = mapper.booking_from_wire(booking_body(tables=[
        {"id": 12, "areaId": 3}, {"id": 21, "areaId": 4}]), time_zone=BRUSSELS)

    assert remote.table_external_ids == ("12", "21")
    assert remote.area_external_id is None


def test_it_writes_a_create_body_in_camel_case():
    data = reservation_data(occasion="Birthday", dietary_restrictions=("vegan",), children=1,
                            offer_external_id="prod-1")

    body = mapper.create_body(data, time_zone=BRUSSELS)

    assert body == {
        "bookingDateTime": "2026-12-10T19:30:00+01:00",
        "bookingDuration": 120,
        "numberOfPeople": 4,
        "firstName": "Jan",
        "lastName": "de Vries",
        "telephone": "+32470123456",
        "email": "jan@example.com",
        "comments": "Window seat\nAllergies: nuts, gluten\nDietary: vegan\n"
                    "Occasion: Birthday\nChildren: 1",
        "culture": None,
        "company": False,
        "externalReferenceId": "res-1",
        "tables": [12],
        "productUid": "prod-1",
    }


def test_comments_come_back_as_the_fields_they_were_made_of():
    data = reservation_data(occasion="Birthday", dietary_restrictions=("vegan", "halal"))

    parsed = mapper.parse_comments(mapper.compose_comments(data))

    assert parsed["notes"] == "Window seat"
    assert parsed["allergies"] == ("nuts", "gluten")
    assert parsed["dietary_restrictions"] == ("vegan", "halal")
    assert parsed["occasion"] == "Birthday"


def test_an_update_body_carries_only_what_changed():
    before = reservation_data()
    after = reservation_data(party_size=6, start=datetime(2026, 12, 10, 19, 0, tzinfo=UTC))

    body = mapper.update_body(after, previous=before, time_zone=BRUSSELS)

    assert body == {"bookingDateTime": "2026-12-10T20:00:00+01:00", "numberOfPeople": 6}


def test_an_update_body_never_sends_an_emptied_field_as_null():
    before = reservation_data()
    after = reservation_data(customer=CustomerData(name="Jan de Vries", phone="+32470123456"))

    body = mapper.update_body(after, previous=before, time_zone=BRUSSELS)

    # The e-mail cannot be cleared (null keeps it); the allergies line left the comments.
    assert body == {"comments": "Window seat"}


def test_an_update_body_sends_removed_tables_as_an_empty_list():
    body = mapper.update_body(reservation_data(table_external_ids=()),
                              previous=reservation_data(), time_zone=BRUSSELS)

    assert body == {"tables": []}


def test_an_offer_change_is_a_warning_not_a_field():
    before = reservation_data(offer_external_id="prod-1")
    after = reservation_data(offer_external_id="prod-2")

    assert mapper.update_body(after, previous=before, time_zone=BRUSSELS) == {}
    assert mapper.update_warnings(after, previous=before)


def test_a_malformed_table_id_is_left_out(caplog):
    body = mapper.create_body(reservation_data(table_external_ids=("12", "T-7")),
                              time_zone=BRUSSELS)

    assert body["tables"] == [12]
    assert "T-7" in caplog.text


def test_it_reads_tables_areas_and_slots():
    table = mapper.table_from_wire({"id": 12, "posId": "T12", "name": "12", "minPeople": 2,
                                    "maxPeople": 4, "areaId": 3, "priority": 1})
    area = mapper.area_from_wire({"id": 3, "posId": "A3", "name": "Terras",
                                  "displayName": {"en": "Terrace"}, "priority": 2})
    slot = mapper.slot_from_wire({"time": "2026-12-10T19:30:00+01:00", "status": "SHORT",
                                  "maxDuration": 90, "area": "Terras"}, time_zone=BRUSSELS)
    odd = mapper.slot_from_wire({"time": "2026-12-10T20:00:00+01:00", "status": "MAYBE"},
                                time_zone=BRUSSELS)

    assert (table.external_id, table.area_external_id, table.max_people) == ("12", "3", 4)
    assert (area.external_id, area.display_names) == ("3", {"en": "Terrace"})
    assert slot.status == SlotStatus.SHORT and slot.bookable and slot.max_duration_minutes == 90
    assert odd.status == UNKNOWN and odd.raw_status == "MAYBE" and not odd.bookable


# -- webhooks -------------------------------------------------------------------------

def test_it_parses_the_default_webhook():
    payload = {"eventId": "evt_1", "event": "booking.changed", "restaurantUid": "91edfa29",
               "occurredAt": "2026-12-01T10:00:00.123456+01:00", "booking": booking_body()}

    event = parse_event(payload, headers={"X-Zenchef-Event-Id": "evt_1"},
                        fmt=WebhookFormat(), time_zone=BRUSSELS)

    assert event.kind == EventKind.UPDATED
    assert event.external_id == "bk-1"
    assert event.event_id == "evt_1"
    assert event.restaurant_uid == "91edfa29"
    assert event.reservation.reference == "res-1"
    assert event.occurred_at == datetime(2026, 12, 1, 9, 0, 0, 123456, tzinfo=UTC)


def test_a_thin_webhook_names_the_booking_only():
    event = parse_event({"eventId": "evt_2", "event": "booking.cancelled",
                         "bookingUid": "bk-9"}, headers={}, fmt=WebhookFormat(),
                        time_zone=BRUSSELS)

    assert event.kind == EventKind.CANCELLED
    assert event.external_id == "bk-9"
    assert event.reservation is None
    assert event.event_id == "evt_2"


def test_a_bare_booking_is_an_update_or_a_cancellation():
    fmt = WebhookFormat.from_options({"webhook": {"envelope": False}})

    updated = parse_event(booking_body(), headers={}, fmt=fmt, time_zone=BRUSSELS)
    cancelled = parse_event(booking_body(status="CANCELLED"), headers={}, fmt=fmt,
                            time_zone=BRUSSELS)

    assert updated.kind == EventKind.UPDATED
    assert cancelled.kind == EventKind.CANCELLED


def test_an_unknown_event_name_is_flagged_not_guessed():
    event = parse_event({"event": "booking.teleported", "booking": booking_body()},
                        headers={}, fmt=WebhookFormat(), time_zone=BRUSSELS)

    assert event.kind == UNKNOWN
    assert event.raw_type == "booking.teleported"
    assert event.external_id == "bk-1"


def test_the_webhook_format_is_configurable():
    fmt = WebhookFormat.from_options({"webhook": {
        "event_type_field": "type", "booking_field": "data",
        "event_types": {"reservation.new": "created"},
        "signature_header": "X-Formitable-Signature", "signature_prefix": "sha256="}})

    event = parse_event({"type": "reservation.new", "data": booking_body()}, headers={},
                        fmt=fmt, time_zone=BRUSSELS)

    assert event.kind == EventKind.CREATED
    # The defaults still stand beside the added names.
    assert fmt.event_types["booking.cancelled"] == EventKind.CANCELLED
    assert fmt.verifier().header == "X-Formitable-Signature"
    assert fmt.verifier().prefix == "sha256="


def test_a_misspelt_webhook_setting_is_refused():
    with pytest.raises(ValueError, match="signature_heder"):
        WebhookFormat.from_options({"webhook": {"signature_heder": "X"}})
