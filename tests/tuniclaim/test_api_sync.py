"""POST /api/tuniclaim/sync/ (start an import, or get the running one back) and
GET /api/tuniclaim/sync/status/ (health, the running import, the last runs)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core.models import SyncRun
from apps.tuniclaim import imports
from apps.tuniclaim.client import tuniclaim_connection
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SYNC = "/api/tuniclaim/sync/"
STATUS = "/api/tuniclaim/sync/status/"


@pytest.fixture
def no_worker(monkeypatch):
    """The import's task, recorded instead of run: these tests are about the API."""
    sent: list[int] = []
    from apps.tuniclaim import tasks

    monkeypatch.setattr(tasks.run_import, "delay", sent.append)
    return sent


def test_it_starts_an_import_and_answers_202_with_its_run(
        api_client, manager_user, no_worker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(SYNC)

    assert response.status_code == 202, response.content
    run = SyncRun.objects.get(kind=imports.IMPORT_KIND)
    assert response.json() == {"run_id": run.pk, "status": "running", "started": True,
                               "progress": {"done": 0, "total": None}}
    assert (run.trigger, run.triggered_by) == (SyncRun.Trigger.MANUAL, manager_user)
    # The worker gets the run once it is committed.
    assert no_worker == [run.pk]


def test_a_second_trigger_while_one_runs_gets_the_running_one_with_its_progress(
        api_client, no_worker):
    first = api_client.post(SYNC).json()
    SyncRun.objects.filter(pk=first["run_id"]).update(progress_done=3, progress_total=8)

    again = api_client.post(SYNC, {"full": True}, format="json")

    assert again.status_code == 202
    assert again.json() == {"run_id": first["run_id"], "status": "running", "started": False,
                            "progress": {"done": 3, "total": 8}}
    assert SyncRun.objects.filter(kind=imports.IMPORT_KIND).count() == 1


def test_full_asks_the_import_for_a_full_run(api_client, monkeypatch):
    calls = []

    def trigger(**kwargs):
        calls.append(kwargs)
        # Finished at once, so the next call may start another.
        return SyncRun.objects.create(kind=imports.IMPORT_KIND, status=SyncRun.Status.SUCCESS,
                                      connection=tuniclaim_connection()), True

    monkeypatch.setattr(imports, "import_trigger", trigger)

    api_client.post(SYNC, {"full": True}, format="json")
    api_client.post(SYNC)

    assert [call["full"] for call in calls] == [True, False]


def test_it_refuses_an_unknown_field_and_a_full_that_is_no_boolean(api_client, no_worker):
    unknown = api_client.post(SYNC, {"full": True, "since": "2026-01-01"}, format="json")
    not_boolean = api_client.post(SYNC, {"full": "perhaps"}, format="json")

    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "unknown_field"
    assert set(unknown.json()["error"]["details"]) == {"since"}
    assert not_boolean.status_code == 400
    assert set(not_boolean.json()["error"]["details"]) == {"full"}
    assert not SyncRun.objects.exists()


def test_only_managers_sync_or_read_the_status(no_worker):
    staff = APIClient()
    staff.force_authenticate(UserFactory(is_staff=True))

    assert APIClient().post(SYNC).status_code == 401
    assert APIClient().get(STATUS).status_code == 401
    assert staff.post(SYNC).status_code == 403
    assert staff.get(STATUS).status_code == 403
    assert not SyncRun.objects.exists()


def test_the_status_shows_the_health_the_running_run_and_the_last_runs(api_client):
    connection = tuniclaim_connection()
    now = timezone.now()
    done = SyncRun.objects.create(
        kind=imports.IMPORT_KIND, connection=connection, status=SyncRun.Status.PARTIAL,
        trigger=SyncRun.Trigger.AUTOMATIC, started_at=now - timedelta(minutes=70),
        finished_at=now - timedelta(minutes=68, seconds=30), created=10, updated=2,
        unchanged=30, invalid=1, errors=0,
        error_samples=[{"record": "BS-7", "message": "Unknown status BIZARRE"}])
    running = SyncRun.objects.create(
        kind=imports.IMPORT_KIND, connection=connection, trigger=SyncRun.Trigger.MANUAL,
        started_at=now - timedelta(minutes=1), progress_done=2, progress_total=5)

    response = api_client.get(STATUS)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["health"]["level"] == "orange"
    assert any("partial" in reason for reason in body["health"]["reasons"])
    assert body["running"]["id"] == running.pk
    assert body["running"]["progress"] == {"done": 2, "total": 5}
    assert body["running"]["finished_at"] is None
    assert body["running"]["duration_seconds"] is None
    assert [run["id"] for run in body["last_runs"]] == [running.pk, done.pk]
    last = body["last_runs"][1]
    assert {key: last[key] for key in ("trigger", "status", "created", "updated", "unchanged",
                                       "invalid", "errors", "duration_seconds")} == {
        "trigger": "automatic", "status": "partial", "created": 10, "updated": 2,
        "unchanged": 30, "invalid": 1, "errors": 0, "duration_seconds": 90.0}
    assert last["error_samples"] == [{"record": "BS-7", "message": "Unknown status BIZARRE"}]
    assert {"id", "trigger", "status", "started_at", "finished_at", "duration_seconds",
            "created", "updated", "unchanged", "invalid", "errors", "error_samples"} <= set(last)


def test_the_status_with_no_run_at_all(api_client):
    body = api_client.get(STATUS).json()

    assert body == {"health": {"level": "orange",
                               "reasons": ["MY TUNICLAIM has never been imported."]},
                    "running": None, "last_runs": []}


def test_the_status_shows_the_last_twenty_runs_newest_first(api_client):
    connection = tuniclaim_connection()
    start = timezone.now() - timedelta(days=2)
    for hour in range(25):
        at = start + timedelta(hours=hour)
        SyncRun.objects.create(kind=imports.IMPORT_KIND, connection=connection,
                               status=SyncRun.Status.SUCCESS, started_at=at,
                               finished_at=at + timedelta(minutes=1))

    runs = api_client.get(STATUS).json()["last_runs"]

    assert len(runs) == 20
    started = [run["started_at"] for run in runs]
    assert started == sorted(started, reverse=True)


def test_the_status_takes_no_query_parameter(api_client):
    response = api_client.get(STATUS, {"limit": 5})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_query_parameter"
