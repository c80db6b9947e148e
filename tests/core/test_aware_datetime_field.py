"""The shared date-time field: real, zoned and plausible times only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from rest_framework import serializers

from apps.core.api.fields import EARLIEST, AwareDateTimeField

NOW = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)


class Default(serializers.Serializer):
    at = AwareDateTimeField()


class AroundNow(serializers.Serializer):
    at = AwareDateTimeField(max_past=timedelta(hours=24), max_future=timedelta(hours=1))


def errors(serializer_class, value) -> list[str]:
    with time_machine.travel(NOW, tick=False):
        serializer = serializer_class(data={"at": value})
        assert not serializer.is_valid()
    return [str(message) for message in serializer.errors["at"]]


def accepted(serializer_class, value) -> datetime:
    with time_machine.travel(NOW, tick=False):
        serializer = serializer_class(data={"at": value})
        assert serializer.is_valid(), serializer.errors
    return serializer.validated_data["at"]


@pytest.mark.parametrize("value", [
    "2024-01-01T12:99:00Z", "2024-02-30T10:00:00Z", "2024-01-01T25:00:00Z",
    "2023-02-29T10:00:00+01:00", "2024-13-01T10:00:00Z", "2024-04-31 10:00:00+02:00",
    "2024-01-01T12:00:60Z",
])
def test_it_refuses_a_well_formed_time_no_calendar_has(value):
    (message,) = errors(Default, value)
    assert message.startswith("This date or time does not exist")


@pytest.mark.parametrize("value", ["2024-02-30", "soon", "2024-01-01T12:00"])
def test_it_still_refuses_what_is_not_a_time_with_an_offset(value):
    assert errors(Default, value)


def test_it_accepts_29_february_of_a_leap_year():
    assert accepted(Default, "2024-02-29T10:00:00+01:00") == datetime(2024, 2, 29, 9,
                                                                       tzinfo=UTC)


def test_it_refuses_times_before_2000():
    assert accepted(Default, "2000-01-01T00:00:00Z") == EARLIEST
    assert errors(Default, "1999-12-31T23:59:59Z") == [
        "Too far in the past: give a time from 2000-01-01T00:00:00Z on."]
    assert errors(Default, "0033-11-23T16:00:00Z") == [
        "Too far in the past: give a time from 2000-01-01T00:00:00Z on."]


def test_it_refuses_times_more_than_three_years_ahead_by_default():
    three_years = NOW + timedelta(days=3 * 365)
    assert accepted(Default, three_years.isoformat()) == three_years
    assert errors(Default, (three_years + timedelta(seconds=1)).isoformat()) == [
        "Too far in the future: give a time until 2029-11-22T16:00:00Z."]


def test_it_narrows_the_range_where_the_field_says_so():
    assert accepted(AroundNow, "2026-11-22T16:00:00Z")
    assert accepted(AroundNow, "2026-11-23T18:00:00+01:00")
    assert errors(AroundNow, "2026-11-22T15:59:59Z") == [
        "Too far in the past: give a time from 2026-11-22T16:00:00Z on."]
    assert errors(AroundNow, "2026-11-23T17:00:01Z") == [
        "Too far in the future: give a time until 2026-11-23T17:00:00Z."]


def test_it_never_lets_a_narrow_window_reach_before_2000():
    with time_machine.travel(datetime(2000, 1, 1, 6, tzinfo=UTC), tick=False):
        serializer = AroundNow(data={"at": "1999-12-31T23:00:00Z"})
        assert not serializer.is_valid()
    assert "2000-01-01T00:00:00Z" in str(serializer.errors["at"][0])
