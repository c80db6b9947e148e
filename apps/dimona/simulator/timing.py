"""Dimona dates and hours as instants in Belgian time.

The wire carries local dates (`YYYY-MM-DD`) and hours (`HHMM`) without an
offset: the ONSS reads them as Europe/Brussels wall time.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

BRUSSELS = ZoneInfo("Europe/Brussels")

# An open-ended period (no end date) runs until further notice.
FAR_FUTURE = dt.datetime.max.replace(tzinfo=dt.UTC)

# A half-open interval [start, end) of aware datetimes.
Span = tuple[dt.datetime, dt.datetime]


def instant(date: str, hour: str | None = None) -> dt.datetime:
    """`2026-02-21` + `1700` as an aware datetime; midnight without an hour."""
    clock = dt.time(int(hour[:2]), int(hour[2:])) if hour else dt.time()
    return dt.datetime.combine(dt.date.fromisoformat(date), clock, tzinfo=BRUSSELS)


def span(
    start_date: str, start_hour: str | None, end_date: str | None, end_hour: str | None
) -> Span:
    """The half-open interval [start, end) a period covers.

    Without hours a period covers whole days, so its end is the midnight
    after its end date.
    """
    start = instant(start_date, start_hour)
    if end_date is None:
        return start, FAR_FUTURE
    if end_hour:
        return start, instant(end_date, end_hour)
    return start, instant(end_date) + dt.timedelta(days=1)


def overlaps(first: Span, second: Span) -> bool:
    return first[0] < second[1] and second[0] < first[1]


def from_epoch(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=BRUSSELS)
