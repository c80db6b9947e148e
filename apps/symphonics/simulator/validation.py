"""Payload validation, producing the contract's `details[]` entries.

Each problem is `{"field": <dotted path>, "message": ...}`, with list items
as `photos[0].coordinates`, in the style of the contract's example
(`installation.pdl`). All problems are reported at once, as a client fixing
a payload wants to see every field at fault, not one per round trip.

Formats follow the domain notes: PDL 14 digits; PCE 14 digits or `GI` + 6
digits; 5-digit postal code; phone in E.164 (and, for +33, 9 digits after
the country code). Patterns use [0-9] rather than \\d, which would also
accept non-ASCII digits.

Inferred (not in the contract, mirrored from the hub's own pre-send checks):
an invoice and an attestation_honneur are required on create, as is at
least one "before" and one "after" photo, and document and photo types are
limited to the values the contract shows.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from .sandbox import INVALID_PDLS

PDL_RE = re.compile(r"[0-9]{14}")
PCE_RE = re.compile(r"[0-9]{14}|GI[0-9]{6}")
POSTAL_CODE_RE = re.compile(r"[0-9]{5}")
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
E164_RE = re.compile(r"\+[1-9][0-9]{7,14}")
FRENCH_E164_RE = re.compile(r"\+33[1-9][0-9]{8}")

DOCUMENT_TYPES = ("invoice", "attestation_honneur", "contract", "additional_proof")
REQUIRED_DOCUMENT_TYPES = ("invoice", "attestation_honneur")
PHOTO_TYPES = ("before", "after")
REQUIRED_SECTIONS = ("customer", "installation", "services", "documents", "photos",
                     "installer", "completion_date", "external_id")

Details = list[dict[str, str]]


class Problems:
    """Collects `details[]` entries while walking a payload."""

    def __init__(self) -> None:
        self.details: Details = []

    def add(self, field: str, message: str) -> None:
        self.details.append({"field": field, "message": message})

    def text(self, data: dict, key: str, path: str, *, required: bool = True) -> str | None:
        value = data.get(key)
        if value is None or value == "":
            if required:
                self.add(path, "This field is required")
            return None
        if not isinstance(value, str):
            self.add(path, "Must be a string")
            return None
        return value

    def matches(self, data: dict, key: str, path: str, pattern: re.Pattern, message: str,
                *, required: bool = True) -> str | None:
        value = self.text(data, key, path, required=required)
        if value is not None and not pattern.fullmatch(value):
            self.add(path, message)
            return None
        return value

    def positive_number(self, data: dict, key: str, path: str, *, required: bool = True) -> None:
        value = data.get(key)
        if value is None:
            if required:
                self.add(path, "This field is required")
        elif isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            self.add(path, "Quantity must be a positive number")

    def timestamp(self, data: dict, key: str, path: str) -> None:
        value = self.text(data, key, path)
        if value is not None and not is_aware_datetime(value):
            self.add(path, "Must be an ISO-8601 date-time with a time zone")

    def url(self, data: dict, key: str, path: str) -> None:
        value = self.text(data, key, path)
        if value is not None and not is_http_url(value):
            self.add(path, "Must be an http(s) URL")

    def section(self, body: dict, key: str, kind: type) -> Any:
        """The section if it has the right JSON type; missing ones are already reported."""
        value = body.get(key)
        if value in (None, "", [], {}):
            return None
        if not isinstance(value, kind):
            self.add(key, "Must be an object" if kind is dict else "Must be a list")
            return None
        return value


def is_aware_datetime(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def validate_intervention(body: dict) -> Details:
    """Problems with a create-intervention payload (empty when valid)."""
    problems = Problems()
    for key in REQUIRED_SECTIONS:
        if body.get(key) in (None, "", [], {}):
            problems.add(key, "This field is required")
    if (customer := problems.section(body, "customer", dict)) is not None:
        _customer(problems, customer)
    if (installation := problems.section(body, "installation", dict)) is not None:
        _installation(problems, installation)
    if (services := problems.section(body, "services", list)) is not None:
        _services(problems, services)
    if (equipment := problems.section(body, "equipment", list)) is not None:
        _equipment(problems, equipment)
    if (documents := problems.section(body, "documents", list)) is not None:
        _documents(problems, documents, "documents")
        _required_documents(problems, documents)
    if (photos := problems.section(body, "photos", list)) is not None:
        _photos(problems, photos)
    if (installer := problems.section(body, "installer", dict)) is not None:
        problems.text(installer, "id", "installer.id")
        problems.text(installer, "name", "installer.name")
        problems.text(installer, "company_id", "installer.company_id", required=False)
    if body.get("completion_date"):
        problems.timestamp(body, "completion_date", "completion_date")
    if body.get("external_id"):
        problems.text(body, "external_id", "external_id")
    return problems.details


def validate_update(body: dict) -> Details:
    """Problems with a PATCH body: the contract only shows `documents`."""
    problems = Problems()
    for key in body:
        if key != "documents":
            problems.add(key, "This field cannot be updated")
    documents = body.get("documents")
    if not documents:
        problems.add("documents", "This field is required")
    elif not isinstance(documents, list):
        problems.add("documents", "Must be a list")
    else:
        _documents(problems, documents, "documents")
    return problems.details


def validate_lookup(body: dict) -> Details:
    problems = Problems()
    address = body.get("address")
    if not isinstance(address, dict):
        problems.add("address",
                     "This field is required" if address is None else "Must be an object")
    else:
        problems.text(address, "street", "address.street")
        problems.matches(address, "postal_code", "address.postal_code", POSTAL_CODE_RE,
                         "Postal code must be 5 digits")
        problems.text(address, "city", "address.city")
    problems.text(body, "customer_name", "customer_name")
    return problems.details


def _customer(problems: Problems, customer: dict) -> None:
    problems.text(customer, "first_name", "customer.first_name")
    problems.text(customer, "last_name", "customer.last_name")
    problems.matches(customer, "email", "customer.email", EMAIL_RE, "Invalid email address")
    phone = problems.matches(customer, "phone", "customer.phone", E164_RE,
                             "Phone must be in E.164 format (e.g. +33612345678)")
    if phone and phone.startswith("+33") and not FRENCH_E164_RE.fullmatch(phone):
        problems.add("customer.phone", "A French number is +33 followed by 9 digits")


def _installation(problems: Problems, installation: dict) -> None:
    problems.text(installation, "address", "installation.address")
    problems.text(installation, "city", "installation.city")
    problems.matches(installation, "postal_code", "installation.postal_code", POSTAL_CODE_RE,
                     "Postal code must be 5 digits")
    pdl = problems.matches(installation, "pdl", "installation.pdl", PDL_RE,
                           "PDL must be 14 digits")
    if pdl in INVALID_PDLS:
        problems.add("installation.pdl", "PDL is not a valid delivery point")
    problems.matches(installation, "pce", "installation.pce", PCE_RE,
                     "PCE must be 14 digits or GI followed by 6 digits", required=False)


def _services(problems: Problems, services: list) -> None:
    for i, service in enumerate(services):
        path = f"services[{i}]"
        if not isinstance(service, dict):
            problems.add(path, "Must be an object")
            continue
        problems.text(service, "code", f"{path}.code")
        problems.text(service, "name", f"{path}.name")
        problems.positive_number(service, "quantity", f"{path}.quantity")


def _equipment(problems: Problems, equipment: list) -> None:
    for i, item in enumerate(equipment):
        path = f"equipment[{i}]"
        if not isinstance(item, dict):
            problems.add(path, "Must be an object")
            continue
        problems.text(item, "name", f"{path}.name")
        problems.positive_number(item, "quantity", f"{path}.quantity", required=False)


def _documents(problems: Problems, documents: list, field: str) -> None:
    for i, document in enumerate(documents):
        path = f"{field}[{i}]"
        if not isinstance(document, dict):
            problems.add(path, "Must be an object")
            continue
        kind = problems.text(document, "type", f"{path}.type")
        if kind is not None and kind not in DOCUMENT_TYPES:
            problems.add(f"{path}.type", f"Must be one of: {', '.join(DOCUMENT_TYPES)}")
        problems.text(document, "name", f"{path}.name")
        problems.url(document, "url", f"{path}.url")


def _required_documents(problems: Problems, documents: list) -> None:
    present = {document.get("type") for document in documents if isinstance(document, dict)}
    for kind in REQUIRED_DOCUMENT_TYPES:
        if documents and kind not in present:
            problems.add("documents", f"A document of type {kind} is required")


def _photos(problems: Problems, photos: list) -> None:
    for i, photo in enumerate(photos):
        path = f"photos[{i}]"
        if not isinstance(photo, dict):
            problems.add(path, "Must be an object")
            continue
        kind = problems.text(photo, "type", f"{path}.type")
        if kind is not None and kind not in PHOTO_TYPES:
            problems.add(f"{path}.type", f"Must be one of: {', '.join(PHOTO_TYPES)}")
        problems.url(photo, "url", f"{path}.url")
        _coordinates(problems, photo.get("coordinates"), f"{path}.coordinates")
        problems.timestamp(photo, "timestamp", f"{path}.timestamp")
    present = {photo.get("type") for photo in photos if isinstance(photo, dict)}
    for kind in PHOTO_TYPES:
        if photos and kind not in present:
            problems.add("photos", f"At least one {kind!r} photo is required")


def _coordinates(problems: Problems, coordinates: Any, path: str) -> None:
    if not isinstance(coordinates, dict):
        problems.add(path, "Photo must have GPS coordinates (latitude and longitude)")
        return
    for key, bound in (("latitude", 90), ("longitude", 180)):
        value = coordinates.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.add(f"{path}.{key}", "This field is required and must be a number")
        elif not -bound <= value <= bound:
            problems.add(f"{path}.{key}", f"Must be between {-bound} and {bound}")
