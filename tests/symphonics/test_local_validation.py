"""Every local check refuses bad data before anything is sent, naming the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import responses

from apps.core.models import OutboundOperation
from apps.symphonics.models import Intervention
from apps.symphonics.validators import intervention_problems
from tests.symphonics.factories import create_payload

pytestmark = pytest.mark.django_db

URL = "/api/symphonics/interventions/"
Mutation = Callable[[dict[str, Any]], None]


def _set(section: str, key: str, value: Any) -> Mutation:
    return lambda body: body[section].__setitem__(key, value)


def _documents_without(kind: str) -> Mutation:
    return lambda body: body.__setitem__(
        "documents", [d for d in body["documents"] if d["type"] != kind])


def _photos_without(kind: str) -> Mutation:
    return lambda body: body.__setitem__(
        "photos", [p for p in body["photos"] if p["type"] != kind])


def _photo(index: int, key: str, value: Any) -> Mutation:
    return lambda body: body["photos"][index].__setitem__(key, value)


def _item(section: str, index: int, key: str, value: Any) -> Mutation:
    return lambda body: body[section][index].__setitem__(key, value)


def _drop_photo_key(index: int, key: str) -> Mutation:
    return lambda body: body["photos"][index].pop(key)


CASES = [
    ("pdl-13-digits", _set("installation", "pdl", "1234567890123"),
     "installation.pdl", "PDL must be 14 digits"),
    ("pdl-letters", _set("installation", "pdl", "1234567890123A"),
     "installation.pdl", "PDL must be 14 digits"),
    ("pce-short", _set("installation", "pce", "98765"),
     "installation.pce", "PCE must be 14 digits, or GI followed by 6 digits"),
    ("pce-gi-5-digits", _set("installation", "pce", "GI12345"),
     "installation.pce", "PCE must be 14 digits, or GI followed by 6 digits"),
    ("email", _set("customer", "email", "thomas.martin@"),
     "customer.email", "valid e-mail"),
    ("phone-national", _set("customer", "phone", "0612345678"),
     "customer.phone", "E.164"),
    ("phone-not-french", _set("customer", "phone", "+32470123456"),
     "customer.phone", "French number"),
    ("phone-too-short", _set("customer", "phone", "+3361234567"),
     "customer.phone", "E.164"),
    ("postal-code-4-digits", _set("installation", "postal_code", "7501"),
     "installation.postal_code", "5 digits"),
    ("postal-code-letter", _set("installation", "postal_code", "75O15"),
     "installation.postal_code", "5 digits"),
    ("no-invoice", _documents_without("invoice"),
     "documents", "An invoice (invoice) is required"),
    ("no-attestation", _documents_without("attestation_honneur"),
     "documents", "attestation sur l'honneur (attestation_honneur) is required"),
    ("no-before-photo", _photos_without("before"),
     "photos", "At least one 'before' photo is required"),
    ("no-after-photo", _photos_without("after"),
     "photos", "At least one 'after' photo is required"),
    ("photo-without-coordinates", _drop_photo_key(0, "coordinates"),
     "photos[0].coordinates", "GPS coordinates"),
    ("photo-with-null-coordinates", _photo(1, "coordinates", None),
     "photos[1].coordinates", "GPS coordinates"),
    ("photo-latitude-out-of-range", _photo(0, "coordinates", {"latitude": 123.0,
                                                              "longitude": 2.35}),
     "photos[0].coordinates.latitude", "between -90 and 90"),
    ("photo-without-timestamp", _drop_photo_key(1, "timestamp"),
     "photos[1].timestamp", "time it was taken"),
    ("service-quantity-zero", _item("services", 0, "quantity", 0),
     "services[0].quantity", "positive"),
    ("service-quantity-negative", _item("services", 0, "quantity", -2),
     "services[0].quantity", "positive"),
    ("equipment-quantity-zero", _item("equipment", 0, "quantity", 0),
     "equipment[0].quantity", "positive"),
    ("document-url", _item("documents", 2, "url", "ftp://files.example.com/contract.pdf"),
     "documents[2].url", "http(s) URL"),
    ("no-service", lambda body: body.__setitem__("services", []),
     "services", "At least one service"),
    ("external-id", lambda body: body.__setitem__("external_id", "int 1/2"),
     "external_id", "letters, digits"),
]

# Every free-text value sent to Symphonics refuses control characters: the
# fuzzer's escape, and the others a single line has no use for.
CONTROL = "Remove the control character"
CONTROL_CASES = [
    ("first-name-escape", _set("customer", "first_name", "\u001bÖ"),
     "customer.first_name", f"{CONTROL} U+001B at position 1"),
    ("last-name-nel", _set("customer", "last_name", "Mar\u0085tin"),
     "customer.last_name", f"{CONTROL} U+0085"),
    ("email-quoted-control", _set("customer", "email", '"tho\u0007mas"@example.com'),
     "customer.email", f"{CONTROL} U+0007"),
    ("address-line-feed", _set("installation", "address", "45 Rue\ndes Fleurs"),
     "installation.address", f"{CONTROL} U+000A"),
    ("city-tab", _set("installation", "city", "Pa\tris"),
     "installation.city", f"{CONTROL} U+0009"),
    ("service-code", _item("services", 0, "code", "BAR-TH\u0002-173"),
     "services[0].code", CONTROL),
    ("service-name", _item("services", 0, "name", "Régulateur\u007f"),
     "services[0].name", f"{CONTROL} U+007F"),
    ("equipment-name", _item("equipment", 0, "name", "Régulateur\u2028Thaléos"),
     "equipment[0].name", f"{CONTROL} U+2028"),
    ("equipment-model", _item("equipment", 0, "model", "RT\u001b-2000"),
     "equipment[0].model", CONTROL),
    ("equipment-serial-number", _item("equipment", 0, "serial_number", "TH20\r23456789"),
     "equipment[0].serial_number", f"{CONTROL} U+000D"),
    ("document-name", _item("documents", 0, "name", "Facture\u009b - Thomas Martin"),
     "documents[0].name", f"{CONTROL} U+009B"),
    ("document-url-control", _item("documents", 1, "url", "https://example.com/a\u001bh.pdf"),
     "documents[1].url", CONTROL),
    ("photo-url", _photo(0, "url", "https://example.com/before\u0001.jpg"),
     "photos[0].url", CONTROL),
    ("installer-id", _set("installer", "id", "usr_\u001b87654321"),
     "installer.id", CONTROL),
    ("installer-company-id", _set("installer", "company_id", "cmp_\u001f12345678"),
     "installer.company_id", CONTROL),
    ("installer-name", _set("installer", "name", "Jean\u001bDupont"),
     "installer.name", CONTROL),
]
CASES += CONTROL_CASES


@responses.activate
@pytest.mark.parametrize(("mutate", "field", "message"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_it_refuses_the_intervention_naming_the_field(api_client, mutate, field, message):
    body = create_payload()
    mutate(body)

    response = api_client.post(URL, body, format="json")

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"], error["details"]
    assert any(message in text for text in error["details"][field]), error["details"][field]
    assert field in error["message"]
    # Refused before anything was stored or sent.
    assert not Intervention.objects.exists()
    assert not OutboundOperation.objects.exists()
    assert len(responses.calls) == 0


@responses.activate
def test_it_reports_every_problem_at_once(api_client):
    body = create_payload()
    body["installation"]["pdl"] = "123"
    body["customer"]["phone"] = "06 12 34 56 78"
    body["photos"] = body["photos"][:1]

    response = api_client.post(URL, body, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"installation.pdl", "customer.phone",
                                                        "photos"}
    assert len(responses.calls) == 0


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda body: body.pop("customer"), "customer"),
    (lambda body: body.__setitem__("completion_date", "2025-03-25T11:30:00"), "completion_date"),
    (lambda body: body["services"][0].__setitem__("quantity", "a few"),
     "services[0].quantity"),
    (lambda body: body["documents"][0].__setitem__("type", "selfie"), "documents[0].type"),
    (lambda body: body["photos"][1].__setitem__("type", "during"), "photos[1].type"),
    (lambda body: body["photos"][0]["coordinates"].pop("longitude"),
     "photos[0].coordinates.longitude"),
], ids=["no-customer", "naive-completion-date", "quantity-not-a-number", "document-type",
        "photo-type", "no-longitude"])
def test_it_names_malformed_fields_with_the_same_paths(api_client, mutate, field):
    body = create_payload()
    mutate(body)

    response = api_client.post(URL, body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"], error["details"]
    assert not Intervention.objects.exists()


def test_it_accepts_the_old_gas_format_and_spaced_identifiers(settings, api_client):
    settings.SYMPHONICS_PUBLISH_ON_COMPLETION = False
    body = create_payload()
    body["installation"]["pce"] = "GI123456"
    body["installation"]["pdl"] = "123 456 789 01234"

    response = api_client.post(URL, body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["installation"]["pce"] == "GI123456"
    assert response.json()["installation"]["pdl"] == "12345678901234"


def test_it_checks_the_payload_it_would_send():
    problems = intervention_problems(create_payload())
    assert problems == {}
