"""Zoom meetings for events: when one is asked for, the body Zoom gets from the
meetingDefaults, how sessions add up to minutes, and the import's pages and
statuses (HTTP mocked with `responses`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import responses
from django.utils import timezone

from apps.core.connections import client_cache_clear, connection_create
from apps.core.models import Connection, Credentials, OutboundOperation
from apps.core.operations import operation_run
from apps.core.sync import mapping_upsert
from apps.integrations import notify_operations  # noqa: F401  (registers the handlers)
from apps.integrations.models import ENTITY_EVENT, ORGANIZATION_TENANT, Attendance, Integration
from apps.integrations.providers import client_credentials
from apps.integrations.zoom_meetings import (
    meeting_body,
    past_meeting_path,
    presences,
    zoom_attendance_import,
    zoom_meeting_enqueue,
)
from tests.integrations.factories import EventFactory, OrganizationFactory, attendee

pytestmark = pytest.mark.django_db

API = "https://zoom.test/v2"
State = OutboundOperation.State
DEFAULTS = {"type": "scheduled", "duration": 60, "timezone": "Europe/Paris", "password": True,
            "waitingRoom": True, "joinBeforeHost": False, "muteUponEntry": True,
            "recordingSettings": {"autoRecording": "cloud", "recordingAuthentication": True}}


@pytest.fixture
def zoom_api(settings):
    settings.ZOOM_API_URL = API
    client_cache_clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield mocked
    client_cache_clear()


def zoom_integration(organization, settings: dict) -> Integration:
    client_id, client_secret = client_credentials("zoom")
    connection = connection_create(
        platform="zoom", name="Zoom", tenant_type=ORGANIZATION_TENANT,
        tenant_id=str(organization.pk),
        credentials=Credentials(client_id=client_id, client_secret=client_secret,
                                access_token="zoom-access", refresh_token="zoom-refresh"))
    connection.status = Connection.Status.CONNECTED
    connection.token_expires_at = timezone.now() + timedelta(hours=1)
    connection.save(update_fields=["status", "token_expires_at"])
    return Integration.objects.create(organization=organization, connection=connection,
                                      provider="zoom", type="video", name="Zoom",
                                      settings=settings)


def test_it_builds_the_meeting_from_the_event_and_the_defaults():
    organization = OrganizationFactory()
    integration = zoom_integration(organization, {"meetingDefaults": DEFAULTS})
    start = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    event = EventFactory(organization=organization, title="Onboarding", description="Day one",
                         start=start, end=start + timedelta(minutes=90))

    body = meeting_body(event, integration)

    password = body.pop("password")
    assert len(password) == 10 and password.isalnum()
    assert body == {
        "topic": "Onboarding", "type": 2, "start_time": "2026-03-01T09:30:00Z",
        # The event's length, not the default hour.
        "duration": 90, "timezone": "Europe/Paris", "agenda": "Day one",
        "settings": {"waiting_room": True, "join_before_host": False, "mute_upon_entry": True,
                     "auto_recording": "cloud"}}


def test_no_passcode_is_sent_when_the_defaults_want_none():
    organization = OrganizationFactory()
    integration = zoom_integration(organization, {"meetingDefaults": {"password": False}})

    body = meeting_body(EventFactory(organization=organization), integration)

    assert "password" not in body
    assert body["timezone"] == "Europe/Brussels"  # the event's own


def test_a_meeting_is_asked_for_only_where_auto_create_is_on():
    organization = OrganizationFactory()
    creating = zoom_integration(organization, {"autoCreateMeetings": True})
    zoom_integration(organization, {"autoCreateMeetings": False})
    zoom_integration(organization, {})
    event = EventFactory(organization=organization)

    operations = zoom_meeting_enqueue(event=event)
    again = zoom_meeting_enqueue(event=event)

    assert [op.connection_id for op in operations] == [creating.connection_id]
    assert [op.pk for op in again] == [op.pk for op in operations]


def test_sessions_of_one_person_add_up_and_guests_without_email_are_counted():
    rows = [{"user_email": "Ada@Example.com", "name": "Ada", "duration": 1200},
            {"user_email": "ada@example.com", "name": "Ada", "duration": 900},
            {"user_email": "", "name": "Guest", "duration": 3000},
            {"user_email": "bob@example.com", "name": "Bob", "duration": 60}]

    people, anonymous = presences(rows)

    assert {email: p.seconds for email, p in people.items()} == {
        "ada@example.com": 2100, "bob@example.com": 60}
    assert anonymous == 1


def test_a_uuid_with_a_slash_is_encoded_twice():
    assert past_meeting_path("85746065432") == "/past_meetings/85746065432/participants"
    assert past_meeting_path("aDYlohsHRtCd4ii1uC2+hA==") == (
        "/past_meetings/aDYlohsHRtCd4ii1uC2%2BhA%3D%3D/participants")
    assert past_meeting_path("/ajXp112QmuoKj4854875==") == (
        "/past_meetings/%252FajXp112QmuoKj4854875%253D%253D/participants")


def test_the_import_reads_every_page_and_honours_the_minimum_duration(zoom_api):
    organization = OrganizationFactory()
    integration = zoom_integration(organization, {
        "attendanceTracking": {"enabled": True, "minimumDuration": 30}})
    event = EventFactory(organization=organization)
    attendee(event, "ada@example.com", name="Ada", status="accepted")
    attendee(event, "carl@example.com", name="Carl", status="accepted")
    attendee(event, "dora@example.com", name="Dora", status="declined")
    mapping_upsert(entity_type=ENTITY_EVENT, local_id=event.pk,
                   connection=integration.connection, external_id="85746065432")
    path = f"{API}/past_meetings/85746065432/participants"
    zoom_api.get(path, json={"participants": [
        {"user_email": "ada@example.com", "name": "Ada", "duration": 1200}],
        "next_page_token": "page2"},
        match=[responses.matchers.query_param_matcher({"page_size": "300"})])
    zoom_api.get(path, json={"participants": [
        {"user_email": "ada@example.com", "name": "Ada", "duration": 900},
        {"user_email": "bob@example.com", "name": "Bob", "duration": 600}],
        "next_page_token": ""},
        match=[responses.matchers.query_param_matcher(
            {"page_size": "300", "next_page_token": "page2"})])

    [operation] = zoom_attendance_import(event=event)
    operation = operation_run(operation.pk)

    assert operation.state == State.SUCCEEDED, operation.last_error
    assert operation.result == {"participants": 3, "people": 2, "present": 1, "absent": 2,
                                "without_email": 0}
    rows = {row.email: (row.status, row.minutes_present, row.source)
            for row in Attendance.objects.filter(event=event)}
    assert rows == {
        "ada@example.com": ("present", 35, "zoom"),   # 20 + 15 minutes, two sessions
        "bob@example.com": ("absent", 10, "zoom"),    # joined, under 30 minutes
        "carl@example.com": ("absent", 0, "zoom"),    # expected, never joined
        "dora@example.com": ("declined", 0, "manual"),  # said no: left as it was
    }


def test_no_import_without_tracking_or_without_a_meeting():
    organization = OrganizationFactory()
    untracked = zoom_integration(organization, {"attendanceTracking": {"enabled": False}})
    zoom_integration(organization, {"attendanceTracking": {"enabled": True}})  # no meeting
    event = EventFactory(organization=organization)
    mapping_upsert(entity_type=ENTITY_EVENT, local_id=event.pk,
                   connection=untracked.connection, external_id="1")

    assert zoom_attendance_import(event=event) == []
