"""The simulator framework's control routes: under the lock, never faulted, and
a refusal answered rather than a crash."""

from __future__ import annotations

import pytest
import requests

from apps.core.simulator import (
    ControlError,
    FaultKnobs,
    SimRequest,
    SimResponse,
    Simulator,
    control_route,
    serve,
)


class PlatformRefusal(Exception):
    pass


class Toy(Simulator):
    name = "toy"

    def __init__(self) -> None:
        super().__init__(faults=FaultKnobs(error_rate=1.0))
        self.prepared = 0

    def control_prepare(self, request: SimRequest) -> None:
        self.prepared += 1

    def control_error(self, exc: Exception) -> SimResponse | None:
        if isinstance(exc, PlatformRefusal):
            return SimResponse.json(409, {"error": "refused", "why": str(exc)})
        return None

    @control_route("POST", "/things")
    def add_thing(self, request: SimRequest) -> SimResponse:
        body = request.json()
        if body["name"] == "missing":
            raise ControlError("no such thing", status=404)
        if body["name"] == "taken":
            raise PlatformRefusal("taken")
        if body["name"] == "bug":
            raise RuntimeError("a bug in the simulator")
        return SimResponse.json(201, {"name": body["name"], "locked": self.lock._is_owned()})


@pytest.fixture
def toy():
    server = serve(Toy())
    yield server.simulator
    server.stop()


def post(toy, body) -> requests.Response:
    return requests.post(f"{toy.base_url}/_sim/things", json=body, timeout=5)


def test_it_runs_under_the_lock_after_the_prepare_hook_and_is_never_faulted(toy):
    answer = post(toy, {"name": "lamp"})

    # Every platform request fails with error_rate 1.0; controls are not faulted.
    assert (answer.status_code, answer.json()) == (201, {"name": "lamp", "locked": True})
    assert toy.prepared == 1


@pytest.mark.parametrize(("body", "status", "error"), [
    ({"name": "missing"}, 404, "no such thing"),
    ({"name": "taken"}, 409, "refused"),
    ({}, 400, "'name'"),
])
def test_refusals_are_answers(toy, body, status, error):
    answer = post(toy, body)

    assert answer.status_code == status
    assert answer.json()["error"] == error


def test_a_bug_is_not_disguised_as_a_bad_request(toy):
    assert post(toy, {"name": "bug"}).status_code == 500
