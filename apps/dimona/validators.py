"""Belgian identifiers: enterprise number (KBO/BCE), SSIN (INSZ/NISS), joint commission."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_DIGITS = re.compile(r"\D")

# What the ONSS takes as jointCommissionNumber (research notes, dimona.md
# §2.3 and §3.3): XXX ("other", what flexi-jobs are declared under), or a
# joint commission number: three digits, with a two-digit sub-committee
# after a dot (302, 118.03, 202.01). [0-9] rather than \d, which also
# matches non-ASCII digits.
JOINT_COMMISSION_RE = re.compile(r"XXX|[0-9]{3}(?:\.[0-9]{2})?")
JOINT_COMMISSION_MESSAGE = _(
    "Enter XXX or a joint commission number such as 302 or 118.03.")


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
            _("Enter a valid Belgian enterprise number (10 digits with a valid mod-97 check)."),
            code="invalid_enterprise_number",
        )


def validate_ssin(value: str) -> None:
    if not ssin_is_valid(normalise_digits(value)):
        raise ValidationError(
            _("Enter a valid national number (SSIN): 11 digits with a valid mod-97 check."),
            code="invalid_ssin",
        )


def normalise_joint_commission(value: str) -> str:
    """People type "xxx" or " 302 "; the ONSS wants "XXX" and "302"."""
    return (value or "").strip().upper()


def joint_commission_is_valid(value: str) -> bool:
    return JOINT_COMMISSION_RE.fullmatch(value) is not None


def validate_joint_commission(value: str) -> None:
    if not joint_commission_is_valid(normalise_joint_commission(value)):
        raise ValidationError(JOINT_COMMISSION_MESSAGE, code="invalid_joint_commission")
