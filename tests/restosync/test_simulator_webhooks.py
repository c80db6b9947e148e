"""The Zenchef simulator's webhooks to the hub, and the guest's and restaurant's controls.

A local stub server (tests.core.local_server) stands in for the hub's
webhook URL; the simulator delivers from its worker thread on real time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import requests

from apps.restosync.simulator import SANDBOX_API_KEY, SANDBOX_RESTAURANT_UID, sign

SECRET = "zenchef-webhook-secret"
GUEST = {"bookingDateTime": "2026-12-24T19:30:00+01:00", "numberOfPeople": 2,
         "firstName": "Ann", "lastName": "Peeters", "email": "ann@example.com"}


def control(sim, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{sim.base_url}/_sim{path}", timeout=5, **kwargs)


def partner(sim, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{sim.base_url}/api/v1.2/{SANDBOX_RESTAURANT_UID}{path}",
                            headers={"ApiKey": SANDBOX_API_KEY}, timeout=5, **kwargs)


def register(sim, receiver, **settings: Any) -> requests.Response:
    response = control(sim, "POST", "/webhooks", json={
        "restaurant_uid": SANDBOX_RESTAURANT_UID, "url": receiver.url, "secret": SECRET,
        "retry_seconds": 0.05, **settings})
    assert response.status_code == 200, response.text
    return response


def guest_books(sim, **fields: Any) -> dict[str, Any]:
    response = control(sim, "POST", "/bookings", json={**GUEST, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def test_it_sends_a_signed_event_when_a_guest_books_changes_and_cancels(
        zenchef_simulator, webhook_receiver):
    sim, receiver = zenchef_simulator(), webhook_receiver()
    register(sim, receiver)

    uid = guest_books(sim)["uid"]
    changed = control(sim, "PATCH", f"/bookings/{uid}", json={"numberOfPeople": 3})
    assert changed.json()["changed"] == ["numberOfPeople"]
    control(sim, "DELETE", f"/bookings/{uid}")
    deliveries = receiver.wait_for_count(3)

    events = [json.loads(body) for _, body in deliveries]
    assert [e["event"] for e in events] == ["booking.created", "booking.changed",
                                            "booking.cancelled"]
    assert [e["booking"]["status"] for e in events] == ["ACCEPTED", "ACCEPTED", "CANCELLED"]
    assert events[1]["booking"]["numberOfPeople"] == 3
    for headers, body in deliveries:
        event = json.loads(body)
        expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["x-zenchef-signature"] == expected == sign(body, SECRET)
        assert headers["x-zenchef-event-id"] == event["eventId"]
        assert headers["content-type"] == "application/json"
        assert event["restaurantUid"] == SANDBOX_RESTAURANT_UID
        assert event["booking"]["uid"] == uid
        assert event["occurredAt"].endswith("+01:00")  # December in Brussels
    assert len({e["eventId"] for e in events}) == 3


def test_it_reports_the_restaurants_check_in_and_status_changes(
        zenchef_simulator, webhook_receiver):
    sim, receiver = zenchef_simulator(), webhook_receiver()
    register(sim, receiver)
    uid = guest_books(sim)["uid"]

    control(sim, "POST", f"/bookings/{uid}/checkin")
    control(sim, "PATCH", f"/bookings/{uid}", json={"status": "NO_SHOW"})  # unknown to v1.2

    events = [json.loads(body) for _, body in receiver.wait_for_count(3)]
    assert events[1]["booking"]["checkInDateTime"] is not None
    assert events[2]["event"] == "booking.changed"
    assert events[2]["booking"]["status"] == "NO_SHOW"


def test_it_does_not_echo_the_hubs_own_api_changes_unless_asked(
        zenchef_simulator, webhook_receiver):
    sim, receiver = zenchef_simulator(), webhook_receiver()
    register(sim, receiver)
    body = {**GUEST, "bookingDuration": None, "culture": None, "company": False}
    partner(sim, "POST", "/booking", json=body)
    assert sim.deliver_webhooks() == 0
    assert receiver.hits == []

    register(sim, receiver, echo_api_changes=True)
    uid = partner(sim, "POST", "/booking", json=body).json()["uid"]
    partner(sim, "PUT", f"/booking/{uid}", json={"comments": "Allergic to nuts"})
    partner(sim, "PUT", f"/booking/{uid}", json={"comments": "Allergic to nuts"})  # no change
    partner(sim, "DELETE", f"/booking/{uid}")

    events = [json.loads(body) for _, body in receiver.wait_for_count(3)]
    assert [e["event"] for e in events] == ["booking.created", "booking.changed",
                                            "booking.cancelled"]
    assert len(sim.events) == 4  # the state records every change, echoed or not


def test_it_sends_each_event_twice_with_the_same_id_on_demand(
        zenchef_simulator, webhook_receiver):
    sim, receiver = zenchef_simulator(), webhook_receiver()
    register(sim, receiver, duplicate=True)

    guest_books(sim)

    deliveries = receiver.wait_for_count(2)
    assert deliveries[0] == deliveries[1]  # same headers (id, signature) and same bytes


def test_it_redelivers_an_event_on_demand(zenchef_simulator, webhook_receiver):
    sim, receiver = zenchef_simulator(), webhook_receiver()
    register(sim, receiver)
    guest_books(sim)
    [(_, body)] = receiver.wait_for_count(1)

    event_id = json.loads(body)["eventId"]
    response = control(sim, "POST", "/webhooks/redeliver",
                       json={"restaurant_uid": SANDBOX_RESTAURANT_UID, "event_id": event_id})

    assert response.status_code == 200
    assert receiver.wait_for_count(2)[1][1] == body
    unknown = control(sim, "POST", "/webhooks/redeliver",
                      json={"restaurant_uid": SANDBOX_RESTAURANT_UID, "event_id": "evt_x"})
    assert unknown.status_code == 404


def test_it_holds_events_and_releases_them_out_of_order(zenchef_simulator, webhook_receiver):
    sim, receiver = zenchef_simulator(), webhook_receiver()
    register(sim, receiver, hold=True)
    uid = guest_books(sim)["uid"]
    control(sim, "PATCH", f"/bookings/{uid}", json={"numberOfPeople": 4})
    control(sim, "DELETE", f"/bookings/{uid}")
    assert sim.deliver_webhooks() == 0
    assert len(sim.state()["webhooks"][SANDBOX_RESTAURANT_UID]["held"]) == 3

    released = control(sim, "POST", "/webhooks/release",
                       json={"restaurant_uid": SANDBOX_RESTAURANT_UID, "order": "reverse"})

    assert released.json() == {"released": 3}
    events = [json.loads(body) for _, body in receiver.wait_for_count(3)]
    assert [e["event"] for e in events] == ["booking.cancelled", "booking.changed",
                                            "booking.created"]
    times = [e["occurredAt"] for e in events]
    assert times == sorted(times, reverse=True)  # what lets the hub see the order


def test_it_retries_a_delivery_the_hub_refused(zenchef_simulator, webhook_receiver):
    sim, receiver = zenchef_simulator(), webhook_receiver(fail_first=2)
    register(sim, receiver)

    guest_books(sim)

    [(_, body)] = receiver.wait_for_count(1)
    assert [status for status, _, _ in receiver.hits] == [500, 500, 200]
    assert {b for _, _, b in receiver.hits} == {body}  # the same bytes every time
    # The sender records its outcome just after the receiver has answered.
    deadline = time.monotonic() + 5
    while sim.channels[SANDBOX_RESTAURANT_UID].sender.pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    [delivery] = sim.state()["webhooks"][SANDBOX_RESTAURANT_UID]["deliveries"]
    assert delivery["attempts"] == 3
    assert delivery["status"] == "delivered"


def test_the_event_shape_and_signature_are_configurable(zenchef_simulator, webhook_receiver):
    sim, receiver = zenchef_simulator(), webhook_receiver()
    register(sim, receiver, payload="thin", signature_header="X-Signature", encoding="base64",
             prefix="sha256=", event_id_header="",
             event_names={"created": "reservation.created"})

    uid = guest_books(sim)["uid"]

    [(headers, body)] = receiver.wait_for_count(1)
    event = json.loads(body)
    assert event["event"] == "reservation.created"
    assert event["bookingUid"] == uid
    assert "booking" not in event
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    assert headers["x-signature"] == "sha256=" + base64.b64encode(digest).decode()
    assert "x-zenchef-event-id" not in headers


def test_it_can_send_the_bare_booking_unsigned(zenchef_simulator, webhook_receiver):
    sim, receiver = zenchef_simulator(), webhook_receiver()
    register(sim, receiver, payload="booking", scheme="none", secret="")

    uid = guest_books(sim)["uid"]

    [(headers, body)] = receiver.wait_for_count(1)
    assert json.loads(body)["uid"] == uid
    assert "x-zenchef-signature" not in headers
    assert headers["x-zenchef-event-id"].startswith("evt_")


def test_it_refuses_bad_webhook_settings(zenchef_simulator):
    sim = zenchef_simulator()
    for body in ({"url": "http://x", "secret": SECRET, "colour": "red"},
                 {"url": "http://x", "secret": SECRET, "payload": "fat"},
                 {"url": "http://x"},  # signed by default: a secret is needed
                 {"secret": SECRET},
                 {"restaurant_uid": "ffffffff", "url": "http://x", "secret": SECRET}):
        response = control(sim, "POST", "/webhooks", json=body)
        assert response.status_code == 400, body
        assert response.json()["error"]
    assert sim.channels == {}


def test_the_state_masks_the_webhook_secret(zenchef_simulator, webhook_receiver):
    sim, receiver = zenchef_simulator(), webhook_receiver()
    register(sim, receiver)
    state = control(sim, "GET", "/state").json()
    assert state["webhooks"][SANDBOX_RESTAURANT_UID]["settings"]["secret"] == "***"
    assert SECRET not in json.dumps(state)


def test_the_guest_controls_answer_404_and_400_in_the_control_shape(zenchef_simulator):
    sim = zenchef_simulator()
    assert control(sim, "PATCH", "/bookings/nope", json={}).status_code == 404
    assert control(sim, "DELETE", "/bookings/nope").status_code == 404
    unknown = control(sim, "POST", "/bookings", json={**GUEST, "restaurantUid": "ffffffff"})
    assert unknown.status_code == 404
    invalid = control(sim, "POST", "/bookings", json={**GUEST, "numberOfPeople": 0})
    assert invalid.status_code == 400
    assert "numberOfPeople" in invalid.json()["errors"]
    listed = control(sim, "GET", "/bookings").json()
    assert listed == []
