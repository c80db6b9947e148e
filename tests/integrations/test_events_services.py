"""The event services: version bumped on every change, attendees one row per e-mail,
end after start, a cancelled event frozen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.core.errors import ServiceError
from apps.integrations import services
from apps.integrations.models import Attendance
from tests.integrations.factories import EventFactory, default_organization, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return member(username="marie")


def _times():
    start = timezone.now() + timedelta(days=1)
    return start, start + timedelta(hours=1)


def test_it_refuses_an_event_ending_before_it_starts(user):
    start, _ = _times()

    with pytest.raises(ServiceError) as refused:
        services.event_create(organization=default_organization(), user=user,
                              data={"title": "x", "start": start, "end": start})

    assert refused.value.code == "invalid_period"
    assert "end" in refused.value.details


def test_it_bumps_the_version_on_every_change_attendees_included(user):
    event = EventFactory()

    event = services.event_update(event=event, user=user, data={"title": "Renamed"})
    event = services.event_update(event=event, user=user, data={},
                                  attendees=[{"email": "ada@example.test"}])
    services.attendance_record(event=event, email="ADA@example.test", status="present",
                               minutes_present=40, source=Attendance.Source.ZOOM)
    event.refresh_from_db()

    assert event.version == 4
    [row] = event.attendances.all()
    assert (row.status, row.minutes_present, row.source) == ("present", 40, "zoom")
    # Encrypted at rest: the column never holds the address.
    with connection.cursor() as cursor:
        cursor.execute("SELECT email FROM integrations_attendance WHERE id = %s", [row.pk])
        [(stored,)] = cursor.fetchall()
    assert stored and "ada@example.test" not in stored


def test_it_keeps_one_attendee_per_e_mail_the_last_given_winning(user):
    start, end = _times()

    event = services.event_create(
        organization=default_organization(), user=user,
        data={"title": "x", "start": start, "end": end},
        attendees=[{"email": "ada@example.test", "name": "A"},
                   {"email": " Ada@Example.test ", "name": "Ada", "status": "accepted"}])

    [row] = event.attendances.all()
    assert (row.name, row.status) == ("Ada", "accepted")


def test_it_freezes_a_cancelled_event(user):
    event = services.event_cancel(event=EventFactory(), user=user)

    for change in (lambda: services.event_update(event=event, user=user, data={"title": "x"}),
                   lambda: services.event_cancel(event=event, user=user),
                   lambda: services.attendance_record(event=event, email="a@example.test",
                                                      status="present")):
        with pytest.raises(ServiceError) as refused:
            change()
        assert (refused.value.code, refused.value.status) == ("event_cancelled", 409)


def test_it_leaves_the_version_alone_when_an_attendance_is_recorded_again_unchanged(user):
    event = EventFactory()
    services.attendance_record(event=event, email="ada@example.test", status="present",
                               minutes_present=40, source=Attendance.Source.ZOOM)
    services.attendance_record(event=event, email="Ada@example.test", status="present",
                               minutes_present=40, source=Attendance.Source.ZOOM)

    event.refresh_from_db()
    assert event.version == 2
