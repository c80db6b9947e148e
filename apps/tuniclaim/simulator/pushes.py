"""What the platform checks in a status or payment push, field by field.

The bodies are those of the ARS code (docs/tuniclaim.md): every error names
its field, all of a body's errors are given at once, and fields the
platform does not know are ignored (a NestJS body without `whitelist`).
Inferred where the reference is silent:
  `bordereauId` may be the bordereau's id or its reference (the ARS code
      sends the reference; the URL carries the id); it must name the
      bordereau of the URL;
  `oldStatus` is optional and not compared with the current etat (the
      platform records the transition it is told about);
  `paymentDate` is a date (YYYY-MM-DD) or a date-time with its zone;
  `amount` is a number or text of dinars with at most three decimals, not
      negative; `paymentDate`, `amount`, `virementReference` and
      `gestionnaireId` may be null or absent.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from .generator import BS_STATES, PAYMENT_STATUSES, amount_in

Errors = dict[str, list[str]]

REQUIRED = "is required"
MAX_TEXT = 255


def status_errors(body: dict[str, Any]) -> Errors:
    errors: Errors = {}
    _key(body, "bordereauId", errors)
    _key(body, "bsId", errors)
    _choice(body, "newStatus", BS_STATES, errors, required=True)
    _choice(body, "oldStatus", BS_STATES, errors, required=False)
    _text(body, "processedBy", errors, required=True)
    _instant(body, "processedAt", errors, required=True)
    gestionnaire = body.get("gestionnaireId")
    if gestionnaire is not None and (isinstance(gestionnaire, bool)
                                     or not isinstance(gestionnaire, str | int)):
        errors["gestionnaireId"] = ["must be a string or an integer"]
    return errors


def payment_errors(body: dict[str, Any]) -> Errors:
    errors: Errors = {}
    _key(body, "bordereauId", errors)
    _key(body, "bsId", errors)
    _choice(body, "paymentStatus", PAYMENT_STATUSES, errors, required=True)
    _date_or_instant(body, "paymentDate", errors)
    _amount(body, "amount", errors)
    _text(body, "virementReference", errors, required=False)
    _text(body, "processedBy", errors, required=True)
    return errors


def _key(body: dict[str, Any], name: str, errors: Errors) -> None:
    value = body.get(name)
    if value is None or value == "":
        errors[name] = [REQUIRED]
    elif isinstance(value, bool) or not isinstance(value, str | int):
        errors[name] = ["must be a string"]


def _choice(body: dict[str, Any], name: str, choices: tuple[str, ...], errors: Errors, *,
            required: bool) -> None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            errors[name] = [REQUIRED]
    elif value not in choices:
        errors[name] = [f"must be one of: {', '.join(choices)}"]


def _text(body: dict[str, Any], name: str, errors: Errors, *, required: bool) -> None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            errors[name] = [REQUIRED]
    elif not isinstance(value, str):
        errors[name] = ["must be a string"]
    elif len(value) > MAX_TEXT:
        errors[name] = [f"must be at most {MAX_TEXT} characters"]


def _instant(body: dict[str, Any], name: str, errors: Errors, *, required: bool) -> None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            errors[name] = [REQUIRED]
        return
    if not _is_instant(value):
        errors[name] = ["must be an ISO 8601 date-time with its time zone"]


def _date_or_instant(body: dict[str, Any], name: str, errors: Errors) -> None:
    value = body.get(name)
    if value is None or value == "":
        return
    if isinstance(value, str) and len(value) == 10:
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            pass
        else:
            return
    if not _is_instant(value):
        errors[name] = ["must be a date (YYYY-MM-DD) or an ISO 8601 date-time with its zone"]


def _is_instant(value: Any) -> bool:
    if not isinstance(value, str) or "T" not in value:
        return False
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return moment.tzinfo is not None


def _amount(body: dict[str, Any], name: str, errors: Errors) -> None:
    value = body.get(name)
    if value is None:
        return
    # Numbers arrive as Decimal (the body is read with parse_float=Decimal),
    # so 150.5 is checked as the text said, never as a binary float.
    if not isinstance(value, str | int | Decimal) or isinstance(value, bool):
        errors[name] = ["must be an amount in dinars (a number or text)"]
        return
    try:
        millimes = amount_in(value)
    except ValueError:
        errors[name] = ["must be an amount in dinars with at most 3 decimals"]
        return
    if millimes < 0:
        errors[name] = ["must not be negative"]
