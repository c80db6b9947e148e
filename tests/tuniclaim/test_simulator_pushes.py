"""Status and payment pushes to the MY TUNICLAIM simulator over real HTTP:
checked, applied, recorded, and a repeat applied once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests

START = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC).timestamp()


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def put(sim, bordereau_id: str, kind: str, body: Any, **kwargs: Any) -> requests.Response:
    return requests.put(f"{sim.base_url}/api/bordereaux/{bordereau_id}/{kind}", json=body,
                        timeout=10, **kwargs)


def sim_get(sim, action: str, **params: Any) -> Any:
    answer = requests.get(f"{sim.base_url}/_sim/{action}", params=params, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(tuniclaim_simulator, clock):
    return tuniclaim_simulator(batches=2, claims=3, clock=clock)


@pytest.fixture
def target(sim) -> dict[str, Any]:
    """The first claim of the first bordereau, with the keys a push needs."""
    record = requests.get(f"{sim.base_url}/api/bordereaux", timeout=10).json()["bordereaux"][0]
    claim = requests.get(f"{sim.base_url}/api/bordereaux/{record['id']}/bulletins",
                         timeout=10).json()[0]
    return {"id": record["id"], "reference": record["reference"], "numBs": claim["numBs"],
            "etat": claim["etat"], "updatedAt": record["updatedAt"]}


def status_body(target: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {"bordereauId": target["reference"], "bsId": target["numBs"],
            "oldStatus": target["etat"], "newStatus": "VALIDATED",
            "processedBy": "Leila Trabelsi", "processedAt": "2026-11-30T10:15:00Z",
            "gestionnaireId": "17", **changes}


def payment_body(target: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {"bordereauId": target["reference"], "bsId": target["numBs"],
            "paymentStatus": "EXECUTE", "paymentDate": "2026-11-30", "amount": "150.500",
            "virementReference": "VIR-2026-0042", "processedBy": "Leila Trabelsi", **changes}


def claim_on_platform(sim, target: dict[str, Any]) -> dict[str, Any]:
    bordereau = sim_get(sim, f"bordereaux/{target['id']}")
    return next(c for c in bordereau["bulletins"] if c["numBs"] == target["numBs"])


def updated_at(sim, target: dict[str, Any]) -> str:
    return sim_get(sim, f"bordereaux/{target['id']}")["updatedAt"]


def test_a_status_push_is_applied_recorded_and_moves_updated_at(sim, target, clock):
    clock.now += 90

    answer = put(sim, target["id"], "status", status_body(target, newStatus="MIS_EN_INSTANCE"))

    assert answer.status_code == 200
    assert answer.json()["numBs"] == target["numBs"]
    assert answer.json()["etat"] == "MIS_EN_INSTANCE"
    listed = requests.get(f"{sim.base_url}/api/bordereaux/{target['id']}/bulletins",
                          timeout=10).json()
    assert next(c for c in listed if c["numBs"] == target["numBs"])["etat"] == "MIS_EN_INSTANCE"
    assert updated_at(sim, target) == "2026-11-30T09:01:30.000Z"
    [push] = sim_get(sim, "pushes")["pushes"]
    assert push["kind"] == "status"
    assert push["outcome"] == "applied"
    assert push["status"] == 200
    assert push["bordereau"] == target["id"]
    assert push["bsId"] == target["numBs"]
    assert push["body"] == status_body(target, newStatus="MIS_EN_INSTANCE")
    assert push["receivedAt"] == "2026-11-30T09:01:30.000Z"


def test_a_payment_push_is_applied_to_the_claim(sim, target, clock):
    clock.now += 30

    answer = put(sim, target["id"], "payment", payment_body(target))

    assert answer.status_code == 200
    payment = answer.json()["payment"]
    assert payment["paymentStatus"] == "EXECUTE"
    assert payment["amount"] == "150.500"
    assert payment["virementReference"] == "VIR-2026-0042"
    assert claim_on_platform(sim, target)["payment"] == payment
    assert updated_at(sim, target) == "2026-11-30T09:00:30.000Z"


def test_the_same_push_twice_is_applied_once_and_recorded_as_a_repeat(sim, target, clock):
    body = status_body(target)
    first = put(sim, target["id"], "status", body)
    after_first = updated_at(sim, target)
    clock.now += 60

    second = put(sim, target["id"], "status", body)

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert updated_at(sim, target) == after_first  # nothing changed the second time
    assert [p["outcome"] for p in sim_get(sim, "pushes")["pushes"]] == ["applied", "repeat"]
    assert sim_get(sim, "pushes", outcome="applied", bsId=target["numBs"])["count"] == 1
    assert sim_get(sim, "state")["pushes"] == {"received": 2, "applied": 1, "repeat": 1,
                                               "rejected": 0}


def test_a_push_back_to_an_earlier_body_is_a_change_again(sim, target):
    validated = status_body(target)
    rejected = status_body(target, oldStatus="VALIDATED", newStatus="REJECTED")

    for body in (validated, rejected, validated):
        assert put(sim, target["id"], "status", body).status_code == 200

    assert [p["outcome"] for p in sim_get(sim, "pushes")["pushes"]] == ["applied"] * 3
    assert claim_on_platform(sim, target)["etat"] == "VALIDATED"


def test_a_payment_amount_may_be_a_json_number(sim, target):
    answer = put(sim, target["id"], "payment", payment_body(target, amount=150.5,
                                                           paymentStatus="EXECUTE_PARTIELLEMENT"))

    assert answer.status_code == 200
    assert answer.json()["payment"]["amount"] == 150.5


def test_bordereau_id_may_be_the_id_or_the_reference_of_the_url_bordereau(sim, target):
    by_id = put(sim, target["id"], "status", status_body(target, bordereauId=target["id"]))
    other = sim_get(sim, "state")  # a second bordereau exists
    assert other["bordereaux"] == 2
    elsewhere = put(sim, target["id"], "status", status_body(target, bordereauId="BR-1999-000001"))

    assert by_id.status_code == 200
    assert elsewhere.status_code == 400
    assert elsewhere.json()["errors"] == {"bordereauId": ["does not name the bordereau of the URL"]}


@pytest.mark.parametrize(("kind", "changes", "field"), [
    ("status", {"newStatus": None}, "newStatus"),
    ("status", {"newStatus": "TRAITE"}, "newStatus"),
    ("status", {"oldStatus": "UNKNOWN"}, "oldStatus"),
    ("status", {"processedBy": ""}, "processedBy"),
    ("status", {"processedAt": "2026-11-30 10:15"}, "processedAt"),
    ("status", {"bsId": None}, "bsId"),
    ("status", {"bordereauId": None}, "bordereauId"),
    ("payment", {"paymentStatus": "PAYE"}, "paymentStatus"),
    ("payment", {"paymentStatus": None}, "paymentStatus"),
    ("payment", {"amount": "12,500"}, "amount"),
    ("payment", {"amount": "150.5001"}, "amount"),
    ("payment", {"amount": -1}, "amount"),
    ("payment", {"paymentDate": "30/11/2026"}, "paymentDate"),
    ("payment", {"processedBy": None}, "processedBy"),
])
def test_an_invalid_push_is_a_400_naming_the_field_and_changes_nothing(
        sim, target, kind, changes, field):
    body = (status_body if kind == "status" else payment_body)(target, **changes)

    answer = put(sim, target["id"], kind, body)

    assert answer.status_code == 400
    assert answer.json()["message"] == "Validation failed"
    assert list(answer.json()["errors"]) == [field]
    assert claim_on_platform(sim, target)["etat"] == target["etat"]
    assert claim_on_platform(sim, target)["payment"] is None
    assert updated_at(sim, target) == target["updatedAt"]
    [push] = sim_get(sim, "pushes")["pushes"]
    assert push["outcome"] == "rejected"
    assert push["status"] == 400
    assert list(push["errors"]) == [field]


def test_every_missing_field_is_named_at_once(sim, target):
    answer = put(sim, target["id"], "payment", {"bsId": target["numBs"]})

    assert answer.status_code == 400
    assert set(answer.json()["errors"]) == {"bordereauId", "paymentStatus", "processedBy"}


def test_a_body_that_is_not_a_json_object_is_a_400(sim, target):
    not_json = requests.put(f"{sim.base_url}/api/bordereaux/{target['id']}/status",
                            data=b"{oops", headers={"Content-Type": "application/json"},
                            timeout=10)
    a_list = put(sim, target["id"], "status", [status_body(target)])

    assert not_json.status_code == 400
    assert a_list.status_code == 400
    pushes = sim_get(sim, "pushes")["pushes"]
    assert [p["outcome"] for p in pushes] == ["rejected", "rejected"]
    assert pushes[0]["body"] == "{oops"


def test_an_unknown_bordereau_or_bs_is_a_404_and_recorded(sim, target):
    unknown_bordereau = put(sim, "no-such-id", "status", status_body(target))
    unknown_bs = put(sim, target["id"], "payment", payment_body(target, bsId="BS-0000-000000-001"))

    assert unknown_bordereau.status_code == 404
    assert unknown_bordereau.json()["message"] == "Bordereau no-such-id not found"
    assert unknown_bs.status_code == 404
    assert unknown_bs.json()["message"].startswith("BS BS-0000-000000-001 not found")
    pushes = sim_get(sim, "pushes")["pushes"]
    assert [(p["kind"], p["status"], p["outcome"]) for p in pushes] == [
        ("status", 404, "rejected"), ("payment", 404, "rejected")]
    assert pushes[0]["bordereau"] == "no-such-id"
    assert pushes[0]["body"] == status_body(target)
    assert pushes[1]["bsId"] == "BS-0000-000000-001"


def test_the_pushes_can_be_filtered_and_forgotten(sim, target):
    put(sim, target["id"], "status", status_body(target))
    put(sim, target["id"], "payment", payment_body(target))

    assert [p["kind"] for p in sim_get(sim, "pushes", kind="payment")["pushes"]] == ["payment"]
    assert sim_get(sim, "pushes", bsId="BS-0000-000000-001")["count"] == 0
    forgotten = requests.delete(f"{sim.base_url}/_sim/pushes", timeout=10).json()
    assert forgotten == {"forgotten": 2}
    assert sim_get(sim, "pushes") == {"count": 0, "pushes": []}
    # The platform's state stays: the same push again is still a repeat.
    put(sim, target["id"], "status", status_body(target))
    assert [p["outcome"] for p in sim_get(sim, "pushes")["pushes"]] == ["repeat"]


def test_a_push_needs_the_token_when_the_platform_has_one(tuniclaim_simulator):
    sim = tuniclaim_simulator(token="s3cret-token", batches=1)

    answer = put(sim, "any", "status", {})

    assert answer.status_code == 401
    assert sim_get(sim, "pushes")["count"] == 0  # refused before the API saw it
