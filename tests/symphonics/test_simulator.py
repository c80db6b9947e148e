"""The Symphonics simulator over real HTTP on 127.0.0.1 (no database needed).

Lifecycle tests that need webhooks run on the real clock with delays of
0.05 s and a stdlib HTTP server standing in for the hub; the others use a
fake clock so that expiry, rate windows and the state machine are exact.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
import requests

from apps.core.simulator import FaultKnobs, RunningSimulator, serve
from apps.symphonics.simulator import SymphonicsSimulator, build
from tests.core.local_server import WebhookReceiver
from tests.symphonics.factories import CONTRACT_PAYLOAD, PROOF, create_payload

CLIENT_ID = "hub-client"
CLIENT_SECRET = "hub-secret"
WEBHOOK_SECRET = "whsec-test"
START = 1_750_000_000.0  # a fixed Unix time for the fake clock
ISO_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")

class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += seconds


class Api:
    """A thin requests wrapper around one running simulator."""

    def __init__(self, url: str, sim: SymphonicsSimulator) -> None:
        self.url = url
        self.sim = sim
        self.token: str | None = None

    def request_token(self, **form: str) -> requests.Response:
        data = {"grant_type": "client_credentials", "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET, **form}
        return requests.post(self.url + "/auth/token", data=data, timeout=5)

    def login(self) -> Api:
        self.token = self.request_token().json()["access_token"]
        return self

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token}"
        return requests.request(method, self.url + path, headers=headers, timeout=5, **kwargs)

    def create(self, body: dict[str, Any]) -> requests.Response:
        return self.call("POST", "/crm/interventions", json=body)


@pytest.fixture
def start() -> Callable[..., Api]:
    servers = []

    def _start(**options: Any) -> Api:
        options = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                   "webhook_secret": WEBHOOK_SECRET, "hub_webhook_url": None,
                   "processing_delay_seconds": 0.05, "verification_delay_seconds": 0.05,
                   **options}
        sim = SymphonicsSimulator(**options)
        servers.append(serve(sim))
        return Api(servers[-1].url, sim)

    yield _start
    for server in servers:
        stop_in_background(server)


def stop_in_background(server: RunningSimulator) -> None:
    """Stop a simulator without waiting for it.

    `serve_forever` only notices a shutdown at its next 0.5 s poll; waiting
    for that in every test would make the suite several times slower.
    """
    server.simulator.close()
    threading.Thread(target=server.stop, daemon=True).start()


@pytest.fixture
def receiver() -> WebhookReceiver:
    receiver = symphonics_receiver().start()
    yield receiver
    receiver.stop()


def symphonics_receiver(fail_first: int = 0) -> WebhookReceiver:
    # Symphonics expects any 2xx; 204 shows the simulator does not need a body.
    return WebhookReceiver(path="/api/webhooks/symphonics/", fail_first=fail_first,
                           success_status=204)


def status_reached(status: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda events: any(e["data"].get("new_status") == status for e in events)


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Each event as (event, new status or document type/verification)."""
    return [
        (e["event"], e["data"]["new_status"]) if e["event"] == "intervention.status_update"
        else (e["event"], f"{e['data']['document_type']}:{e['data']['verification_status']}")
        for e in events
    ]


def assert_error(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    assert re.fullmatch(r"req_[0-9a-f]{12}", error["request_id"])
    assert response.headers["X-Request-ID"] == error["request_id"]
    return error


def fields(error: dict[str, Any]) -> set[str]:
    return {detail["field"] for detail in error["details"]}


# -- authentication --------------------------------------------------------------
def test_it_issues_an_opaque_bearer_token_for_valid_client_credentials(start):
    api = start(token_lifetime_seconds=120)

    response = api.request_token()

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 120
    assert len(body["access_token"]) >= 32
    assert response.headers["X-Request-ID"].startswith("req_")
    assert "X-RateLimit-Limit" not in response.headers  # the token endpoint is not limited
    assert api.request_token().json()["access_token"] != body["access_token"]
    assert api.sim.state()["token_requests"] == 2


def test_it_refuses_wrong_client_credentials_with_the_contract_error_body(start):
    api = start()

    error = assert_error(api.request_token(client_secret="wrong"), 401, "UNAUTHORIZED")

    assert error["details"] == []
    assert api.sim.state()["token_requests"] == 1
    assert api.sim.state()["tokens_issued"] == 0


def test_it_refuses_a_token_request_with_missing_fields_or_another_grant(start):
    api = start()

    missing = requests.post(api.url + "/auth/token", data={"grant_type": "client_credentials"},
                            timeout=5)
    other_grant = api.request_token(grant_type="password")

    assert fields(assert_error(missing, 400, "INVALID_REQUEST")) == {"client_id",
                                                                     "client_secret"}
    assert fields(assert_error(other_grant, 400, "INVALID_REQUEST")) == {"grant_type"}


def test_it_requires_a_valid_bearer_token(start):
    api = start()

    without = api.call("GET", "/validation/pdl/12345678901234")
    forged = api.call("GET", "/validation/pdl/12345678901234",
                      headers={"Authorization": "Bearer not-a-token"})

    assert_error(without, 401, "UNAUTHORIZED")
    assert_error(forged, 401, "UNAUTHORIZED")
    assert without.headers["X-RateLimit-Remaining"] == "100"  # refused requests use no slot


def test_it_refuses_an_expired_token(start):
    clock = FakeClock()
    api = start(clock=clock, token_lifetime_seconds=60).login()
    assert api.call("GET", "/validation/pdl/12345678901234").status_code == 200

    clock.tick(60)
    error = assert_error(api.call("GET", "/validation/pdl/12345678901234"), 401, "UNAUTHORIZED")

    assert "expired" in error["message"]


def test_it_skips_simulated_time_through_the_advance_control_endpoint(start):
    api = start(token_lifetime_seconds=3600).login()

    advanced = requests.post(api.url + "/_sim/advance", json={"seconds": 3600}, timeout=5)

    assert advanced.status_code == 200
    assert_error(api.call("GET", "/validation/pdl/12345678901234"), 401, "UNAUTHORIZED")


# -- validation endpoints ---------------------------------------------------------------
@pytest.mark.parametrize(("pdl", "customer_type"), [
    ("12345678901234", "residential"),
    ("23456789012345", "commercial"),
    ("34567890123456", "precarious"),
])
def test_it_validates_the_sandbox_pdls(start, pdl, customer_type):
    api = start().login()

    response = api.call("GET", f"/validation/pdl/{pdl}")

    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is True
    assert body["pdl"] == pdl
    assert set(body["address"]) == {"street", "postal_code", "city"}
    assert body["meter_type"]
    assert body["customer_type"] == customer_type


@pytest.mark.parametrize("pdl", ["123", "1234567890123A", "123456789012345"])
def test_it_answers_the_contract_400_for_a_malformed_pdl(start, pdl):
    api = start().login()

    response = api.call("GET", f"/validation/pdl/{pdl}")

    assert response.status_code == 400
    assert response.json() == {"valid": False, "error": "Invalid PDL format",
                               "message": "PDL must be 14 digits"}
    assert response.headers["X-Request-ID"].startswith("req_")


def test_it_returns_an_error_for_the_sandbox_invalid_pdl(start):
    api = start().login()

    response = api.call("GET", "/validation/pdl/45678901234567")

    assert response.status_code == 400
    assert response.json()["valid"] is False
    assert response.json()["error"] == "Invalid PDL"


def test_it_answers_not_found_for_an_unknown_well_formed_pdl(start):
    api = start().login()

    assert_error(api.call("GET", "/validation/pdl/99999999999999"), 404, "NOT_FOUND")


@pytest.mark.parametrize(("email", "status"), [
    ("test.user@example.com", "active"),
    ("inactive.user@example.com", "inactive"),
])
def test_it_validates_the_sandbox_users(start, email, status):
    api = start().login()

    response = api.call("GET", f"/validation/user/{quote(email, safe='')}")

    assert response.status_code == 200
    body = response.json()
    assert body["exists"] is True
    assert body["status"] == status
    assert re.fullmatch(r"usr_\d{8}", body["user_id"])


@pytest.mark.parametrize("email", ["nonexistent@example.com", "someone.else@example.org"])
def test_it_answers_user_not_found_for_unknown_emails(start, email):
    api = start().login()

    response = api.call("GET", f"/validation/user/{quote(email, safe='')}")

    assert response.status_code == 404
    assert response.json() == {"exists": False, "message": "User not found"}


def test_it_looks_up_a_pdl_by_address_and_customer_name(start):
    api = start().login()
    address = {"street": "123 rue de PARIS", "postal_code": "75001", "city": "Paris"}

    exact = api.call("POST", "/validation/pdl/lookup",
                     json={"address": address, "customer_name": "Martin"})
    other_name = api.call("POST", "/validation/pdl/lookup",
                          json={"address": address, "customer_name": "Durand"})

    assert exact.status_code == 200
    assert exact.json() == {"pdl": "12345678901234", "confidence": 0.95,
                            "address": {"street": "123 Rue de Paris", "postal_code": "75001",
                                        "city": "Paris"},
                            "meter_type": "electronic"}
    assert other_name.json()["pdl"] == "12345678901234"
    assert other_name.json()["confidence"] < exact.json()["confidence"]


def test_it_answers_a_lookup_of_an_unknown_or_incomplete_address_with_errors(start):
    api = start().login()
    unknown = {"street": "1 Impasse Inconnue", "postal_code": "13001", "city": "Marseille"}

    not_found = api.call("POST", "/validation/pdl/lookup",
                         json={"address": unknown, "customer_name": "Martin"})
    incomplete = api.call("POST", "/validation/pdl/lookup",
                          json={"address": {"street": "1 Rue", "postal_code": "7500"}})

    assert_error(not_found, 404, "NOT_FOUND")
    error = assert_error(incomplete, 422, "VALIDATION_ERROR")
    assert fields(error) == {"address.postal_code", "address.city", "customer_name"}


# -- interventions --------------------------------------------------------------
def test_it_creates_an_intervention_from_the_contract_example(start):
    clock = FakeClock()
    api = start(clock=clock).login()

    response = api.create(create_payload())

    assert response.status_code == 201
    body = response.json()
    assert re.fullmatch(r"sym_\d{8}", body["id"])
    assert body["status"] == "created"
    assert body["external_id"] == "int_12345678"
    assert body["created_at"] == "2025-06-15T15:06:40Z"  # START on the fake clock


def test_it_reports_each_invalid_field_with_422(start):
    api = start().login()
    body = create_payload()
    body["installation"]["pdl"] = "1234"
    body["installation"]["pce"] = "GI12"
    body["installation"]["postal_code"] = "750"
    body["customer"]["email"] = "not-an-email"
    body["customer"]["phone"] = "0612345678"
    body["services"][0]["quantity"] = 0
    del body["photos"][1]["coordinates"]
    del body["photos"][0]["timestamp"]
    del body["installer"]

    error = assert_error(api.create(body), 422, "VALIDATION_ERROR")

    assert fields(error) == {
        "installation.pdl", "installation.pce", "installation.postal_code", "customer.email",
        "customer.phone", "services[0].quantity", "photos[1].coordinates",
        "photos[0].timestamp", "installer",
    }
    pdl = next(d for d in error["details"] if d["field"] == "installation.pdl")
    assert pdl["message"] == "PDL must be 14 digits"


def test_it_names_the_field_when_a_single_one_is_wrong(start):
    api = start().login()
    body = create_payload()
    body["installation"]["pdl"] = "45678901234567"  # the sandbox's invalid PDL

    error = assert_error(api.create(body), 422, "VALIDATION_ERROR")

    assert error["details"] == [{"field": "installation.pdl",
                                 "message": "PDL is not a valid delivery point"}]


def test_it_accepts_an_old_format_pce_or_none(start):
    api = start().login()
    old_format = create_payload("int_a")
    old_format["installation"]["pce"] = "GI123456"
    without = create_payload("int_b")
    del without["installation"]["pce"]

    assert api.create(old_format).status_code == 201
    assert api.create(without).status_code == 201


def test_it_requires_an_invoice_and_before_and_after_photos(start):
    api = start().login()
    body = create_payload(documents=CONTRACT_PAYLOAD["documents"][1:],
                          photos=CONTRACT_PAYLOAD["photos"][:1])

    error = assert_error(api.create(body), 422, "VALIDATION_ERROR")

    assert fields(error) == {"documents", "photos"}


def test_it_answers_400_to_malformed_json(start):
    api = start().login()

    response = api.call("POST", "/crm/interventions", data=b'{"customer": ',
                        headers={"Content-Type": "application/json",
                                 "Authorization": f"Bearer {api.token}"})

    assert_error(response, 400, "INVALID_REQUEST")
    assert response.headers["X-RateLimit-Limit"] == "100"


def test_it_answers_409_with_the_existing_id_on_a_duplicate_external_id(start):
    api = start().login()
    first = api.create(create_payload("int_dup")).json()

    error = assert_error(api.create(create_payload("int_dup")), 409, "CONFLICT")
    found = api.call("GET", "/crm/interventions", params={"external_id": "int_dup"})

    assert error["details"][0]["field"] == "external_id"
    assert error["details"][0]["existing_id"] == first["id"]
    assert first["id"] in error["message"]
    assert [item["id"] for item in found.json()["items"]] == [first["id"]]
    assert len(api.sim.state()["interventions"]) == 1


def test_it_finds_no_intervention_for_an_unknown_external_id(start):
    api = start().login()

    found = api.call("GET", "/crm/interventions", params={"external_id": "int_unknown"})

    assert found.status_code == 200
    assert found.json() == {"items": []}


def test_it_gets_an_intervention_in_the_contract_shape(start):
    clock = FakeClock()
    api = start(clock=clock, processing_delay_seconds=2, verification_delay_seconds=2).login()
    created = api.create(create_payload()).json()

    clock.tick(2)
    response = api.call("GET", f"/crm/interventions/{created['id']}")

    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("id", "external_id", "status", "created_at")} == {
        "id": created["id"], "external_id": "int_12345678", "status": "processing",
        "created_at": created["created_at"]}
    assert ISO_Z.fullmatch(body["updated_at"])
    assert body["next_steps"] == [{"type": "verification", "status": "pending",
                                   "estimated_completion": "2025-06-15T15:06:48Z"}]
    assert [(d["type"], d["verification_status"]) for d in body["documents"]] == [
        ("invoice", "pending"), ("attestation_honneur", "pending"), ("contract", "pending")]
    assert_error(api.call("GET", "/crm/interventions/sym_00000000"), 404, "NOT_FOUND")


def test_it_adds_documents_with_a_patch(start):
    api = start(processing_delay_seconds=60).login()
    created = api.create(create_payload()).json()

    response = api.call("PATCH", f"/crm/interventions/{created['id']}", json={"documents": [PROOF]})
    retried = api.call("PATCH", f"/crm/interventions/{created['id']}", json={"documents": [PROOF]})
    documents = api.call("GET", f"/crm/interventions/{created['id']}").json()["documents"]

    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("id", "status", "external_id")} == {
        "id": created["id"], "status": "updated", "external_id": "int_12345678"}
    assert ISO_Z.fullmatch(body["updated_at"])
    assert retried.status_code == 200
    assert [d["type"] for d in documents].count("additional_proof") == 1  # retry is harmless


def test_it_refuses_an_invalid_patch_or_an_unknown_intervention(start):
    api = start().login()
    created = api.create(create_payload()).json()

    invalid = api.call("PATCH", f"/crm/interventions/{created['id']}",
                       json={"documents": [{"type": "selfie", "name": "x", "url": "nope"}]})
    unknown = api.call("PATCH", "/crm/interventions/sym_00000000", json={"documents": [PROOF]})

    error = assert_error(invalid, 422, "VALIDATION_ERROR")
    assert fields(error) == {"documents[0].type", "documents[0].url"}
    assert_error(unknown, 404, "NOT_FOUND")


# -- rate limits -------------------------------------------------------------------
def test_it_rate_limits_past_the_per_minute_limit_with_retry_after(start):
    clock = FakeClock()
    api = start(clock=clock, per_minute_limit=3).login()
    path = "/validation/pdl/12345678901234"

    remaining = []
    for _ in range(3):
        response = api.call("GET", path)
        remaining.append(response.headers["X-RateLimit-Remaining"])
        clock.tick(10)
    refused = api.call("GET", path)

    assert remaining == ["2", "1", "0"]
    assert response.headers["X-RateLimit-Limit"] == "3"
    assert response.headers["X-RateLimit-Reset"] == str(math.ceil(START + 60))
    assert_error(refused, 429, "RATE_LIMITED")
    assert refused.headers["Retry-After"] == "30"  # the first request leaves the window at +60
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["X-RateLimit-Reset"] == str(math.ceil(START + 60))
    assert api.sim.state()["rate_limited"] == 1

    clock.tick(30)
    assert api.call("GET", path).status_code == 200


def test_it_applies_a_scaled_window(start):
    clock = FakeClock()
    api = start(clock=clock, per_minute_limit=2, window_seconds=6).login()

    statuses = [api.call("GET", "/validation/pdl/12345678901234").status_code for _ in range(3)]
    clock.tick(6)

    assert statuses == [200, 200, 429]
    assert api.call("GET", "/validation/pdl/12345678901234").status_code == 200


def test_it_enforces_the_daily_limit_as_well(start):
    clock = FakeClock()
    api = start(clock=clock, per_minute_limit=100, per_day_limit=3).login()

    for _ in range(3):
        api.call("GET", "/validation/pdl/12345678901234")
        clock.tick(60)  # a fresh minute each time
    refused = api.call("GET", "/validation/pdl/12345678901234")

    assert_error(refused, 429, "RATE_LIMITED")
    assert refused.headers["X-RateLimit-Limit"] == "3"
    assert refused.headers["Retry-After"] == str(86400 - 180)


def test_it_does_not_count_token_requests_toward_the_limit(start):
    api = start(per_minute_limit=2)

    for _ in range(5):
        api.login()

    assert api.call("GET", "/validation/pdl/12345678901234").headers[
        "X-RateLimit-Remaining"] == "1"


def test_it_uses_the_contract_error_shape_for_injected_faults(start):
    api = start().login()
    api.sim.faults.update({"error_rate": 1.0})

    failed = api.call("GET", "/validation/pdl/12345678901234")
    api.sim.faults = FaultKnobs(rate_limit_every=1)
    limited = api.call("GET", "/validation/pdl/12345678901234")

    assert_error(failed, 503, "SERVER_ERROR")
    assert_error(limited, 429, "RATE_LIMITED")
    assert limited.headers["Retry-After"] == "1"
    assert "X-RateLimit-Limit" in limited.headers


# -- lifecycle and webhooks ----------------------------------------------------------
def assert_signed(headers: dict[str, str], body: bytes) -> None:
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-symphonics-signature"], expected)
    assert headers["content-type"] == "application/json"
    assert re.fullmatch(r"evt_[0-9a-f]{24}", headers["x-symphonics-event-id"])


def test_it_sends_signed_webhooks_as_an_intervention_is_approved(start, receiver):
    api = start(hub_webhook_url=receiver.url).login()

    created = api.create(create_payload()).json()
    events = receiver.wait_until(status_reached("approved"))

    assert summary(events) == [
        ("intervention.status_update", "processing"),
        ("document.verification", "invoice:verified"),
        ("document.verification", "attestation_honneur:verified"),
        ("document.verification", "contract:verified"),
        ("intervention.status_update", "approved"),
    ]
    for headers, body in receiver.accepted():
        assert_signed(headers, body)
    assert len({headers["x-symphonics-event-id"] for headers, _ in receiver.accepted()}) == 5
    approved = events[-1]
    assert set(approved) == {"event", "timestamp", "data"}
    assert ISO_Z.fullmatch(approved["timestamp"])
    assert approved["data"] == {
        "intervention_id": created["id"], "external_id": "int_12345678",
        "previous_status": "processing", "new_status": "approved",
        "notes": "All documents verified successfully"}
    assert set(events[1]["data"]) == {"intervention_id", "external_id", "document_type",
                                      "verification_status", "notes"}
    detail = api.call("GET", f"/crm/interventions/{created['id']}").json()
    assert detail["status"] == "approved"
    assert detail["next_steps"] == []
    assert {d["verification_status"] for d in detail["documents"]} == {"verified"}


def test_it_asks_for_more_proof_when_a_document_is_rejected_then_approves(start, receiver):
    api = start(hub_webhook_url=receiver.url).login()
    body = create_payload()
    body["documents"][1]["name"] = "Attestation d'Honneur - reject me"
    created = api.create(body).json()
    receiver.wait_until(status_reached("pending_documents"))
    pending = api.call("GET", f"/crm/interventions/{created['id']}").json()

    patched = api.call("PATCH", f"/crm/interventions/{created['id']}", json={"documents": [PROOF]})
    events = receiver.wait_until(status_reached("approved"))

    assert pending["status"] == "pending_documents"
    assert pending["next_steps"] == [{"type": "additional_proof", "status": "required"}]
    assert patched.status_code == 200
    assert summary(events) == [
        ("intervention.status_update", "processing"),
        ("document.verification", "invoice:verified"),
        ("document.verification", "attestation_honneur:rejected"),
        ("document.verification", "contract:verified"),
        ("intervention.status_update", "pending_documents"),
        ("intervention.status_update", "processing"),
        ("document.verification", "additional_proof:verified"),
        ("intervention.status_update", "approved"),
    ]
    for headers, raw in receiver.accepted():
        assert_signed(headers, raw)


def test_it_retries_a_failed_webhook_delivery_with_the_same_event_id():
    receiver = symphonics_receiver(fail_first=2).start()
    sim = SymphonicsSimulator(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                              webhook_secret=WEBHOOK_SECRET, hub_webhook_url=receiver.url,
                              processing_delay_seconds=0.01, verification_delay_seconds=10,
                              webhook_retry_seconds=0.01)
    running = serve(sim)
    try:
        Api(running.url, sim).login().create(create_payload())
        receiver.wait_until(lambda events: len(events) == 1)
    finally:
        stop_in_background(running)
        receiver.stop()

    assert [status for status, _, _ in receiver.hits] == [500, 500, 204]
    assert len({headers["x-symphonics-event-id"] for _, headers, _ in receiver.hits}) == 1
    delivery = sim.state()["webhooks"]["deliveries"][0]
    assert delivery["attempts"] == 3
    assert delivery["status"] == "delivered"


def test_it_can_delay_webhook_deliveries(start, receiver):
    api = start(hub_webhook_url=receiver.url, processing_delay_seconds=0.01,
                verification_delay_seconds=10, webhook_delay_seconds=0.4).login()
    created_at = time.monotonic()

    api.create(create_payload())
    receiver.wait_until(lambda events: len(events) == 1)

    assert time.monotonic() - created_at >= 0.4


def test_it_can_send_every_webhook_twice(start, receiver):
    api = start(hub_webhook_url=receiver.url, duplicate_webhooks=True,
                verification_delay_seconds=10).login()

    api.create(create_payload())
    receiver.wait_until(lambda events: len(events) == 2)

    first, second = receiver.accepted()
    assert first == second  # same body, signature and event id


def test_it_evaluates_the_lifecycle_on_read_without_webhooks(start):
    clock = FakeClock()
    api = start(clock=clock, processing_delay_seconds=2, verification_delay_seconds=2).login()
    created = api.create(create_payload()).json()

    def status() -> str:
        return api.call("GET", f"/crm/interventions/{created['id']}").json()["status"]

    seen = [status()]
    for _ in range(4):
        clock.tick(2)
        seen.append(status())

    assert seen == ["created", "processing", "processing", "processing", "approved"]
    assert api.sim.state()["webhooks"]["sent"] == 0
    assert [e["event"] for e in api.sim.events].count("document.verification") == 3


def test_it_rejects_an_intervention_listed_in_reject_external_ids(start):
    clock = FakeClock()
    api = start(clock=clock, reject_external_ids=["int_refused"]).login()
    created = api.create(create_payload("int_refused")).json()

    clock.tick(1)
    api.sim.run_due()
    patched = api.call("PATCH", f"/crm/interventions/{created['id']}", json={"documents": [PROOF]})

    last = api.sim.events[-1]
    assert (last["event"], last["data"]["new_status"]) == ("intervention.status_update",
                                                           "rejected")
    assert_error(patched, 409, "CONFLICT")


def test_it_keeps_asking_for_proof_while_the_proof_is_rejected(start):
    clock = FakeClock()
    api = start(clock=clock, reject_document_rule=lambda doc: doc.type == "invoice").login()
    created = api.create(create_payload()).json()
    clock.tick(1)
    api.sim.run_due()
    corrected_invoice = {**CONTRACT_PAYLOAD["documents"][0],
                         "url": "https://app.workforce-automation.com/documents/x/invoice-2.pdf"}

    api.call("PATCH", f"/crm/interventions/{created['id']}",
             json={"documents": [corrected_invoice]})
    clock.tick(1)
    still_pending = api.call("GET", f"/crm/interventions/{created['id']}").json()["status"]
    api.call("PATCH", f"/crm/interventions/{created['id']}", json={"documents": [PROOF]})
    clock.tick(1)
    final = api.call("GET", f"/crm/interventions/{created['id']}").json()["status"]

    assert still_pending == "pending_documents"
    assert final == "approved"


# -- control endpoints and factory ---------------------------------------------------
def test_it_reports_its_counters_in_sim_state_and_resets_them(start):
    api = start(per_minute_limit=1).login()
    api.create(create_payload())
    api.create(create_payload("int_other"))  # 429

    state = requests.get(api.url + "/_sim/state", timeout=5).json()
    requests.post(api.url + "/_sim/reset", timeout=5)
    after = requests.get(api.url + "/_sim/state", timeout=5).json()

    assert state["token_requests"] == 1
    assert state["requests_by_endpoint"] == {"POST /auth/token": 1, "POST /crm/interventions": 2}
    assert state["rate_limited"] == 1
    assert [item["external_id"] for item in state["interventions"]] == ["int_12345678"]
    assert after["token_requests"] == 0
    assert after["interventions"] == []
    assert after["requests_by_endpoint"] == {}
    assert_error(api.call("GET", "/validation/pdl/12345678901234"), 401, "UNAUTHORIZED")


def test_it_builds_from_the_hub_settings(settings):
    settings.HUB_BASE_URL = "http://hub.test:8000/"
    settings.SYMPHONICS_CLIENT_ID = "from-settings"

    sim = build(processing_delay_seconds=1)

    assert sim.client_id == "from-settings"
    assert sim.webhooks.url == "http://hub.test:8000/api/webhooks/symphonics/"
    assert sim.lifecycle.processing_delay == 1
