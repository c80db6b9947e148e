"""The Microsoft simulator's throttling over real HTTP: 429 with Retry-After and
Graph's error body, on demand and past the per-mailbox quota."""

from __future__ import annotations

import pytest
import requests

from tests.integrations import microsoft_fixtures
from tests.integrations.microsoft_fixtures import (
    REDIRECT_URI,
    Graph,
    authorize,
    control,
    graph_for,
    redirect_params,
)

# The fixtures, where pytest finds them (an import would be an unused name for ruff).
microsoft_simulator = microsoft_fixtures.microsoft_simulator


def _throttled(response, code: str) -> int:
    """Checks a 429 of Graph's shape; returns its Retry-After in seconds."""
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    return int(response.headers["Retry-After"])


@pytest.mark.parametrize("code", ["TooManyRequests", "ApplicationThrottled"])
def test_it_throttles_the_next_calls_on_demand(microsoft_simulator, code):
    sim = microsoft_simulator()
    graph = graph_for(sim)
    control(sim, "POST", "/throttle", {"next": 2, "code": code, "retry_after": 7})
    assert _throttled(graph.get("/me"), code) == 7
    assert _throttled(graph.get("/me"), code) == 7
    assert graph.get("/me").status_code == 200
    assert sim.state()["throttle"]["throttled"] == 2


def test_it_throttles_past_the_quota_until_the_window_moves(microsoft_simulator):
    sim = microsoft_simulator(throttle_limit=3, throttle_window_seconds=60)
    graph = graph_for(sim)
    for _ in range(3):
        assert graph.get("/me").status_code == 200
    # Until the first call of the window leaves it: 60 s from that call.
    assert 58 <= _throttled(graph.get("/me"), "ApplicationThrottled") <= 60
    control(sim, "POST", "/advance", {"seconds": 61})
    assert graph.get("/me").status_code == 200


def test_it_does_not_count_the_token_endpoint_in_the_graph_quota(microsoft_simulator):
    sim = microsoft_simulator(throttle_limit=1, throttle_window_seconds=60)
    graph_for(sim)
    graph = graph_for(sim)
    assert graph.get("/me").status_code == 200


def test_the_framework_knob_answers_with_graphs_body(microsoft_simulator):
    sim = microsoft_simulator()
    graph = graph_for(sim)
    control(sim, "POST", "/faults", {"rate_limit_every": 1, "retry_after_seconds": 3})
    assert _throttled(graph.get("/me"), "TooManyRequests") == 3


def test_the_framework_error_knob_answers_with_graphs_body(microsoft_simulator):
    sim = microsoft_simulator()
    graph = graph_for(sim)
    control(sim, "POST", "/faults", {"error_rate": 1.0})
    response = graph.get("/me")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "serviceNotAvailable"


def test_reset_forgets_tokens_events_and_knobs(microsoft_simulator):
    sim = microsoft_simulator()
    graph = graph_for(sim)
    control(sim, "POST", "/throttle", {"next": 5})
    control(sim, "POST", "/reset")
    assert graph.get("/me").status_code == 401
    assert sim.state()["throttle"]["next"] == 0


def test_it_counts_the_quota_per_application(microsoft_simulator):
    other = ("another-app", "another-secret")
    sim = microsoft_simulator(throttle_limit=1, throttle_window_seconds=60,
                              clients={"simulator-microsoft-client":
                                       "simulator-microsoft-secret", other[0]: other[1]})
    assert graph_for(sim).get("/me").status_code == 200
    verifier = "v" * 60
    code = redirect_params(authorize(sim, verifier=verifier, client_id=other[0]))["code"]
    answer = requests.post(f"{sim.base_url}/common/oauth2/v2.0/token", timeout=5, data={
        "client_id": other[0], "client_secret": other[1], "grant_type": "authorization_code",
        "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier}).json()
    assert Graph(sim, answer["access_token"]).get("/me").status_code == 200
