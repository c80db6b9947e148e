"""Serializer fields shared by the domain APIs."""

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an offset (or Z): a naive time is ambiguous across DST, so refused."""

    default_error_messages = {
        "naive": "Give the time zone offset, e.g. 2026-02-21T17:00:00+01:00 or …Z.",
    }

    def to_internal_value(self, value):
        if isinstance(value, str):
            parsed = parse_datetime(value.strip())
            if parsed is not None and timezone.is_naive(parsed):
                self.fail("naive")
        return super().to_internal_value(value)
