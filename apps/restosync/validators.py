"""What a restaurant's data must look like before it is stored or sent."""

from __future__ import annotations

import re
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# ISO weekdays, as the seed's `dayOfWeek`: 1 is Monday, 7 is Sunday.
WEEKDAYS = range(1, 8)
# What people type around a phone number; only the digits and a leading + matter
# for telling two customers apart.
_PHONE_NOISE = re.compile(r"[\s().\-/]")
_PHONE = re.compile(r"\+?[0-9]{6,20}")


def validate_time_zone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(_("Enter an IANA time zone such as Europe/Brussels."),
                              code="invalid_time_zone")


def validate_weekdays(value: object) -> None:
    if not isinstance(value, list) or not value or any(
            not isinstance(day, int) or isinstance(day, bool) or day not in WEEKDAYS
            for day in value):
        raise ValidationError(_("Give the days as a list of numbers from 1 (Monday) to "
                                "7 (Sunday)."), code="invalid_days")
    if len(set(value)) != len(value):
        raise ValidationError(_("A day is listed twice."), code="invalid_days")


def validate_text_list(value: object) -> None:
    if not isinstance(value, list) or any(not isinstance(item, str) for item in value):
        raise ValidationError(_("Give a list of texts."), code="invalid_list")


def normalise_phone(value: str) -> str:
    return _PHONE_NOISE.sub("", (value or "").strip())


def validate_phone(value: str) -> None:
    if not _PHONE.fullmatch(normalise_phone(value)):
        raise ValidationError(_("Enter a phone number of 6 to 20 digits, e.g. +32470123456."),
                              code="invalid_phone")


def normalise_email(value: str) -> str:
    return (value or "").strip().lower()
