"""The MY TUNICLAIM simulator's data controls over real HTTP: the generator,
changes between runs, new batches and records with a defect."""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal
from typing import Any

import pytest
import requests

START = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC).timestamp()


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def control(sim, method: str, action: str, body: Any = None,
            expect: tuple[int, ...] = (200, 201)) -> Any:
    answer = requests.request(method, f"{sim.base_url}/_sim/{action}", json=body, timeout=60)
    assert answer.status_code in expect, answer.text
    return answer.json()


def listing(sim, **params: Any) -> list[dict[str, Any]]:
    answer = requests.get(f"{sim.base_url}/api/bordereaux", timeout=30,
                          params={"pageSize": 1000, **params})
    return answer.json()["bordereaux"]


def bulletins(sim, bordereau_id: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{sim.base_url}/api/bordereaux/{bordereau_id}/bulletins", timeout=30)
    assert answer.status_code == 200, answer.text
    return json.loads(answer.content, parse_float=Decimal)


def everything(sim) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each bordereau (without updatedAt, the time it was made) with its claims."""
    return [({k: v for k, v in record.items() if k != "updatedAt"}, bulletins(sim, record["id"]))
            for record in listing(sim)]


def test_the_same_seed_gives_the_same_data(tuniclaim_simulator):
    sim = tuniclaim_simulator(batches=0)
    options = {"batches": 6, "claims": 5, "items": 2, "seed": 42, "clients": 4}

    control(sim, "POST", "generate", options)
    first = everything(sim)
    control(sim, "POST", "generate", options)
    again = everything(sim)
    control(sim, "POST", "generate", {**options, "seed": 43})
    other_seed = everything(sim)

    assert again == first
    assert [b for b, _ in other_seed] != [b for b, _ in first]
    # A bordereau keeps its id and reference (they follow its sequence number).
    assert [b["id"] for b, _ in other_seed] == [b["id"] for b, _ in first]
    assert [c["numBs"] for _, cs in other_seed for c in cs] == [
        c["numBs"] for _, cs in first for c in cs]


def test_it_generates_the_counts_asked_for(tuniclaim_simulator):
    sim = tuniclaim_simulator(batches=0)

    made = control(sim, "POST", "generate", {"batches": 12, "claims": 7, "items": 2,
                                             "clients": 3})

    assert made["mode"] == "replace"
    assert made["created"] == 12
    assert made["claims"] == 84
    assert len(set(made["ids"])) == 12
    state = control(sim, "GET", "state")
    assert (state["bordereaux"], state["bulletins"], state["items"]) == (12, 84, 168)
    records = listing(sim)
    assert {r["client"]["code"] for r in records} <= {"CLI-001", "CLI-002", "CLI-003"}
    assert len({r["reference"] for r in records}) == 12
    assert all(len(c["items"]) == 2 for r in records for c in bulletins(sim, r["id"]))


def test_append_adds_to_what_is_there_and_replace_starts_again(tuniclaim_simulator):
    sim = tuniclaim_simulator()  # 5 bordereaux

    appended = control(sim, "POST", "generate", {"batches": 3, "claims": 2, "mode": "append"})
    assert control(sim, "GET", "state")["bordereaux"] == 8
    assert appended["bordereaux"] == 8
    control(sim, "POST", "generate", {"batches": 2, "claims": 2})
    assert control(sim, "GET", "state")["bordereaux"] == 2
    assert control(sim, "POST", "generate", {"batches": 1, "mode": "sideways"},
                   expect=(400,))["error"] == "mode must be replace or append"
    assert "unknown key(s): batch" in control(sim, "POST", "generate", {"batch": 1},
                                              expect=(400,))["error"]


def test_it_generates_100000_claims_quickly_and_serves_them(tuniclaim_simulator):
    sim = tuniclaim_simulator(batches=0)
    started = time.monotonic()

    made = control(sim, "POST", "generate", {"batches": 2000, "claims": 50, "items": 3})

    # Claims are made when read, not stored: generating is the 2,000 bordereaux only.
    assert time.monotonic() - started < 10
    assert made["claims"] == 100_000
    state = control(sim, "GET", "state")
    assert (state["bulletins"], state["items"], state["stored_bulletins"]) == (100_000, 300_000, 0)
    page = requests.get(f"{sim.base_url}/api/bordereaux", timeout=30,
                        params={"page": 40, "pageSize": 50}).json()
    assert page["totalPages"] == 40
    assert len(bulletins(sim, page["bordereaux"][-1]["id"])) == 50


def test_a_change_moves_amounts_keeps_them_exact_and_bumps_updated_at(tuniclaim_simulator):
    clock = FakeClock()
    sim = tuniclaim_simulator(batches=10, claims=6, clock=clock)
    before = {b["id"]: cs for b, cs in everything(sim)}
    clock.now += 120

    changed = control(sim, "POST", "change", {"claims": 5, "seed": 7})

    assert changed["changed"] == 5
    assert {c["field"] for c in changed["claims"]} == {"amount"}
    since = dt.datetime.fromtimestamp(clock.now, tz=dt.UTC).isoformat()
    fresh = {r["id"] for r in listing(sim, updatedSince=since)}
    assert fresh == {c["id"] for c in changed["claims"]}
    assert len(fresh) == changed["bordereaux"]
    for entry in changed["claims"]:
        old = next(c for c in before[entry["id"]] if c["numBs"] == entry["bsId"])
        new = next(c for c in bulletins(sim, entry["id"]) if c["numBs"] == entry["bsId"])
        assert new != old
        assert type(new["totalPec"]) is type(old["totalPec"])  # number or text, as before
        assert Decimal(new["totalPec"]) == sum(Decimal(i["pec"]) for i in new["items"])
        for item in new["items"]:
            assert Decimal(item["pec"]) + Decimal(item["participationAdherent"]) == Decimal(
                item["depense"])
            assert Decimal(item["pec"]) >= 0


def test_a_status_change_and_a_percentage(tuniclaim_simulator):
    sim = tuniclaim_simulator(batches=20, claims=10)
    before = {b["id"]: cs for b, cs in everything(sim)}

    changed = control(sim, "POST", "change", {"percent": 1.5, "field": "status", "seed": 3})

    assert changed["changed"] == 3  # 1.5 % of 200
    for entry in changed["claims"]:
        assert entry["field"] == "status"
        old = next(c for c in before[entry["id"]] if c["numBs"] == entry["bsId"])
        new = next(c for c in bulletins(sim, entry["id"]) if c["numBs"] == entry["bsId"])
        assert new["etat"] != old["etat"]
        assert {k: v for k, v in new.items() if k != "etat"} == {
            k: v for k, v in old.items() if k != "etat"}
    assert control(sim, "POST", "change", {"claims": 201}, expect=(400,))["error"] == (
        "claims must be between 0 and 200")
    assert control(sim, "POST", "change", {}, expect=(400,))["error"] == "give claims or percent"


def test_new_batches_generated_or_given(tuniclaim_simulator):
    clock = FakeClock()
    sim = tuniclaim_simulator(batches=2, clock=clock)
    clock.now += 60

    generated = control(sim, "POST", "bordereaux", {"batches": 2, "claims": 3})
    given = control(sim, "POST", "bordereaux", {"bordereaux": [{
        "reference": "BR-2026-900001",
        "client": {"code": "CLI-042", "name": "Mutuelle Test"},
        "contract": {"number": "CTR-042-01", "delaiReglement": 7, "delaiReclamation": 10},
        "dateReception": "2026-11-20", "prestataire": "Réseau Test", "statut": "A_SCANNER",
        "bulletins": [{"numBs": "BS-X-1", "etat": "EN_COURS", "totalPec": "10.000",
                       "items": [{"pec": "10.000", "depense": "12.500"}]}],
    }]})

    assert len(generated["ids"]) == 2
    [given_id] = given["ids"]
    records = {r["id"]: r for r in listing(sim)}
    assert len(records) == 5
    assert records[given_id]["reference"] == "BR-2026-900001"
    assert records[given_id]["nombreBS"] == 1
    assert records[given_id]["updatedAt"] == "2026-11-30T09:01:00.000Z"
    assert bulletins(sim, given_id)[0]["numBs"] == "BS-X-1"
    assert all(len(bulletins(sim, i)) == 3 for i in generated["ids"])


def test_a_given_record_is_served_as_given(tuniclaim_simulator):
    sim = tuniclaim_simulator(batches=0)

    control(sim, "POST", "bordereaux", {"bordereaux": [{
        "id": 77, "reference": "BR-1", "statut": "SOMETHING_NEW",
        "updatedAt": "2026-10-01T08:00:00Z", "bulletins": []}]})

    assert listing(sim) == [{"id": 77, "reference": "BR-1", "statut": "SOMETHING_NEW",
                             "nombreBS": 0, "updatedAt": "2026-10-01T08:00:00.000Z"}]
    assert bulletins(sim, "77") == []


@pytest.mark.parametrize(("kind", "record", "check"), [
    ("missing_reference", None, lambda b, c: b["reference"] is None),
    ("missing_client_code", None,
     lambda b, c: b["client"]["code"] is None and b["client"]["name"]),
    ("unknown_status", None, lambda b, c: b["statut"] == "EN_VERIFICATION"),
    ("unknown_status", "bulletin", lambda b, c: c["etat"] == "A_VERIFIER"),
    ("bad_amount", None, lambda b, c: c["totalPec"] == "12,500"),
    ("bad_amount", "item", lambda b, c: c["items"][0]["pec"] == "12,500"),
    ("bad_date", None, lambda b, c: b["dateReception"] == "2026-02-30"),
    ("bad_date", "bulletin", lambda b, c: c["dateMaladie"] == "2026-02-30"),
    ("bad_date", "item", lambda b, c: c["items"][0]["datePrestation"] == "2026-02-30"),
    ("missing_bs_number", None, lambda b, c: c["numBs"] is None),
])
def test_each_invalid_kind_adds_one_bordereau_with_that_defect(tuniclaim_simulator, kind,
                                                               record, check):
    sim = tuniclaim_simulator(batches=1)
    body = {"kind": kind} if record is None else {"kind": kind, "record": record}

    made = control(sim, "POST", "invalid", body)

    assert made["kind"] == kind
    records = {r["id"]: r for r in listing(sim)}
    assert len(records) == 2
    claims = bulletins(sim, made["id"])
    assert len(claims) == 3
    assert check(records[made["id"]], claims[0])
    # The defect is in one place only: the other claims are whole.
    for claim in claims[1:]:
        assert claim["numBs"] and claim["etat"] != "A_VERIFIER"
        assert Decimal(claim["totalPec"]) == sum(Decimal(i["pec"]) for i in claim["items"])
    assert control(sim, "GET", f"bordereaux/{made['id']}")["defect"]["kind"] == kind
    # A change between runs leaves the defective bordereau as it was made.
    control(sim, "POST", "change", {"percent": 100, "field": "status"})
    assert bulletins(sim, made["id"]) == claims


def test_an_unknown_invalid_kind_or_place_is_a_400(tuniclaim_simulator):
    sim = tuniclaim_simulator(batches=0)

    assert control(sim, "POST", "invalid", {"kind": "haunted"}, expect=(400,))["error"].startswith(
        "kind must be one of: missing_reference")
    assert control(sim, "POST", "invalid", {"kind": "bad_amount", "record": "bordereau"},
                   expect=(400,))["error"] == "a bad_amount defect goes in: bulletin, item"
