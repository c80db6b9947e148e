"""GET /api/integrations/, PUT :id/settings, :id/history and :id/sync/:syncId/status:
the seed's shapes in its envelope, for the user's organisation only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

from apps.core.models import Connection, SyncLog, SyncRun
from tests.integrations.factories import (
    OrganizationFactory,
    make_exchange,
    make_integration,
    make_run,
    member,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    return OrganizationFactory(name="Acme")


@pytest.fixture
def manager(acme):
    return member(organization=acme, username="marie", first_name="Marie",
                  last_name="Dubois", email="marie.dubois@techcorp.com")


@pytest.fixture
def api(manager) -> APIClient:
    client = APIClient()
    client.force_authenticate(manager)
    return client


def test_it_lists_the_organisations_integrations_with_statistics_from_their_runs(
        api, acme, manager):
    google = make_integration(organization=acme, provider="google", connected_by=manager,
                              settings={"calendarId": "primary", "autoSync": True},
                              permissions=["read_calendar", "write_calendar"])
    make_run(google, created=5, updated=12, deleted=2, unchanged=4, seconds=2.3,
             started_at=timezone.now() - timedelta(minutes=5))
    make_run(google, status=SyncRun.Status.PARTIAL, created=1, errors=1,
             started_at=timezone.now() - timedelta(hours=2))
    make_run(google, status=SyncRun.Status.RUNNING, started_at=timezone.now())
    make_integration(organization=OrganizationFactory(), provider="google")  # another org's

    response = api.get("/api/integrations/")

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    [item] = body["data"]
    assert item["id"] == google.pk
    assert (item["provider"], item["type"], item["name"], item["status"]) == (
        "google", "calendar", "Google Calendar", "connected")
    assert item["settings"] == {"calendarId": "primary", "autoSync": True}
    assert item["permissions"] == ["read_calendar", "write_calendar"]
    # 5 + 12 + 2 and 1 events; 1 of 2 finished runs succeeded; the last one took 2.3 s.
    assert item["statistics"] == {"eventsSynced": 20, "lastSyncDuration": "2.3s",
                                  "errorCount": 1, "successRate": 0.5}
    assert item["connectedBy"] == {"id": manager.pk, "name": "Marie Dubois",
                                   "email": "m•••••••••••@techcorp.com"}
    assert item["lastSync"] is not None


def test_it_counts_slack_messages_from_the_audit_log(api, acme):
    slack = make_integration(organization=acme, provider="slack", permissions=[],
                             settings={"defaultChannel": "#general",
                                       "channels": {"default": "#general",
                                                    "alerts": "#alerts"}})
    for _ in range(3):
        make_exchange(slack, duration_ms=120, action="slack.chat.postMessage")
    make_exchange(slack, duration_ms=120, action="slack.chat.postMessage",
                  status=SyncLog.Status.FAILED)
    make_exchange(slack, duration_ms=120, action="auth.test")

    [item] = api.get("/api/integrations/").json()["data"]

    assert item["statistics"] == {"messagesSent": 3, "channelsConnected": 2}


@pytest.mark.parametrize("query, expected", [
    ("provider=slack", ["slack"]), ("status=error", ["zoom"]), ("type=calendar", ["google"]),
    ("provider=google&status=connected", ["google"]), ("", ["google", "slack", "zoom"]),
])
def test_it_filters_by_provider_status_and_type(api, acme, query, expected):
    make_integration(organization=acme, provider="google")
    make_integration(organization=acme, provider="slack")
    make_integration(organization=acme, provider="zoom", status=Connection.Status.ERROR)

    response = api.get(f"/api/integrations/?{query}")

    assert [item["provider"] for item in response.json()["data"]] == expected


def test_it_refuses_an_unknown_filter_value_and_parameter(api):
    bad_value = api.get("/api/integrations/?provider=dropbox")
    unknown = api.get("/api/integrations/?owner=me")

    assert bad_value.status_code == 400
    assert bad_value.json()["success"] is False
    assert list(bad_value.json()["error"]["details"]) == ["provider"]
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "unknown_query_parameter"


def test_it_acts_for_the_default_organisation_without_a_membership(acme):
    loner = member(organization=None, username="loner")
    ours = make_integration(provider="zoom")  # the default organisation's
    make_integration(organization=acme, provider="google")
    client = APIClient()
    client.force_authenticate(loner)

    data = client.get("/api/integrations/").json()["data"]

    assert [item["id"] for item in data] == [ours.pk]


def test_it_answers_permission_denied_to_who_is_neither_manager_nor_admin(acme):
    client = APIClient()
    client.force_authenticate(member(organization=acme, group=None, username="worker"))

    response = client.get("/api/integrations/")

    assert response.status_code == 403
    assert response.json()["success"] is False
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"
    assert response.json()["error"]["request_id"]


def test_it_answers_rate_limit_exceeded_past_the_throttle(api, monkeypatch):
    # DRF reads the rates when the throttle class is defined, not from settings at each call.
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "2/minute"})
    # Counts of earlier tests (the same user id, on SQLite) must not eat this one's.
    cache.clear()

    answers = [api.get("/api/integrations/") for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[-1].json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert answers[-1].json()["error"]["details"]["retry_after_seconds"] > 0


@pytest.mark.parametrize("path", ["{id}/history", "{id}/sync/1/status"])
def test_it_answers_integration_not_found_for_another_organisations(api, path):
    theirs = make_integration(organization=OrganizationFactory(), provider="google")

    response = api.get(f"/api/integrations/{path.format(id=theirs.pk)}")

    assert response.status_code == 404
    assert response.json()["success"] is False
    assert response.json()["error"]["code"] == "INTEGRATION_NOT_FOUND"


def test_it_answers_integration_not_found_to_settings_and_delete_of_a_missing_one(api):
    put = api.put("/api/integrations/987654/settings", {"autoSync": False}, format="json")
    delete = api.delete("/api/integrations/987654")

    assert (put.status_code, put.json()["error"]["code"]) == (404, "INTEGRATION_NOT_FOUND")
    assert (delete.status_code, delete.json()["error"]["code"]) == (404,
                                                                    "INTEGRATION_NOT_FOUND")


# -- settings ---------------------------------------------------------------------------------

def test_it_merges_the_settings_sent_over_those_stored(api, acme):
    google = make_integration(organization=acme, provider="google", settings={
        "calendarId": "primary", "syncDirection": "bidirectional",
        "eventMapping": {"colorId": "2", "includeLocation": True}})

    response = api.put(f"/api/integrations/{google.pk}/settings", {
        "syncDirection": "attendance_to_external", "autoSync": False, "syncInterval": 600,
        "settings": {"calendarId": "work@techcorp.com", "eventPrefix": "[Attendance-X]",
                     "includeDescription": True, "syncPrivateEvents": False,
                     "eventMapping": {"colorId": "5"}},
        "notifications": {"syncErrors": True, "syncSuccess": False, "weeklyReport": True},
    }, format="json")

    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert data["settings"] == {
        "calendarId": "work@techcorp.com", "syncDirection": "attendance_to_external",
        "autoSync": False, "syncInterval": 600, "eventPrefix": "[Attendance-X]",
        "includeDescription": True, "syncPrivateEvents": False,
        "eventMapping": {"colorId": "5", "includeLocation": True}}
    assert data["notifications"] == {"syncErrors": True, "syncSuccess": False,
                                     "weeklyReport": True}
    google.refresh_from_db()
    assert google.settings["eventMapping"] == {"colorId": "5", "includeLocation": True}


def test_it_refuses_unknown_or_mistyped_settings_naming_each_field(api, acme):
    slack = make_integration(organization=acme, provider="slack", settings={"x": 1})

    response = api.put(f"/api/integrations/{slack.pk}/settings", {
        "syncInterval": "often",
        "settings": {"channels": {"default": "#general", "random": "#random"},
                     "calendarId": "primary"},
        "notifications": {"syncErrors": "yes"},
    }, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert sorted(error["details"]) == ["syncInterval"]
    # The body's own fields are checked first; then the settings, all at once.
    fixed = api.put(f"/api/integrations/{slack.pk}/settings", {
        "settings": {"channels": {"default": "#general", "random": "#random"},
                     "calendarId": "primary"},
        "notifications": {"syncErrors": "yes"}}, format="json")
    assert fixed.status_code == 400
    assert sorted(fixed.json()["error"]["details"]) == [
        "notifications.syncErrors", "settings.calendarId", "settings.channels.random"]
    slack.refresh_from_db()
    assert slack.settings == {"x": 1}


def test_it_refuses_an_unknown_body_field(api, acme):
    google = make_integration(organization=acme, provider="google")

    response = api.put(f"/api/integrations/{google.pk}/settings", {"colour": "red"},
                       format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_field"


# -- history ----------------------------------------------------------------------------------

def test_it_pages_the_history_with_the_seeds_meta_and_items(api, acme, manager):
    google = make_integration(organization=acme, provider="google")
    now = timezone.now()
    for hours in range(5):
        make_run(google, started_at=now - timedelta(hours=hours + 1), created=1)
    manual = make_run(google, status=SyncRun.Status.PARTIAL, started_at=now, seconds=105,
                      created=3, updated=8, errors=4, direction="both",
                      error_samples=[{"record": "17", "message": "Calendar permission denied",
                                      "code": "PERMISSION_DENIED"},
                                     {"record": "18", "message": "boom"}])
    SyncRun.objects.filter(pk=manual.pk).update(trigger=SyncRun.Trigger.MANUAL,
                                                triggered_by=manager)

    first = api.get(f"/api/integrations/{google.pk}/history?limit=4").json()
    second = api.get(f"/api/integrations/{google.pk}/history?limit=4&page=2").json()

    assert first["meta"] == {"page": 1, "limit": 4, "total": 6, "totalPages": 2}
    assert second["meta"] == {"page": 2, "limit": 4, "total": 6, "totalPages": 2}
    assert len(first["data"]) == 4 and len(second["data"]) == 2
    top = first["data"][0]
    assert top["id"] == manual.pk
    assert (top["status"], top["type"], top["direction"], top["duration"]) == (
        "partial", "manual", "bidirectional", "1m 45s")
    assert top["statistics"] == {"eventsProcessed": 15, "eventsCreated": 3, "eventsUpdated": 8,
                                 "eventsDeleted": 0, "errors": 4}
    assert top["errors"] == [
        {"eventId": "17", "error": "Calendar permission denied", "code": "PERMISSION_DENIED"},
        {"eventId": "18", "error": "boom", "code": "PERMISSION_DENIED"}]
    assert top["triggeredBy"] == {"userId": manager.pk, "name": "Marie Dubois"}
    assert first["data"][1]["triggeredBy"] == "scheduled_sync"


def test_it_filters_the_history_by_status_and_dates(api, acme):
    google = make_integration(organization=acme, provider="google")
    now = timezone.now()
    old = make_run(google, status=SyncRun.Status.ERROR, started_at=now - timedelta(days=10))
    recent_error = make_run(google, status=SyncRun.Status.ERROR,
                            started_at=now - timedelta(days=1))
    make_run(google, started_at=now - timedelta(hours=1))
    since = (now - timedelta(days=2)).isoformat()

    response = api.get(f"/api/integrations/{google.pk}/history",
                       {"status": "error", "startDate": since})
    before = api.get(f"/api/integrations/{google.pk}/history",
                     {"endDate": (now - timedelta(days=5)).isoformat()})

    assert [item["id"] for item in response.json()["data"]] == [recent_error.pk]
    assert [item["id"] for item in before.json()["data"]] == [old.pk]


def test_it_refuses_history_dates_the_wrong_way_round(api, acme):
    google = make_integration(organization=acme, provider="google")

    response = api.get(f"/api/integrations/{google.pk}/history",
                       {"startDate": "2026-03-02T00:00:00Z", "endDate": "2026-03-01T00:00:00Z"})

    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["endDate"]


# -- sync status ------------------------------------------------------------------------------

@pytest.mark.parametrize("status, done, seed_status, result", [
    (SyncRun.Status.RUNNING, 0, "started", None),
    (SyncRun.Status.RUNNING, 7, "running", None),
    (SyncRun.Status.SUCCESS, 10, "completed", "success"),
    (SyncRun.Status.PARTIAL, 10, "completed", "partial"),
    (SyncRun.Status.ERROR, 3, "failed", "error"),
])
def test_it_maps_the_runs_status_to_the_seeds(api, acme, status, done, seed_status, result):
    google = make_integration(organization=acme, provider="google")
    run = make_run(google, status=status, progress_done=done, progress_total=10)

    response = api.get(f"/api/integrations/{google.pk}/sync/{run.pk}/status")

    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["syncId"], data["status"], data["result"]) == (run.pk, seed_status, result)
    assert data["progress"] == {"done": done, "total": 10}


def test_it_answers_not_found_for_another_integrations_run(api, acme):
    google = make_integration(organization=acme, provider="google")
    other = make_integration(organization=acme, provider="zoom")
    run = make_run(other)

    response = api.get(f"/api/integrations/{google.pk}/sync/{run.pk}/status")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "INTEGRATION_NOT_FOUND"
