"""The domain's outgoing webhook events: eventCreated and attendanceUpdated,
their payloads, their tenant (the organisation) and the seed's filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apps.core.outgoing import endpoint_create, webhook_event_types
from apps.integrations.models import ORGANIZATION_TENANT
from apps.integrations.outgoing_events import (
    ATTENDANCE_UPDATED,
    EVENT_CREATED,
    attendance_counts,
    attendance_rate,
    emit_attendance_updated,
    emit_event_created,
)
from tests.integrations.factories import EventFactory, OrganizationFactory, attendee

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_dns(settings):
    # Nothing is delivered here: the partner's host need not resolve.
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = True


def endpoint(organization, event_types, **filters):
    return endpoint_create(url="https://partner.example/hooks", event_types=event_types,
                           tenant_type=ORGANIZATION_TENANT, tenant_id=str(organization.pk),
                           filters=filters or None)


def test_both_event_types_are_registered_with_the_seeds_filters():
    types = {event_type.name: event_type for event_type in webhook_event_types()}

    assert [f.name for f in types[EVENT_CREATED].filters] == ["eventTypes"]
    assert [(f.name, f.field, f.kind) for f in types[ATTENDANCE_UPDATED].filters] == [
        ("eventTypes", "eventType", "in"), ("minAttendanceChange", "attendanceChange", "min_abs")]


def test_event_created_goes_to_the_organisations_endpoints_only():
    organization = OrganizationFactory()
    ours = endpoint(organization, [EVENT_CREATED])
    endpoint(OrganizationFactory(), [EVENT_CREATED])
    start = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
    event = EventFactory(organization=organization, title="Audit", start=start,
                         end=start + timedelta(hours=1), location="Room 2")

    [delivery] = emit_event_created(event=event)

    assert delivery.endpoint_id == ours.pk
    assert delivery.payload["type"] == EVENT_CREATED
    assert delivery.payload["data"] == {
        "id": event.pk, "title": "Audit", "eventType": "training",
        "start": "2026-05-04T08:00:00Z", "end": "2026-05-04T09:00:00Z",
        "timeZone": "Europe/Brussels", "location": "Room 2", "isPrivate": False,
        "organizerId": None}


def test_an_event_type_filter_keeps_other_types_out():
    organization = OrganizationFactory()
    endpoint(organization, [EVENT_CREATED], eventTypes=["conference"])

    assert emit_event_created(event=EventFactory(organization=organization)) == []


def test_the_attendance_rate_leaves_out_who_declined():
    event = EventFactory()
    attendee(event, "a@example.com", status="present")
    attendee(event, "b@example.com", status="absent")
    attendee(event, "c@example.com", status="declined")

    counts = attendance_counts(event)

    assert (counts["total"], counts["present"], counts["declined"]) == (3, 1, 1)
    assert attendance_rate(counts) == 0.5


def test_a_small_attendance_change_does_not_reach_a_partner_who_asked_for_big_ones():
    organization = OrganizationFactory()
    endpoint(organization, [ATTENDANCE_UPDATED], eventTypes=["training"],
             minAttendanceChange=0.1)
    event = EventFactory(organization=organization)
    attendee(event, "a@example.com", status="present")
    attendee(event, "b@example.com", status="absent")

    small = emit_attendance_updated(event=event, previous_rate=0.45, source="zoom")
    [big] = emit_attendance_updated(event=event, previous_rate=0.8, source="zoom")

    assert small == []
    # A drop counts as much as a rise.
    assert big.payload["data"]["attendanceChange"] == -0.3
    assert big.payload["data"]["attendanceRate"] == 0.5
    assert big.payload["data"]["previousAttendanceRate"] == 0.8


def test_the_first_attendance_counts_as_a_change_from_nothing():
    organization = OrganizationFactory()
    endpoint(organization, [ATTENDANCE_UPDATED], minAttendanceChange=0.1)
    event = EventFactory(organization=organization)
    attendee(event, "a@example.com", status="present")

    [delivery] = emit_attendance_updated(event=event, previous_rate=None, source="zoom")

    assert delivery.payload["data"]["attendanceChange"] == 1.0
