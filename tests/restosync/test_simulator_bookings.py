"""The Zenchef simulator's bookings, tables, areas and availability over real HTTP.

The simulator runs on a fake clock (START, a Monday in June) so "today",
the listing window and the option expiry are exact. No database needed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests

from apps.restosync.simulator import SANDBOX_API_KEY, SANDBOX_RESTAURANT_UID, ZenchefSimulator

START = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC).timestamp()  # Monday 12:00 in Brussels
BOOKING_FIELDS = {
    "uid", "created", "bookingDateTime", "bookingDuration", "checkInDateTime",
    "checkOutDateTime", "numberOfPeople", "companyName", "title", "firstName", "lastName",
    "telephone", "email", "comments", "culture", "company", "newsletter", "status", "color",
    "prePaidAmount", "source", "externalReferenceId", "optionExpires", "tickets", "payments",
    "tables",
}


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


class Api:
    """The partner API of one restaurant, as the hub calls it."""

    def __init__(self, sim: ZenchefSimulator, key: str = SANDBOX_API_KEY,
                 restaurant_uid: str = SANDBOX_RESTAURANT_UID) -> None:
        self.sim = sim
        self.root = sim.base_url
        self.base = f"{sim.base_url}/api/v1.2/{restaurant_uid}"
        self.key = key

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"ApiKey": self.key, **kwargs.pop("headers", {})}
        return requests.request(method, self.base + path, headers=headers, timeout=5, **kwargs)

    def create(self, **fields: Any) -> requests.Response:
        return self.call("POST", "/booking", json=booking_body(**fields))

    def control(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.root}/_sim{path}", timeout=5, **kwargs)


def booking_body(**fields: Any) -> dict[str, Any]:
    return {"bookingDateTime": "2026-06-05T19:30:00+02:00", "bookingDuration": None,
            "numberOfPeople": 2, "culture": None, "company": False,
            "externalReferenceId": "res-1", "firstName": "Jan", "lastName": "Jansen",
            "telephone": "+32470123456", "email": "jan@example.com", **fields}


@pytest.fixture
def api(zenchef_simulator) -> Api:
    return Api(zenchef_simulator(clock=FakeClock()))


def assert_invalid(response: requests.Response, *fields: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["message"]
    assert set(body["errors"]) == set(fields)


# -- authentication ---------------------------------------------------------------------
def test_it_refuses_a_missing_or_wrong_api_key_with_401(api):
    for headers in ({"ApiKey": "wrong"}, {"ApiKey": ""}):
        response = api.call("GET", "/tables", headers=headers)
        assert response.status_code == 401
        assert response.json() == {"message": "Authorization has been denied for this request."}
    bearer = requests.get(api.base + "/tables", timeout=5,
                          headers={"Authorization": f"Bearer {SANDBOX_API_KEY}"})
    assert bearer.status_code == 401  # the key goes in ApiKey, without a prefix


def test_it_answers_404_for_an_unknown_restaurant_and_403_for_one_the_key_cannot_reach(
        zenchef_simulator):
    sim = zenchef_simulator(api_keys={"k1": "hub", "k2": "hub"},
                            key_restaurants={"k2": {"other"}})
    assert Api(sim, "k1", "ffffffff").call("GET", "/tables").status_code == 404
    forbidden = Api(sim, "k2").call("GET", "/tables")
    assert forbidden.status_code == 403
    assert "message" in forbidden.json()


def test_it_lists_the_restaurants_of_the_key_with_a_windows_time_zone(api):
    response = requests.get(f"{api.root}/api/v1.2/restaurants", timeout=5,
                            headers={"ApiKey": SANDBOX_API_KEY})
    assert response.status_code == 200
    [restaurant] = response.json()
    assert restaurant["uid"] == SANDBOX_RESTAURANT_UID
    assert restaurant["timezone"] == "Romance Standard Time"
    one = requests.get(f"{api.root}/api/v1.2/restaurants/{SANDBOX_RESTAURANT_UID}", timeout=5,
                       headers={"ApiKey": SANDBOX_API_KEY})
    assert one.json() == restaurant


# -- create, get ------------------------------------------------------------------------
def test_it_creates_a_booking_in_the_formitable_shape(api):
    response = api.create(numberOfPeople=4, comments="Window seat")

    assert response.status_code == 200, response.text
    booking = response.json()
    assert set(booking) == BOOKING_FIELDS | {"warnings"}
    assert booking["status"] == "ACCEPTED"
    assert booking["bookingDateTime"] == "2026-06-05T19:30:00+02:00"
    assert booking["created"] == "2026-06-01T12:00:00+02:00"  # the restaurant's zone
    assert booking["bookingDuration"] == 120  # null: the standard duration
    assert booking["culture"] == "en"  # null: the default culture
    assert booking["externalReferenceId"] == "res-1"
    assert booking["source"] == "workforce-hub"  # the key's app name
    assert booking["tables"] == [{"id": 13, "posId": "T13", "name": "13", "minPeople": 2,
                                  "maxPeople": 4, "areaId": 1}]  # placed automatically
    assert booking["warnings"] == []
    assert api.call("GET", f"/booking/{booking['uid']}").json() == {
        k: v for k, v in booking.items() if k != "warnings"}


def test_it_takes_a_time_without_offset_as_the_restaurants_local_time(api):
    booking = api.create(bookingDateTime="2026-06-05T19:30:00").json()
    assert booking["bookingDateTime"] == "2026-06-05T19:30:00+02:00"
    utc = api.create(bookingDateTime="2026-06-05T17:30:00Z", externalReferenceId="r2").json()
    assert utc["bookingDateTime"] == "2026-06-05T19:30:00+02:00"


def test_it_refuses_a_create_without_the_required_fields_or_with_bad_values(api):
    assert_invalid(api.call("POST", "/booking", json={}), "bookingDateTime", "bookingDuration",
                   "numberOfPeople", "culture", "company")
    assert_invalid(api.create(bookingDateTime="next friday", numberOfPeople=0, title="MR",
                              color="#000000", email="nobody", tables=[99], culture="nl-NL"),
                   "bookingDateTime", "numberOfPeople", "title", "color", "email", "tables",
                   "culture")
    assert_invalid(api.create(productUid="nope"), "productUid")
    not_json = api.call("POST", "/booking", data=b"{", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400
    assert api.sim.ledger.bookings == {}


def test_it_puts_a_party_on_the_tables_asked_and_warns_when_they_are_taken(api):
    first = api.create(tables=[14]).json()
    assert [t["id"] for t in first["tables"]] == [14]

    second = api.create(tables=[14], externalReferenceId="res-2").json()
    assert [t["id"] for t in second["tables"]] != [14]
    assert second["warnings"]

    forced = api.create(tables=[14], forceTablePlacement=True, externalReferenceId="res-3").json()
    assert [t["id"] for t in forced["tables"]] == [14]
    assert "already booked" in forced["warnings"][0]


def test_it_accepts_a_second_create_with_the_same_reference(api):
    # Nothing public says Formitable refuses it: a hub retrying blindly must be caught.
    api.create()
    api.create()
    assert len(api.sim.ledger.bookings) == 2


def test_it_answers_404_for_an_unknown_booking(api):
    response = api.call("GET", "/booking/0000000000000000")
    assert response.status_code == 404
    assert "message" in response.json()
    assert api.call("PUT", "/booking/0000000000000000", json={}).status_code == 404
    assert api.call("DELETE", "/booking/0000000000000000").status_code == 404


# -- partial update, cancel -----------------------------------------------------------
def test_it_changes_only_the_fields_sent_on_a_put(api):
    booking = api.create(comments="Window seat").json()

    response = api.call("PUT", f"/booking/{booking['uid']}",
                        json={"numberOfPeople": 3, "comments": None, "status": "CANCELLED",
                              "externalReferenceId": "other"})

    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["numberOfPeople"] == 3
    assert updated["comments"] == "Window seat"  # null keeps the current value
    assert updated["status"] == "ACCEPTED"  # not updatable through PUT: ignored
    assert updated["externalReferenceId"] == "res-1"
    assert updated["firstName"] == "Jan"
    assert updated["warnings"] == []


def test_it_replaces_tables_on_an_empty_list_and_keeps_them_when_omitted(api):
    booking = api.create(tables=[15], numberOfPeople=4).json()
    uid = booking["uid"]

    kept = api.call("PUT", f"/booking/{uid}", json={"comments": "Birthday"}).json()
    assert [t["id"] for t in kept["tables"]] == [15]
    replaced = api.call("PUT", f"/booking/{uid}", json={"tables": []}).json()
    assert [t["id"] for t in replaced["tables"]] == [13]  # the automatic placement
    chosen = api.call("PUT", f"/booking/{uid}", json={"tables": [22]}).json()
    assert [t["id"] for t in chosen["tables"]] == [22]


def test_it_applies_a_conflicting_table_on_a_put_with_a_warning(api):
    api.create(tables=[11])
    other = api.create(tables=[12], externalReferenceId="res-2").json()

    response = api.call("PUT", f"/booking/{other['uid']}", json={"tables": [11]}).json()

    assert [t["id"] for t in response["tables"]] == [11]
    assert response["warnings"] == ["Table(s) 11 are already booked at this time."]


def test_it_validates_a_put_like_a_create(api):
    uid = api.create().json()["uid"]
    assert_invalid(api.call("PUT", f"/booking/{uid}", json={"numberOfPeople": "four",
                                                            "bookingDateTime": "tomorrow"}),
                   "numberOfPeople", "bookingDateTime")
    assert_invalid(api.call("PUT", f"/booking/{uid}", json=[1]), "body")


def test_it_cancels_with_an_empty_body_and_refuses_later_changes(api):
    uid = api.create().json()["uid"]

    response = api.call("DELETE", f"/booking/{uid}")

    assert response.status_code == 200
    assert response.content == b""
    assert api.call("GET", f"/booking/{uid}").json()["status"] == "CANCELLED"
    assert api.call("DELETE", f"/booking/{uid}").status_code == 200  # again: nothing changes
    refused = api.call("PUT", f"/booking/{uid}", json={"numberOfPeople": 3})
    assert refused.status_code == 400
    assert "CANCELLED" in refused.json()["message"]
    assert api.call("PUT", f"/booking/checkin/{uid}").status_code == 400


# -- check-in and check-out: toggles ------------------------------------------------------
def test_check_in_is_a_toggle_a_second_call_undoes_it(api):
    uid = api.create().json()["uid"]

    first = api.call("PUT", f"/booking/checkin/{uid}")
    assert first.status_code == 200
    assert first.json()["checkInDateTime"] == "2026-06-01T12:00:00+02:00"
    second = api.call("PUT", f"/booking/checkin/{uid}")
    assert second.json()["checkInDateTime"] is None
    assert api.call("GET", f"/booking/{uid}").json()["checkInDateTime"] is None
    events = [a["event"] for a in api.call("GET", f"/booking/{uid}/activity").json()]
    assert events == ["CREATED", "CHECKED_IN", "CHECK_IN_UNDONE"]


def test_check_out_is_a_toggle_with_an_optional_pos_order(api):
    uid = api.create().json()["uid"]

    first = api.call("PUT", f"/booking/checkout/{uid}",
                     json={"id": "pos-1", "items": [{"id": "1", "quantity": 2}]})
    assert first.json()["checkOutDateTime"] == "2026-06-01T12:00:00+02:00"
    assert api.call("PUT", f"/booking/checkout/{uid}").json()["checkOutDateTime"] is None


# -- the future-bookings listing ------------------------------------------------------------
def test_it_lists_bookings_from_a_date_for_some_days_whatever_their_status(api):
    early = api.create(bookingDateTime="2026-06-02T12:30:00+02:00").json()
    late = api.create(bookingDateTime="2026-06-10T19:00:00+02:00",
                      externalReferenceId="res-2").json()
    far = api.create(bookingDateTime="2026-07-15T19:00:00+02:00", externalReferenceId="res-3")
    api.call("DELETE", f"/booking/{late['uid']}")

    listed = api.call("GET", "/booking/2026-06-01/31")

    assert listed.status_code == 200
    assert [(b["uid"], b["status"]) for b in listed.json()] == [
        (early["uid"], "ACCEPTED"), (late["uid"], "CANCELLED")]
    assert far.json()["uid"] not in {b["uid"] for b in listed.json()}
    assert [b["uid"] for b in api.call("GET", "/booking/2026-06-02/1").json()] == [early["uid"]]


def test_it_refuses_a_listing_from_the_past_or_over_31_days(api):
    assert_invalid(api.call("GET", "/booking/2026-05-31/7"), "from")
    assert_invalid(api.call("GET", "/booking/2026-06-01/32"), "days")
    assert_invalid(api.call("GET", "/booking/2026-06-01/0"), "days")
    assert_invalid(api.call("GET", "/booking/01-06-2026/7"), "from")


# -- the external look-up -----------------------------------------------------------------
def test_it_finds_a_booking_by_source_and_external_reference(api):
    booking = api.create(externalReferenceId="42").json()

    found = api.call("GET", "/booking/external/workforce-hub/42")

    assert found.status_code == 200
    assert found.json()["uid"] == booking["uid"]
    assert api.call("GET", "/booking/external/workforce-hub/43").status_code == 404
    assert api.call("GET", "/booking/external/widget/42").status_code == 404


def test_a_guest_booking_carries_the_widget_source(api):
    made = api.control("POST", "/bookings", json={"bookingDateTime": "2026-06-05T20:00:00",
                                                   "numberOfPeople": 2, "firstName": "Ann",
                                                   "externalReferenceId": "w-1"})
    assert made.status_code == 201, made.text
    assert api.call("GET", "/booking/external/widget/w-1").json()["uid"] == made.json()["uid"]


# -- tables, areas, products -----------------------------------------------------------------
def test_it_serves_tables_and_areas_with_integer_ids(api):
    tables = api.call("GET", "/tables").json()
    assert all(isinstance(t["id"], int) and isinstance(t["areaId"], int) for t in tables)
    assert set(tables[0]) == {"id", "posId", "name", "minPeople", "maxPeople", "areaId",
                              "priority"}
    assert api.call("GET", "/tables/13").json()["name"] == "13"
    assert api.call("GET", "/tables/99").status_code == 404
    assert {t["id"] for t in api.call("GET", "/tables/area/2").json()} == {21, 22}
    areas = api.call("GET", "/areas").json()
    assert [(a["id"], a["displayName"]["en"]) for a in areas] == [(1, "Restaurant"),
                                                                  (2, "Terrace")]
    assert api.call("GET", "/areas/2").json()["name"] == "Terras"
    assert api.call("GET", "/areas/x").status_code == 404
    [product] = api.call("GET", "/product/ticket").json()
    assert product["default"] is True


# -- availability -------------------------------------------------------------------------
def test_it_reports_availability_per_day_and_per_slot(zenchef_simulator):
    sim = zenchef_simulator(clock=FakeClock())
    sim.restaurants[SANDBOX_RESTAURANT_UID].closed_weekdays = frozenset({6})  # Sundays
    api = Api(sim)

    days = api.call("GET", "/availability/days/2026-05-31/8/2/en").json()

    assert [(d["date"], d["status"]) for d in days] == [
        ("2026-05-31", 1), ("2026-06-01", 0), ("2026-06-02", 0), ("2026-06-03", 0),
        ("2026-06-04", 0), ("2026-06-05", 0), ("2026-06-06", 0), ("2026-06-07", 1)]
    slots = api.call("GET", "/availability/day/2026-06-01/2/nl").json()
    assert slots[0] == {"time": "2026-06-01T12:00:00+02:00", "status": "PASSED",
                        "maxDuration": 120, "area": None}
    assert {"time": "2026-06-01T19:00:00+02:00", "status": "AVAILABLE", "maxDuration": 120,
            "area": 1} in slots
    assert api.call("GET", "/availability/open/2026-06-01").json() == [
        {"startTime": 720, "endTime": 870, "productUid": "91edfa29-dinner"},
        {"startTime": 1080, "endTime": 1350, "productUid": "91edfa29-dinner"}]
    assert api.call("GET", "/availability/open/2026-06-07").json() == []


def test_a_day_is_fully_booked_when_no_table_fits_any_slot(zenchef_simulator):
    sim = zenchef_simulator(clock=FakeClock())
    api = Api(sim)
    # The only six-seat table, taken from lunch to closing.
    api.create(numberOfPeople=6, bookingDateTime="2026-06-03T11:00:00+02:00",
               bookingDuration=720)

    [day] = api.call("GET", "/availability/days/2026-06-03/1/6/en").json()

    assert day == {"date": "2026-06-03", "status": 3, "message": "FullyBooked"}
    assert_invalid(api.call("GET", "/availability/days/2026-06-03/43/2/en"), "days")
    assert_invalid(api.call("GET", "/availability/day/2026-06-03/2/fr"), "language")


# -- options ------------------------------------------------------------------------------
def test_an_option_expires_on_the_simulators_clock(api):
    made = api.control("POST", "/bookings", json={"numberOfPeople": 2, "status": "CREATED",
                                                   "optionMinutes": 30,
                                                   "bookingDateTime": "2026-06-05T19:00:00"})
    uid = made.json()["uid"]
    assert made.json()["optionExpires"] == "2026-06-01T12:30:00+02:00"

    api.control("POST", "/advance", json={"seconds": 1800})

    assert api.call("GET", f"/booking/{uid}").json()["status"] == "EXPIRED"
