"""Checks of the proposed wiring (engine, disconnect) for the Microsoft adapter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from apps.core.models import Connection, ExternalMapping, SyncRun
from apps.integrations.calendar_sync import calendar_sync_request
from apps.integrations.connect import integration_disconnect
from apps.integrations.graph_subscriptions import SUBSCRIPTION_KEY
from apps.integrations.models import ENTITY_EVENT, Event
from apps.integrations.services import event_create
from tests.integrations import microsoft_fixtures
from tests.integrations.calendar_fixtures import run_pending_pushes
from tests.integrations.microsoft_fixtures import control, event_body
from tests.integrations.test_calendar_microsoft import connect_microsoft

pytestmark = pytest.mark.django_db
microsoft_simulator = microsoft_fixtures.microsoft_simulator
notification_endpoint = microsoft_fixtures.notification_endpoint


def _sync(integration, capture, **options):
    with capture(execute=True):
        run = calendar_sync_request(integration=integration, **options)
    run.refresh_from_db()
    return run


def test_wiring(microsoft_simulator, notification_endpoint, settings,
                django_capture_on_commit_callbacks):
    sim = microsoft_simulator()
    settings.HUB_BASE_URL = notification_endpoint().base_url
    calendar = control(sim, "POST", "/calendars", {"name": "Trainings"}).json()
    integration = connect_microsoft(microsoft_fixtures.connect(sim), settings={
        "syncDirection": "bidirectional", "calendarId": calendar["id"],
        "includeDescription": False})
    far = event_create(organization=integration.organization, user=None, data={
        "title": "Far away", "start": datetime(2035, 1, 1, 9, tzinfo=UTC),
        "end": datetime(2035, 1, 1, 10, tzinfo=UTC)})
    control(sim, "POST", "/events", {**event_body("There", start="2027-03-05T09:00:00",
                                                  end="2027-03-05T10:00:00"),
                                     "calendarId": calendar["id"]})

    run = _sync(integration, django_capture_on_commit_callbacks)
    run_pending_pushes()
    assert (run.status, run.created, run.errors) == (SyncRun.Status.SUCCESS, 1, 0), run.error
    connection = Connection.objects.get(pk=integration.connection_id)
    assert connection.settings[SUBSCRIPTION_KEY]["resource"] == \
        f"me/calendars/{calendar['id']}/events"
    assert ExternalMapping.objects.filter(entity_type=ENTITY_EVENT,
                                          local_id=str(far.pk)).exists()

    # A forced full list leaves the linked event outside its window alone.
    _sync(integration, django_capture_on_commit_callbacks, full=True)
    far.refresh_from_db()
    assert far.cancelled_at is None

    integration.refresh_from_db()
    cleanup = integration_disconnect(integration=integration, user=None)
    assert cleanup.webhooks_disabled == 1
    assert control(sim, "GET", "/state").json()["subscriptions"]["active"] == []
    assert Event.objects.filter(title="There").exists()
