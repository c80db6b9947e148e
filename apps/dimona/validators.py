"""Belgian identifiers: enterprise number (KBO/BCE) and SSIN (INSZ/NISS)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

_DIGITS = re.compile(r"\D")


def normalise_digits(value: str) -> str:
    """Drop dots, dashes, spaces and the BE prefix people type."""
    value = (value or "").strip().upper()
    if value.startswith("BE"):
        value = value[2:]
    return _DIGITS.sub("", value)


def enterprise_number_is_valid(number: str) -> bool:
    """10 digits, starting with 0 or 1, last two = 97 - (first eight mod 97)."""
    if not re.fullmatch(r"[01]\d{9}", number):
        return False
    return 97 - int(number[:8]) % 97 == int(number[8:])


def ssin_is_valid(ssin: str) -> bool:
    """11 digits whose last two are the mod-97 check of the first nine.

    For people born from 2000 on, the check is computed on "2" followed by
    the nine digits; the number itself does not say the century, so either
    form is accepted.
    """
    if not re.fullmatch(r"\d{11}", ssin):
        return False
    base, check = ssin[:9], int(ssin[9:])
    return check in (97 - int(base) % 97, 97 - int("2" + base) % 97)


def validate_enterprise_number(value: str) -> None:
    if not enterprise_number_is_valid(normalise_digits(value)):
        raise ValidationError(
            "Enter a valid Belgian enterprise number (10 digits with a valid mod-97 check).",
            code="invalid_enterprise_number",
        )


def validate_ssin(value: str) -> None:
    if not ssin_is_valid(normalise_digits(value)):
        raise ValidationError(
            "Enter a valid national number (SSIN): 11 digits with a valid mod-97 check.",
            code="invalid_ssin",
        )
