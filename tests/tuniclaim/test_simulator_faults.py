"""The MY TUNICLAIM simulator's fault knobs over real HTTP: the listing's shapes,
one bordereau's bulletins failing, the framework's errors, reset and time."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from apps.core.simulator import FaultKnobs


def control(sim, method: str, action: str, body: Any = None,
            expect: tuple[int, ...] = (200, 201)) -> Any:
    answer = requests.request(method, f"{sim.base_url}/_sim/{action}", json=body, timeout=10)
    assert answer.status_code in expect, answer.text
    return answer.json()


def get(sim, path: str = "", **params: Any) -> requests.Response:
    return requests.get(f"{sim.base_url}/api/bordereaux{path}", params=params, timeout=10)


def test_the_listing_may_be_a_bare_array_of_every_match(tuniclaim_simulator):
    sim = tuniclaim_simulator(batches=7, list_shape="array")

    answer = get(sim, page=1, pageSize=3).json()

    assert isinstance(answer, list)
    assert len(answer) == 7  # one page: pagination does not apply
    assert {"id", "reference", "updatedAt"} <= set(answer[0])


def test_the_shape_is_switched_at_run_time_and_back(tuniclaim_simulator):
    sim = tuniclaim_simulator()

    control(sim, "POST", "platform-faults", {"list_shape": "array"})
    assert isinstance(get(sim).json(), list)
    control(sim, "POST", "platform-faults", {"list_shape": "object"})
    assert set(get(sim).json()) == {"bordereaux", "page", "totalPages"}


def test_unexpected_shapes_for_the_hubs_error_handling(tuniclaim_simulator):
    sim = tuniclaim_simulator()

    control(sim, "POST", "platform-faults", {"list_shape": "unexpected"})
    unexpected = get(sim)
    control(sim, "POST", "platform-faults", {"list_shape": "html"})
    html = get(sim)
    control(sim, "POST", "platform-faults", {"list_shape": "truncated"})
    truncated = get(sim)

    assert unexpected.status_code == 200
    assert set(unexpected.json()) == {"data", "meta"}
    assert html.status_code == 200
    assert html.headers["Content-Type"] == "text/html"
    assert truncated.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(truncated.content)


def test_a_shape_can_hit_some_pages_only(tuniclaim_simulator):
    sim = tuniclaim_simulator(batches=6)

    faults = control(sim, "POST", "platform-faults",
                     {"list_shape": "truncated", "list_shape_pages": [2]})

    assert faults == {"list_shape": "truncated", "list_shape_pages": [2], "fail_bulletins": {}}
    assert len(get(sim, page=1, pageSize=3).json()["bordereaux"]) == 3
    with pytest.raises(json.JSONDecodeError):
        json.loads(get(sim, page=2, pageSize=3).content)
    assert get(sim, page=3, pageSize=3).json()["bordereaux"] == []


def test_one_bordereaus_bulletins_fail_and_the_others_answer(tuniclaim_simulator):
    sim = tuniclaim_simulator()
    first, second, third = [r["id"] for r in get(sim).json()["bordereaux"][:3]]

    control(sim, "POST", "platform-faults", {"fail_bulletins": [first]})
    control(sim, "POST", "platform-faults", {"fail_bulletins": {first: 500, second: 503}})

    failed = get(sim, f"/{first}/bulletins")
    unavailable = get(sim, f"/{second}/bulletins")
    assert failed.status_code == 500
    assert failed.json() == {"statusCode": 500, "message": "Internal server error",
                             "error": "Internal Server Error"}
    assert unavailable.status_code == 503
    assert get(sim, f"/{third}/bulletins").status_code == 200
    assert get(sim).status_code == 200  # the listing still names it
    control(sim, "POST", "platform-faults", {"fail_bulletins": {}})
    assert get(sim, f"/{first}/bulletins").status_code == 200


def test_a_bad_platform_fault_is_a_400(tuniclaim_simulator):
    sim = tuniclaim_simulator()

    assert control(sim, "POST", "platform-faults", {"list_shape": "xml"}, expect=(400,))[
        "error"].startswith("list_shape must be one of")
    assert control(sim, "POST", "platform-faults", {"fail_bulletins": {"x": 200}},
                   expect=(400,))["error"] == "fail_bulletins must be between 400 and 599"
    assert control(sim, "POST", "platform-faults", {"hang": 1}, expect=(400,))[
        "error"] == "unknown platform fault(s): hang"


def test_the_frameworks_knobs_answer_in_the_platforms_error_shape(tuniclaim_simulator):
    sim = tuniclaim_simulator(faults=FaultKnobs(rate_limit_every=2))

    assert get(sim).status_code == 200
    limited = get(sim)
    control(sim, "POST", "faults", {"rate_limit_every": 0, "error_rate": 1.0})
    failing = get(sim)

    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert limited.json()["statusCode"] == 429
    assert failing.status_code == 503
    assert failing.json() == {"statusCode": 503, "message": "Service Unavailable",
                              "error": "Service Unavailable"}


def test_reset_goes_back_to_the_data_set_of_construction(tuniclaim_simulator):
    sim = tuniclaim_simulator(batches=3, claims=2)
    record = get(sim).json()["bordereaux"][0]
    claim = get(sim, f"/{record['id']}/bulletins").json()[0]
    control(sim, "POST", "generate", {"batches": 9})
    control(sim, "POST", "platform-faults", {"list_shape": "array"})
    requests.put(f"{sim.base_url}/api/bordereaux/{record['id']}/status", timeout=10, json={
        "bordereauId": record["id"], "bsId": claim["numBs"], "newStatus": "REJECTED",
        "processedBy": "Sami", "processedAt": "2026-11-30T10:00:00Z"})

    control(sim, "POST", "reset")

    state = control(sim, "GET", "state")
    assert (state["bordereaux"], state["bulletins"]) == (3, 6)
    assert state["pushes"]["received"] == 0
    assert state["platform_faults"]["list_shape"] == "object"
    again = get(sim).json()["bordereaux"][0]
    assert {k: v for k, v in again.items() if k != "updatedAt"} == {
        k: v for k, v in record.items() if k != "updatedAt"}


def test_the_clock_moves_forward_on_demand(tuniclaim_simulator):
    sim = tuniclaim_simulator(batches=1)
    before = control(sim, "GET", "state")["now"]

    moved = control(sim, "POST", "advance", {"seconds": 7200})

    assert moved["now"] > before
    assert moved["now"][:13] != before[:13]


def test_an_unknown_control_or_bordereau_is_a_404(tuniclaim_simulator):
    sim = tuniclaim_simulator()

    assert control(sim, "GET", "nothing", expect=(404,))
    assert control(sim, "GET", "bordereaux/nope", expect=(404,)) == {
        "error": "unknown bordereau nope"}


def test_a_hung_push_is_applied_after_the_wait_and_its_resend_is_a_repeat(tuniclaim_simulator):
    sim = tuniclaim_simulator(batches=1, claims=1)
    record = get(sim).json()["bordereaux"][0]
    claim = get(sim, f"/{record['id']}/bulletins").json()[0]
    url = f"{sim.base_url}/api/bordereaux/{record['id']}/status"
    body = {"bordereauId": record["reference"], "bsId": claim["numBs"], "newStatus": "REJECTED",
            "processedBy": "Sami", "processedAt": "2026-11-30T10:00:00Z"}
    control(sim, "POST", "faults", {"hang_seconds": 1.0, "hang_rate": 1.0})

    with pytest.raises(requests.Timeout):
        requests.put(url, json=body, timeout=0.3)
    control(sim, "POST", "faults", {"hang_seconds": 0.0, "hang_rate": 0.0})
    deadline = time.monotonic() + 5
    while not control(sim, "GET", "pushes")["count"] and time.monotonic() < deadline:
        time.sleep(0.05)
    resent = requests.put(url, json=body, timeout=10)

    assert resent.status_code == 200
    assert [p["outcome"] for p in control(sim, "GET", "pushes")["pushes"]] == [
        "applied", "repeat"]
