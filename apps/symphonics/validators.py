"""French identifiers and the checks an intervention passes before it is sent.

Field formats (research notes, part A): a PDL/PRM is 14 digits; a PCE is 14
digits, or `GI` + 6 digits in GRDF's older format; a postal code is 5
digits; a phone is sent in E.164, a French one being +33 and 9 digits. No
public check-digit algorithm exists for PDL or PCE, so only the syntax is
checked here and existence is asked of Symphonics (PDL validation).

Every free-text value sent is one line without control characters
(`apps.core.validators`): the model fields refuse them in the admin forms,
and the payload check below in the API, the admin actions and before each
publication. Symphonics documents no length limits; the model fields'
max_length bound each value.

`intervention_problems()` walks the create payload exactly as it would be
sent and names each field the way Symphonics names it in its own
`details[].field` (`installation.pdl`, `photos[0].coordinates`), which is
also how our API's create body is shaped: a manager reads the same field
names whether the hub or Symphonics refused the data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.core.validators import single_line_error

# [0-9] rather than \d, which also accepts non-ASCII digits.
PDL_RE = re.compile(r"[0-9]{14}")
PCE_RE = re.compile(r"[0-9]{14}|GI[0-9]{6}")
POSTAL_CODE_RE = re.compile(r"[0-9]{5}")
FRENCH_PHONE_RE = re.compile(r"\+33[1-9][0-9]{8}")
EXTERNAL_ID_RE = re.compile(r"[A-Za-z0-9_.:\-]{1,100}")

PDL_MESSAGE = _("PDL must be 14 digits.")
PCE_MESSAGE = _("PCE must be 14 digits, or GI followed by 6 digits.")
POSTAL_CODE_MESSAGE = _("Postal code must be 5 digits.")
PHONE_MESSAGE = _("Phone must be a French number in E.164 format, e.g. +33612345678.")
EMAIL_MESSAGE = _("Enter a valid e-mail address.")
EXTERNAL_ID_MESSAGE = _("Up to 100 letters, digits, or the characters _ . : -")
REQUIRED_MESSAGE = _("This field is required.")

# Each missing document is its own sentence, so translators see it whole.
REQUIRED_DOCUMENT_TYPES = {
    "invoice": _("An invoice (invoice) is required."),
    "attestation_honneur": _("An attestation sur l'honneur (attestation_honneur) is required."),
}
PHOTO_TYPES = ("before", "after")

_email = EmailValidator(message=EMAIL_MESSAGE)


def normalise_identifier(value: str) -> str:
    """PDL and PCE are printed in groups ("123 456 789 01234"): drop the spaces."""
    return re.sub(r"\s+", "", value or "").upper()


def validate_pdl(value: str) -> None:
    if not PDL_RE.fullmatch(value or ""):
        raise ValidationError(PDL_MESSAGE, code="invalid_pdl")


def validate_pce(value: str) -> None:
    if not PCE_RE.fullmatch(value or ""):
        raise ValidationError(PCE_MESSAGE, code="invalid_pce")


def validate_postal_code(value: str) -> None:
    if not POSTAL_CODE_RE.fullmatch(value or ""):
        raise ValidationError(POSTAL_CODE_MESSAGE, code="invalid_postal_code")


def validate_french_phone(value: str) -> None:
    if not FRENCH_PHONE_RE.fullmatch(value or ""):
        raise ValidationError(PHONE_MESSAGE, code="invalid_phone")


def validate_external_id(value: str) -> None:
    if not EXTERNAL_ID_RE.fullmatch(value or ""):
        raise ValidationError(EXTERNAL_ID_MESSAGE, code="invalid_external_id")


def is_email(value: str) -> bool:
    # EmailValidator lets a quoted local part ("a\x1bb"@…) carry control characters.
    if single_line_error(value) is not None:
        return False
    try:
        _email(value)
    except ValidationError:
        return False
    return True


class Problems:
    """Collects one or more messages per dotted field path."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        # In the language of the request that asked, as any other error message.
        self.fields.setdefault(path, []).append(str(message))

    def text(self, data: Mapping, key: str, path: str, *, required: bool = True) -> str | None:
        value = data.get(key)
        if value in (None, ""):
            if required:
                self.add(path, REQUIRED_MESSAGE)
            return None
        text = str(value)
        error = single_line_error(text)
        if error is not None:
            self.add(path, error)
            return None
        return text

    def matches(self, data: Mapping, key: str, path: str, pattern: re.Pattern, message: str,
                *, required: bool = True) -> None:
        value = self.text(data, key, path, required=required)
        if value is not None and not pattern.fullmatch(value):
            self.add(path, message)

    def url(self, data: Mapping, key: str, path: str) -> None:
        value = self.text(data, key, path)
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                self.add(path, gettext("Must be an http(s) URL."))

    def positive(self, data: Mapping, key: str, path: str) -> None:
        value = data.get(key)
        if value is None:
            self.add(path, REQUIRED_MESSAGE)
        elif isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            self.add(path, gettext("Quantity must be a positive number."))


def intervention_problems(payload: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every reason the create payload cannot be sent (empty when it can)."""
    problems = Problems()
    customer = payload.get("customer") or {}
    problems.text(customer, "first_name", "customer.first_name")
    problems.text(customer, "last_name", "customer.last_name")
    email = problems.text(customer, "email", "customer.email")
    if email is not None and not is_email(email):
        problems.add("customer.email", EMAIL_MESSAGE)
    problems.matches(customer, "phone", "customer.phone", FRENCH_PHONE_RE, PHONE_MESSAGE)

    installation = payload.get("installation") or {}
    problems.text(installation, "address", "installation.address")
    problems.text(installation, "city", "installation.city")
    problems.matches(installation, "postal_code", "installation.postal_code", POSTAL_CODE_RE,
                     POSTAL_CODE_MESSAGE)
    problems.matches(installation, "pdl", "installation.pdl", PDL_RE, PDL_MESSAGE)
    problems.matches(installation, "pce", "installation.pce", PCE_RE, PCE_MESSAGE,
                     required=False)

    services = payload.get("services") or []
    if not services:
        problems.add("services", gettext("At least one service (CEE operation) is required."))
    for i, service in enumerate(services):
        problems.text(service, "code", f"services[{i}].code")
        problems.text(service, "name", f"services[{i}].name")
        problems.positive(service, "quantity", f"services[{i}].quantity")
    for i, item in enumerate(payload.get("equipment") or []):
        problems.text(item, "name", f"equipment[{i}].name")
        problems.text(item, "model", f"equipment[{i}].model", required=False)
        problems.text(item, "serial_number", f"equipment[{i}].serial_number", required=False)
        problems.positive(item, "quantity", f"equipment[{i}].quantity")

    documents = payload.get("documents") or []
    for i, document in enumerate(documents):
        problems.text(document, "type", f"documents[{i}].type")
        problems.text(document, "name", f"documents[{i}].name")
        problems.url(document, "url", f"documents[{i}].url")
    present = {document.get("type") for document in documents}
    for kind, message in REQUIRED_DOCUMENT_TYPES.items():
        if kind not in present:
            problems.add("documents", message)

    photos = payload.get("photos") or []
    for i, photo in enumerate(photos):
        _photo(problems, photo, f"photos[{i}]")
    kinds = {photo.get("type") for photo in photos}
    for kind in PHOTO_TYPES:
        if kind not in kinds:
            problems.add("photos", gettext("At least one %(kind)s photo is required.")
                         % {"kind": repr(kind)})

    installer = payload.get("installer") or {}
    problems.text(installer, "id", "installer.id")
    problems.text(installer, "company_id", "installer.company_id", required=False)
    problems.text(installer, "name", "installer.name")
    if not payload.get("completion_date"):
        problems.add("completion_date", REQUIRED_MESSAGE)
    problems.matches(payload, "external_id", "external_id", EXTERNAL_ID_RE, EXTERNAL_ID_MESSAGE)
    return problems.fields


def _photo(problems: Problems, photo: Mapping, path: str) -> None:
    kind = problems.text(photo, "type", f"{path}.type")
    if kind is not None and kind not in PHOTO_TYPES:
        problems.add(f"{path}.type", gettext("Must be 'before' or 'after'."))
    problems.url(photo, "url", f"{path}.url")
    coordinates = photo.get("coordinates")
    if not isinstance(coordinates, Mapping):
        problems.add(f"{path}.coordinates", gettext("The photo needs its GPS coordinates."))
    else:
        for key, bound in (("latitude", 90), ("longitude", 180)):
            value = coordinates.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.add(f"{path}.coordinates.{key}", REQUIRED_MESSAGE)
            elif not -bound <= value <= bound:
                problems.add(f"{path}.coordinates.{key}",
                             gettext("Must be between %(low)s and %(high)s.")
                             % {"low": -bound, "high": bound})
    taken_at = photo.get("timestamp")
    if not taken_at:
        problems.add(f"{path}.timestamp", gettext("The photo needs the time it was taken."))
    elif not _is_aware(taken_at):
        problems.add(f"{path}.timestamp",
                     gettext("Must be an ISO 8601 date-time with a time zone."))


def _is_aware(value: str) -> bool:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False


def problems_summary(problems: dict[str, list[str]]) -> str:
    """One line for an admin message: `installation.pdl: PDL must be 14 digits. photos: …`."""
    return " ".join(f"{field}: {' '.join(messages)}" for field, messages in problems.items())
