"""End to end over real HTTP: the field app, the hub and the Symphonics simulator.

The hub runs on pytest-django's live server; the test talks to its API with
a token, the hub talks to the simulator, and the simulator sends its signed
webhooks back to the hub's /api/webhooks/symphonics/. Everything the hub
does in between (outbox, inbox) runs in the live server's threads.

The test reads the hub only once the simulator has nothing left to deliver:
on SQLite the live server shares one database connection between threads,
so the test keeps out of its way while it works. Webhooks leave a moment
after their event for the same reason.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from apps.core.models import ApiToken, WebhookEvent
from apps.symphonics.simulator import SymphonicsSimulator
from tests.symphonics.factories import PROOF, create_payload
from tests.symphonics.helpers import settled, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class Hub:
    def __init__(self, url: str, token: str) -> None:
        self.url = url + "/api/symphonics"
        self.headers = {"Authorization": f"Token {token}"}

    def get(self, path: str) -> dict[str, Any]:
        response = requests.get(self.url + path, headers=self.headers, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: dict[str, Any], expected: int) -> dict[str, Any]:
        response = requests.post(self.url + path, json=body, headers=self.headers, timeout=30)
        assert response.status_code == expected, response.text
        return response.json()


@pytest.fixture
def hub(live_server, manager_user) -> Hub:
    _, key = ApiToken.issue(manager_user)
    return Hub(live_server.url, key)


@pytest.fixture
def symphonics(live_symphonics) -> SymphonicsSimulator:
    return live_symphonics


def test_it_validates_publishes_and_gets_approved_by_webhook(hub, symphonics):
    body = create_payload("int_e2e_approved")
    body["customer"]["email"] = "test.user@example.com"

    pdl = hub.get(f"/validate/pdl/{body['installation']['pdl']}/")
    user = hub.get(f"/validate/user/{body['customer']['email']}/")
    created = hub.post("/interventions/", body, expected=201)
    wait_until(settled(symphonics, "int_e2e_approved", "approved"))
    detail = hub.get(f"/interventions/{created['id']}/")

    assert pdl["valid"] is True
    assert (user["exists"], user["status"]) == (True, "active")
    assert created["status"] == "created"
    assert detail["status"] == "approved"
    assert detail["symphonics_id"] == created["symphonics_id"]
    assert [(h["remote_status"], h["source"]) for h in detail["status_history"]] == [
        ("created", "publish"), ("processing", "webhook"), ("approved", "webhook")]
    assert {d["verification_status"] for d in detail["documents"]} == {"verified"}
    assert detail["needs_attention"] is False
    events = WebhookEvent.objects.filter(platform="symphonics")
    assert events.count() == 5
    assert set(events.values_list("status", flat=True)) == {"processed"}
    assert symphonics.state()["webhooks"]["failed"] == 0


def test_it_asks_for_proof_when_a_document_is_rejected_and_gets_approved(hub, symphonics):
    body = create_payload("int_e2e_proof")
    body["documents"][1]["name"] = "Attestation d'Honneur - scan to reject"

    created = hub.post("/interventions/", body, expected=201)
    wait_until(settled(symphonics, "int_e2e_proof", "pending_documents"))
    waiting = hub.get(f"/interventions/{created['id']}/")
    hub.post(f"/interventions/{created['id']}/add-documents/", {"documents": [PROOF]},
             expected=202)
    wait_until(settled(symphonics, "int_e2e_proof", "approved"))
    detail = hub.get(f"/interventions/{created['id']}/")

    assert waiting["status"] == "proof_required"
    assert waiting["needs_attention"] is True
    rejected = [d for d in waiting["documents"] if d["verification_status"] == "rejected"]
    assert [d["type"] for d in rejected] == ["attestation_honneur"]
    assert detail["status"] == "approved"
    assert [h["remote_status"] for h in detail["status_history"]] == [
        "created", "processing", "pending_documents", "processing", "approved"]
    proof = next(d for d in detail["documents"] if d["type"] == "additional_proof")
    assert proof["verification_status"] == "verified"
    assert proof["sent_at"] is not None
    assert detail["needs_attention"] is False
    (remote,) = symphonics.lifecycle.interventions.values()
    assert [d.url for d in remote.documents].count(PROOF["url"]) == 1
