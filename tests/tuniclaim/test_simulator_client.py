"""The hub's MY TUNICLAIM client against the simulator over real HTTP: the two
speak the same wire format (pages, updatedSince, amounts, token, pushes)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import requests

from apps.tuniclaim.client import tuniclaim_client

pytestmark = [pytest.mark.django_db, pytest.mark.e2e]

START = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC).timestamp()


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def every_page(client, *, page_size: int, updated_since: str | None = None) -> list[dict]:
    records, page = [], 1
    while True:
        answer = client.bordereaux_page(page=page, page_size=page_size,
                                        updated_since=updated_since)
        records += answer.items
        if page >= answer.total_pages:
            return records
        page += 1


def test_the_client_pages_through_everything_with_a_token(tuniclaim_simulator):
    sim = tuniclaim_simulator(token="hub-token", batches=7, claims=3)

    records = every_page(tuniclaim_client(), page_size=3)

    assert len(records) == 7
    assert len({record["id"] for record in records}) == 7
    assert sim.state()["requests_by_endpoint"] == {"GET /api/bordereaux": 3}


def test_the_client_reads_only_what_changed_since(tuniclaim_simulator):
    clock = FakeClock()
    sim = tuniclaim_simulator(batches=4, clock=clock)
    clock.now += 600
    changed = requests.post(f"{sim.base_url}/_sim/change", json={"claims": 1}, timeout=10).json()

    since = dt.datetime.fromtimestamp(clock.now - 60, tz=dt.UTC).isoformat()
    records = every_page(tuniclaim_client(), page_size=50, updated_since=since)

    assert [record["id"] for record in records] == [changed["claims"][0]["id"]]


def test_the_client_gets_amounts_as_exact_decimals(tuniclaim_simulator):
    tuniclaim_simulator(batches=1, claims=6)
    client = tuniclaim_client()
    [record] = every_page(client, page_size=50)

    claims = client.bulletins(bordereau_external_id=str(record["id"]))

    for claim in claims:
        total = Decimal(str(claim["totalPec"]))
        assert total == sum(Decimal(str(item["pec"])) for item in claim["items"])
        assert total == total.quantize(Decimal("0.001"))
    assert {type(claim["totalPec"]) for claim in claims} == {str, Decimal}


def test_the_client_reads_a_bare_array_as_the_one_page(tuniclaim_simulator):
    tuniclaim_simulator(batches=4, list_shape="array")

    page = tuniclaim_client().bordereaux_page(page=1, page_size=2, updated_since=None)

    assert (len(page.items), page.page, page.total_pages) == (4, 1, 1)


def test_the_clients_pushes_are_applied_once(tuniclaim_simulator):
    sim = tuniclaim_simulator(batches=1, claims=2)
    client = tuniclaim_client()
    [record] = every_page(client, page_size=50)
    claim = client.bulletins(bordereau_external_id=str(record["id"]))[0]
    body = {"bordereauId": record["reference"], "bsId": claim["numBs"],
            "oldStatus": claim["etat"], "newStatus": "REJECTED", "processedBy": "Sami Jlassi",
            "processedAt": "2026-11-30T10:00:00+01:00", "gestionnaireId": 4}

    first = client.put_status(bordereau_external_id=str(record["id"]), body=body)
    again = client.put_status(bordereau_external_id=str(record["id"]), body=body)
    paid = client.put_payment(bordereau_external_id=str(record["id"]), body={
        "bordereauId": record["reference"], "bsId": claim["numBs"], "paymentStatus": "EXECUTE",
        "paymentDate": "2026-11-30", "amount": "42.125", "virementReference": "VIR-1",
        "processedBy": "Sami Jlassi"})

    assert first["etat"] == again["etat"] == "REJECTED"
    assert paid["payment"]["amount"] == "42.125"
    assert [(p["kind"], p["outcome"]) for p in sim.store.pushes] == [
        ("status", "applied"), ("status", "repeat"), ("payment", "applied")]
