"""End to end over real HTTP, driven through the REST API.

The hub runs on pytest-django's live server and the MY TUNICLAIM simulator
on a port of its own: the test asks the hub's API for imports and pushes
with a token, the hub reads and writes the simulator, and the import's
report goes out by e-mail (Django's test mailbox). Celery is eager in
tests, so the import and the pushes run in the live server's threads, after
the commit of the request that asked for them, as a worker would run them.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.core import mail

from apps.core.models import ApiToken
from apps.tuniclaim import client as client_module
from tests.helpers import sleeps_recorded, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BATCHES, CLAIMS = 3, 4


class Hub:
    def __init__(self, url: str, token: str) -> None:
        self.url = url + "/api/tuniclaim/"
        self.headers = {"Authorization": f"Token {token}"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             expected: int = 200) -> Any:
        response = requests.request(method, self.url + path, json=body, headers=self.headers,
                                    timeout=60)
        assert response.status_code == expected, f"{method} {path}: {response.text}"
        return response.json()

    def sync(self, **body: Any) -> dict[str, Any]:
        """Ask for an import and wait for its end; the finished run."""
        started = self.call("POST", "sync/", body, expected=202)
        return wait_for(lambda: next(
            (run for run in self.call("GET", "sync/status/")["last_runs"]
             if run["id"] == started["run_id"] and run["status"] != "running"), None))

    def bulletins(self) -> list[dict[str, Any]]:
        return self.call("GET", "bulletins/?page_size=500")["results"]

    def bulletin(self, pk: int) -> dict[str, Any]:
        return self.call("GET", f"bulletins/{pk}/")


@pytest.fixture
def hub(live_server, manager_user, monkeypatch) -> Hub:
    # The client's back-off waits are recorded, not slept.
    sleeps_recorded(monkeypatch, client_module)
    _, key = ApiToken.issue(manager_user)
    return Hub(live_server.url, key)


@pytest.fixture
def sim(tuniclaim_simulator):
    sim = tuniclaim_simulator(batches=0)
    generated = requests.post(f"{sim.base_url}/_sim/generate", json={
        "batches": BATCHES, "claims": CLAIMS, "items": 2, "seed": 12}, timeout=10)
    assert generated.status_code == 200, generated.text
    return sim


def pushes(sim, **filters: str) -> list[dict[str, Any]]:
    return requests.get(f"{sim.base_url}/_sim/pushes", params=filters, timeout=5).json()[
        "pushes"]


def undecided(hub: Hub) -> list[dict[str, Any]]:
    return [bs for bs in hub.bulletins() if bs["status"] == "in_progress"]


def test_imports_are_idempotent_and_a_platform_change_keeps_a_local_decision(hub, sim):
    first = hub.sync(full=True)
    assert (first["status"], first["created"], first["updated"]) == (
        "success", BATCHES + BATCHES * CLAIMS, 0)
    assert len(hub.bulletins()) == BATCHES * CLAIMS
    assert hub.call("GET", "bordereaux/")["count"] == BATCHES

    second = hub.sync(full=True)
    assert (second["created"], second["updated"], second["unchanged"]) == (
        0, 0, BATCHES + BATCHES * CLAIMS)

    decided, followed = undecided(hub)[:2]
    hub.call("POST", "push-status/", {"bs_id": decided["id"], "status": "on_hold"},
             expected=202)
    wait_for(lambda: pushes(sim, kind="status", bsId=decided["number"]))
    # Every claim's amounts change at MY TUNICLAIM.
    requests.post(f"{sim.base_url}/_sim/change",
                  json={"percent": 100, "field": "amount", "seed": 3}, timeout=10)
    third = hub.sync()

    assert third["status"] == "success" and third["created"] == 0
    assert third["updated"] >= CLAIMS
    after = hub.bulletin(decided["id"])
    assert after["status"] == "on_hold"
    assert after["amount_covered"] != decided["amount_covered"]
    assert hub.bulletin(followed["id"])["amount_covered"] != followed["amount_covered"]


def test_a_status_change_and_a_payment_reach_the_platform_once_each(hub, sim):
    hub.sync(full=True)
    claim = undecided(hub)[0]

    hub.call("POST", "push-status/", {"bs_id": claim["id"], "status": "validated"},
             expected=202)
    paid = hub.call("POST", "push-payment/", {
        "bs_id": claim["id"], "payment_status": "NON_EXECUTE",
        "transfer_reference": "VIR-2026-0001"}, expected=202)

    assert (paid["status"], paid["payment_status"]) == ("validated", "NON_EXECUTE")
    received = wait_for(lambda: (lambda got: got if len(got) == 2 else None)(
        pushes(sim, bsId=claim["number"], outcome="applied")))
    assert [(p["kind"], p["body"].get("newStatus") or p["body"].get("paymentStatus"))
            for p in received] == [("status", "VALIDATED"), ("payment", "NON_EXECUTE")]
    # A re-import keeps both decisions.
    hub.sync(full=True)
    again = hub.bulletin(claim["id"])
    assert (again["status"], again["payment_status"]) == ("validated", "NON_EXECUTE")
    assert len(pushes(sim, bsId=claim["number"])) == 2


def test_a_failing_run_sends_one_report(hub, sim, settings):
    settings.TUNICLAIM_REPORT_RECIPIENTS = ["claims-desk@ars.example"]
    requests.post(f"{sim.base_url}/_sim/faults", json={"error_rate": 1.0}, timeout=5)

    run = hub.sync(full=True)

    assert run["status"] == "error"
    wait_for(lambda: mail.outbox)
    [report] = mail.outbox
    assert report.to == ["claims-desk@ars.example"]
    assert "FAILED" in report.subject
    assert str(run["id"]) in report.body
