from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.core.models import SyncRun
from apps.integrations.models import Event
from tests.integrations import calendar_fixtures
from tests.integrations.factories import member

pytestmark = pytest.mark.django_db
google_calendar = calendar_fixtures.google_calendar


def test_it_starts_a_sync_and_its_status_url_reports_it(google_api, google_calendar,
                                                        django_capture_on_commit_callbacks):
    google_api.control("POST", "/calendars/primary/events", json={
        "summary": "Via API", "start": {"dateTime": "2030-06-01T10:00:00Z"},
        "end": {"dateTime": "2030-06-01T11:00:00Z"}})
    client = APIClient()
    client.force_authenticate(member())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/integrations/{google_calendar.pk}/sync",
                               {"direction": "external_to_attendance",
                                "options": {"forceUpdate": True}}, format="json")
    assert response.status_code == 202, response.content
    data = response.json()["data"]
    assert data["status"] == "started"
    assert data["estimatedDuration"] == "a few minutes"
    status = client.get(data["statusUrl"]).json()["data"]
    assert status["status"] == "completed"
    assert status["statistics"]["eventsCreated"] == 1
    assert Event.objects.filter(title="Via API").exists()
    assert SyncRun.objects.get().direction == "pull"
    bad = client.post(f"/api/integrations/{google_calendar.pk}/sync", {"scope": "x"},
                      format="json")
    assert bad.status_code == 400


def test_disconnect_stops_the_channel(google_api, google_calendar,
                                      django_capture_on_commit_callbacks):
    from apps.integrations.calendar_sync import calendar_sync_request
    from apps.integrations.connect import integration_disconnect

    with django_capture_on_commit_callbacks(execute=True):
        calendar_sync_request(integration=google_calendar)
    google_calendar.connection.refresh_from_db()
    cleanup = integration_disconnect(integration=google_calendar, user=None)
    assert cleanup.webhooks_disabled == 1
    channels = google_api.control("GET", "/channels").json()["channels"]
    assert [channel["status"] for channel in channels] == ["stopped"]
