"""End to end over real HTTP, driven only through the REST API.

The hub runs on pytest-django's live server: the test talks to its API with
a token, the hub pushes to the Zenchef simulator, and the simulator sends
its signed webhooks to the configuration's own webhook URL on the live
server. The outbox and the inbox run in the live server's threads (Celery
is eager in tests), so everything between the API and the platform is what
production runs. The test reads the hub through the API only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from apps.core.connections import client_cache_clear
from apps.core.models import ApiToken
from apps.restosync.simulator import SANDBOX_API_KEY, SANDBOX_RESTAURANT_UID
from tests.helpers import wait_for
from tests.restosync.factories import next_weekday
from tests.restosync.helpers import guest_books, sim_bookings

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WEBHOOK_SECRET = "e2e-webhook-secret"


class Hub:
    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.headers = {"Authorization": f"Token {token}"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             expected: int = 200) -> Any:
        response = requests.request(method, self.url + path, json=body, headers=self.headers,
                                    timeout=30)
        assert response.status_code == expected, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    def reservation(self, pk: int) -> dict[str, Any]:
        return self.call("GET", f"/api/reservations/{pk}/")

    def reservations(self, restaurant: int) -> list[dict[str, Any]]:
        return self.call("GET", f"/api/reservations/?restaurant={restaurant}")["results"]

    def imported(self, restaurant: int, external_id: str) -> dict[str, Any] | None:
        for reservation in self.reservations(restaurant):
            if any(s["external_id"] == external_id for s in reservation["sync"]):
                return reservation
        return None


@pytest.fixture
def hub(live_server, manager_user) -> Hub:
    _, key = ApiToken.issue(manager_user)
    return Hub(live_server.url, key)


@pytest.fixture
def restaurant(hub, sim) -> dict[str, Any]:
    """A restaurant set up through the API, its Zenchef configuration polled once
    (which links the platform's areas and tables to rooms and tables here)."""
    restaurant = hub.call("POST", "/api/restosync/restaurants/",
                          {"name": "Bistro Test", "time_zone": "Europe/Brussels"}, 201)
    config = hub.call("POST", "/api/restosync/platform-configs/", {
        "restaurant": restaurant["id"], "platform": "zenchef", "api_key": SANDBOX_API_KEY,
        "restaurant_uid": SANDBOX_RESTAURANT_UID, "webhook_secret": WEBHOOK_SECRET}, 201)
    poll(hub, config)
    return {**restaurant, "config": config}


def poll(hub: Hub, config: dict[str, Any]) -> dict[str, Any]:
    """Poll now, and the run once it has finished."""
    started = hub.call("POST", f"/api/restosync/platform-configs/{config['id']}/poll/",
                       expected=202)
    return wait_for(lambda: [run for run in hub.call(
        "GET", f"/api/restosync/platform-configs/{config['id']}/runs/")
        if run["id"] == started["sync_run"] and run["status"] != "running"])[0]


def webhooks_on(sim, restaurant: dict[str, Any], live_server) -> None:
    """Zenchef sends its webhooks to the configuration's URL, on the live server."""
    path = urlsplit(restaurant["config"]["webhook_url"]).path
    response = requests.post(f"{sim.base_url}/_sim/webhooks", json={
        "restaurant_uid": SANDBOX_RESTAURANT_UID, "secret": WEBHOOK_SECRET,
        "url": live_server.url + path}, timeout=5)
    assert response.status_code == 200, response.text


def webhooks_pending(sim) -> int:
    state = requests.get(f"{sim.base_url}/_sim/state", timeout=5).json()
    return state["webhooks"][SANDBOX_RESTAURANT_UID]["pending"]


def table_ids(hub: Hub, restaurant: dict[str, Any]) -> dict[str, int]:
    tables = hub.call("GET", f"/api/tables/?restaurant={restaurant['id']}")["results"]
    return {table["name"]: table["id"] for table in tables}


def room_ids(hub: Hub, restaurant: dict[str, Any]) -> dict[str, int]:
    rooms = hub.call("GET", f"/api/rooms/?restaurant={restaurant['id']}")["results"]
    return {room["name"]: room["id"] for room in rooms}


def booking_of(sim, external_id: str) -> dict[str, Any]:
    [booking] = [b for b in sim_bookings(sim) if b["uid"] == external_id]
    return booking


def test_bookings_changes_and_cancels_travel_both_ways(hub, sim, restaurant, live_server):
    webhooks_on(sim, restaurant, live_server)

    # Zenchef -> here, by webhook, with its room and table resolved.
    made = guest_books(sim)
    imported = wait_for(lambda: hub.imported(restaurant["id"], made["uid"]))
    assert imported["party_size"] == 3
    assert imported["tables"] == [table_ids(hub, restaurant)["13"]]
    assert imported["dining_room"] == room_ids(hub, restaurant)["Restaurant"]

    # Here -> Zenchef: a partial update of the same booking.
    changed = hub.call("PATCH", f"/api/reservations/{imported['id']}/",
                       {"party_size": 4, "version": imported["version"]})
    assert changed["party_size"] == 4
    wait_for(lambda: booking_of(sim, made["uid"])["numberOfPeople"] == 4)
    assert len(sim_bookings(sim)) == 1

    # Zenchef -> here: the guest cancels.
    requests.delete(f"{sim.base_url}/_sim/bookings/{made['uid']}", timeout=5)
    wait_for(lambda: hub.reservation(imported["id"])["status"] == "cancelled")


def test_a_reservation_made_here_is_booked_there_and_its_cancel_follows(hub, sim, restaurant):
    tables = table_ids(hub, restaurant)
    created = hub.call("POST", "/api/reservations/", {
        "restaurant": restaurant["id"], "customer_name": "Lotte Peeters",
        "customer_phone": "+32475123456", "party_size": 2,
        "reservation_time": next_weekday(3).isoformat(), "tables": [tables["12"]]}, 201)

    [sync] = wait_for(lambda: [s for s in hub.reservation(created["id"])["sync"]
                               if s["status"] == "synced"])
    booking = booking_of(sim, sync["external_id"])
    assert booking["externalReferenceId"] == str(created["id"])
    assert [t["id"] for t in booking["tables"]] == [12]

    hub.call("PATCH", f"/api/reservations/{created['id']}/", {"status": "cancelled"})
    wait_for(lambda: booking_of(sim, sync["external_id"])["status"] == "CANCELLED")


def test_the_poll_brings_a_booking_in_when_webhooks_are_off(hub, sim, restaurant):
    made = guest_books(sim)
    assert hub.imported(restaurant["id"], made["uid"]) is None

    run = poll(hub, restaurant["config"])

    assert (run["status"], run["created"]) == ("success", 1)
    imported = hub.imported(restaurant["id"], made["uid"])
    assert imported["tables"] == [table_ids(hub, restaurant)["13"]]
    assert imported["dining_room"] == room_ids(hub, restaurant)["Restaurant"]


def test_a_seated_reservation_ignores_a_platform_cancel(hub, sim, restaurant, live_server):
    webhooks_on(sim, restaurant, live_server)
    made = guest_books(sim)
    imported = wait_for(lambda: hub.imported(restaurant["id"], made["uid"]))

    hub.call("PATCH", f"/api/reservations/{imported['id']}/", {"status": "seated"})
    wait_for(lambda: booking_of(sim, made["uid"])["checkInDateTime"])
    requests.delete(f"{sim.base_url}/_sim/bookings/{made['uid']}", timeout=5)
    wait_for(lambda: webhooks_pending(sim) == 0)

    assert hub.reservation(imported["id"])["status"] == "seated"


def test_a_timeout_after_a_create_never_leaves_two_bookings(hub, sim, restaurant, settings):
    settings.ZENCHEF_READ_TIMEOUT_SECONDS = 0.5
    client_cache_clear()
    requests.post(f"{sim.base_url}/_sim/platform-faults",
                  json={"timeout_after_create": 1, "timeout_after_create_seconds": 2},
                  timeout=5)
    created = hub.call("POST", "/api/reservations/", {
        "restaurant": restaurant["id"], "customer_name": "Ward Maes",
        "customer_phone": "+32475987654", "party_size": 2,
        "reservation_time": next_weekday(2).isoformat()}, 201)
    assert hub.call("GET", "/api/sync/retry/")["pending"] == 1

    retried = hub.call("POST", "/api/sync/retry/")

    assert (retried["ran"], retried["pending"]) == (1, 0)
    [booking] = sim_bookings(sim)
    [sync] = hub.reservation(created["id"])["sync"]
    assert (sync["external_id"], sync["status"]) == (booking["uid"], "synced")


def test_a_conflict_appears_and_is_resolved_through_the_api(hub, sim, restaurant, live_server):
    webhooks_on(sim, restaurant, live_server)
    made = guest_books(sim)
    imported = wait_for(lambda: hub.imported(restaurant["id"], made["uid"]))
    # Zenchef is down while the restaurant changes the party: the push waits.
    requests.post(f"{sim.base_url}/_sim/faults", json={"error_rate": 1.0}, timeout=5)
    hub.call("PATCH", f"/api/reservations/{imported['id']}/", {"party_size": 5})
    requests.post(f"{sim.base_url}/_sim/faults", json={"error_rate": 0.0}, timeout=5)
    # Meanwhile the guest changes it on Zenchef.
    requests.patch(f"{sim.base_url}/_sim/bookings/{made['uid']}",
                   json={"numberOfPeople": 6}, timeout=5)

    [conflict] = wait_for(lambda: hub.call("GET", "/api/restosync/conflicts/")["results"])
    assert conflict["reservation"] == imported["id"]
    assert (conflict["local_value"]["party_size"], conflict["remote_value"]["party_size"]) == (
        5, 6)

    resolved = hub.call("POST", f"/api/restosync/conflicts/{conflict['id']}/resolve/",
                        {"resolution": "keep_local"})

    assert resolved["status"] == "resolved"
    assert hub.reservation(imported["id"])["party_size"] == 5
    assert hub.call("GET", "/api/restosync/conflicts/")["results"] == []
    # The manager's "retry now" sends what waited while Zenchef was down.
    hub.call("POST", "/api/sync/retry/")
    wait_for(lambda: booking_of(sim, made["uid"])["numberOfPeople"] == 5)
