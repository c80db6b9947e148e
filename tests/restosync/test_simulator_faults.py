"""The Zenchef simulator's rate limit and fault knobs over real HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests

from apps.core.simulator import FaultKnobs
from apps.restosync.simulator import SANDBOX_API_KEY, SANDBOX_RESTAURANT_UID, build
from apps.restosync.simulator.store import sandbox_restaurant

START = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC).timestamp()
BOOKING = {"bookingDateTime": "2026-06-05T19:30:00+02:00", "bookingDuration": None,
           "numberOfPeople": 2, "culture": None, "company": False,
           "externalReferenceId": "res-1"}


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def call(sim, method: str, path: str, restaurant_uid: str = SANDBOX_RESTAURANT_UID,
         **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{sim.base_url}/api/v1.2/{restaurant_uid}{path}",
                            headers={"ApiKey": SANDBOX_API_KEY},
                            timeout=kwargs.pop("timeout", 5), **kwargs)


def test_it_answers_429_without_retry_after_beyond_100_a_minute_per_restaurant(
        zenchef_simulator):
    clock = FakeClock()
    sim = zenchef_simulator(clock=clock, restaurants=[sandbox_restaurant(SANDBOX_RESTAURANT_UID),
                                                      sandbox_restaurant("0000beef")])
    for _ in range(100):
        assert call(sim, "GET", "/areas").status_code == 200

    refused = call(sim, "GET", "/areas")

    assert refused.status_code == 429
    assert refused.json() == {"message": "Too many requests."}
    assert "Retry-After" not in refused.headers
    assert not any(name.lower().startswith("x-ratelimit") for name in refused.headers)
    assert call(sim, "GET", "/areas", "0000beef").status_code == 200  # per restaurant
    clock.now += 59
    assert call(sim, "GET", "/areas").status_code == 429
    clock.now += 1  # the first request leaves the sliding minute
    assert call(sim, "GET", "/areas").status_code == 200
    assert sim.state()["rate_limited"] == 2


def test_a_request_refused_401_uses_no_slot(zenchef_simulator):
    sim = zenchef_simulator(clock=FakeClock(), per_minute_limit=2)
    requests.get(f"{sim.base_url}/api/v1.2/{SANDBOX_RESTAURANT_UID}/areas",
                 headers={"ApiKey": "wrong"}, timeout=5)
    assert call(sim, "GET", "/areas").status_code == 200
    assert call(sim, "GET", "/areas").status_code == 200
    assert call(sim, "GET", "/areas").status_code == 429


def test_the_framework_rate_limit_knob_answers_the_platforms_429_too(zenchef_simulator):
    sim = zenchef_simulator(faults=FaultKnobs(rate_limit_every=2))
    assert call(sim, "GET", "/areas").status_code == 200
    refused = call(sim, "GET", "/areas")
    assert refused.status_code == 429
    assert "Retry-After" not in refused.headers


def test_timeout_after_create_stores_the_booking_but_holds_the_answer(zenchef_simulator):
    sim = zenchef_simulator()
    knobs = requests.post(f"{sim.base_url}/_sim/platform-faults", timeout=5,
                          json={"timeout_after_create": 1, "timeout_after_create_seconds": 1.0})
    assert knobs.json() == {"timeout_after_create": 1, "timeout_after_create_seconds": 1.0}

    with pytest.raises(requests.Timeout):
        call(sim, "POST", "/booking", json=BOOKING, timeout=0.3)

    found = call(sim, "GET", "/booking/external/workforce-hub/res-1")
    assert found.status_code == 200
    assert sim.state()["lost_answers"] == [found.json()["uid"]]
    # Only the next create was affected: the following one answers at once.
    assert call(sim, "POST", "/booking", json={**BOOKING, "externalReferenceId": "res-2"},
                timeout=0.3).status_code == 200
    assert len(sim.ledger.bookings) == 2


def test_the_timeout_fault_can_be_set_at_construction(zenchef_simulator):
    sim = zenchef_simulator(timeout_after_create=1, timeout_after_create_seconds=1.0)
    with pytest.raises(requests.Timeout):
        call(sim, "POST", "/booking", json=BOOKING, timeout=0.3)
    assert len(sim.ledger.bookings) == 1
    assert requests.post(f"{sim.base_url}/_sim/platform-faults", json={"bogus": 1},
                         timeout=5).status_code == 400


def test_a_refused_create_does_not_use_the_timeout_fault(zenchef_simulator):
    sim = zenchef_simulator(timeout_after_create=1, timeout_after_create_seconds=1.0)
    assert call(sim, "POST", "/booking", json={}, timeout=0.5).status_code == 400
    assert sim.timeout_after_create == 1


def test_the_framework_faults_answer_in_the_platforms_shape(zenchef_simulator):
    sim = zenchef_simulator(faults=FaultKnobs(error_rate=1.0))
    failed = call(sim, "GET", "/areas")
    assert failed.status_code == 503
    assert failed.json() == {"message": "An error has occurred."}

    requests.post(f"{sim.base_url}/_sim/faults", json={"error_rate": 0, "malformed_rate": 1},
                  timeout=5)
    cut = call(sim, "GET", "/areas")
    assert cut.status_code == 200
    with pytest.raises(ValueError):
        cut.json()


def test_a_hanging_response_outlasts_the_clients_timeout(zenchef_simulator):
    sim = zenchef_simulator(faults=FaultKnobs(hang_seconds=1.0, hang_rate=1.0))
    with pytest.raises(requests.Timeout):
        call(sim, "GET", "/areas", timeout=0.3)


def test_reset_forgets_bookings_and_faults(zenchef_simulator):
    sim = zenchef_simulator()
    call(sim, "POST", "/booking", json=BOOKING)
    requests.post(f"{sim.base_url}/_sim/platform-faults", json={"timeout_after_create": 3},
                  timeout=5)
    requests.post(f"{sim.base_url}/_sim/reset", timeout=5)
    assert sim.state()["bookings"] == []
    assert sim.timeout_after_create == 0
    assert call(sim, "GET", "/booking/external/workforce-hub/res-1").status_code == 404


def test_unknown_paths_and_methods_answer_in_the_platforms_shape(zenchef_simulator):
    sim = zenchef_simulator()
    missing = requests.get(f"{sim.base_url}/api/v1.2/nothing", timeout=5)
    assert missing.status_code == 404
    assert "message" in missing.json()
    assert call(sim, "PATCH", "/booking/abc").status_code == 405


def test_build_serves_the_sandbox_without_any_setting():
    sim = build()
    assert SANDBOX_RESTAURANT_UID in sim.restaurants
    assert sim.api_keys == {SANDBOX_API_KEY: "workforce-hub"}
    assert sim.channels == {}


def test_a_restaurant_and_its_key_can_be_added_at_run_time(zenchef_simulator):
    sim = zenchef_simulator()
    added = requests.post(f"{sim.base_url}/_sim/restaurants", timeout=5, json={
        "uid": "1234abcd", "name": "Chez Test", "timezone": "Europe/Paris",
        "api_key": "other-key", "source": "other-app",
        "areas": [{"id": 7, "name": "Salle"}],
        "tables": [{"id": 70, "name": "70", "maxPeople": 8, "areaId": 7}]})
    assert added.status_code == 201, added.text
    assert added.json()["timezone"] == "Romance Standard Time"

    tables = requests.get(f"{sim.base_url}/api/v1.2/1234abcd/tables", timeout=5,
                          headers={"ApiKey": "other-key"})
    assert [t["id"] for t in tables.json()] == [70]
    booking = requests.post(f"{sim.base_url}/api/v1.2/1234abcd/booking", json=BOOKING,
                            headers={"ApiKey": "other-key"}, timeout=5).json()
    assert booking["source"] == "other-app"
    assert [t["id"] for t in booking["tables"]] == [70]
    bad = requests.post(f"{sim.base_url}/_sim/restaurants", json={"name": "no uid"}, timeout=5)
    assert bad.status_code == 400
