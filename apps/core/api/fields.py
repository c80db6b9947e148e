"""Serializer fields shared by the domain APIs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

# Nothing the hub records happened before this: an earlier time is a typo
# (0033 for 2033) or a device whose clock was never set.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# Nothing the hub records is planned further ahead; a mistyped year (2062
# for 2026) falls outside.
DEFAULT_MAX_FUTURE = timedelta(days=3 * 365)


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an offset (or Z), a real date and time, in a plausible range.

    A naive time is ambiguous across DST, so refused. A well-formed but
    impossible value (30 February, 12:99, hour 25) is refused as such.

    The range, checked against the hub's clock when the request comes in:
    never before 2000-01-01T00:00Z, and never more than `max_future` after
    now (three years unless the field says otherwise). A field whose
    meaning ties it to the present narrows it: `max_past` bounds how long
    ago the time may be (a clock-in happens now, so a day is plenty), and a
    smaller `max_future` how far ahead (a completed intervention is not in
    the future).
    """

    default_error_messages = {
        "naive": _("Give the time zone offset, e.g. 2026-02-21T17:00:00+01:00 or …Z."),
        "impossible": _("This date or time does not exist (e.g. 30 February, 12:99 or "
                        "hour 25); give a real one, e.g. 2026-02-21T17:00:00+01:00."),
        "too_early": _("Too far in the past: give a time from {earliest} on."),
        "too_late": _("Too far in the future: give a time until {latest}."),
    }

    def __init__(self, *, max_past: timedelta | None = None,
                 max_future: timedelta = DEFAULT_MAX_FUTURE, **kwargs) -> None:
        super().__init__(**kwargs)
        self.max_past = max_past
        self.max_future = max_future

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                # parse_datetime raises for a well-formed value no calendar has.
                self.fail("impossible")
            if parsed is not None and timezone.is_naive(parsed):
                self.fail("naive")
        moment = super().to_internal_value(value)
        self._check_range(moment)
        return moment

    def bounds(self) -> tuple[datetime, datetime]:
        """The earliest and latest times accepted now."""
        now = timezone.now()
        earliest = EARLIEST if self.max_past is None else max(EARLIEST, now - self.max_past)
        return earliest, now + self.max_future

    def _check_range(self, moment: datetime) -> None:
        earliest, latest = self.bounds()
        if moment < earliest:
            self.fail("too_early", earliest=_iso(earliest))
        if moment > latest:
            self.fail("too_late", latest=_iso(latest))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")

