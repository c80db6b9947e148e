"""The "MY TUNICLAIM sync" page: the link's health, the import running now with its
progress, the timeline of the last runs, and "Sync now" / "Full import" for managers."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.core.models import SyncRun
from apps.tuniclaim import imports, selectors
from apps.tuniclaim.models import Bordereau, BulletinSoin
from tests.factories import UserFactory, view_only_user
from tests.tuniclaim.test_admin import make_quarantined, make_run

pytestmark = pytest.mark.django_db

SYNC = reverse("admin:tuniclaim_sync")
RUNNING = SyncRun.Status.RUNNING
IDLE_REFRESH = b'<meta http-equiv="refresh" content="30">'
RUNNING_REFRESH = b'class="hub-auto-refresh"'


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def triggered(monkeypatch):
    """import_trigger recorded: a run started, or the running one given back."""
    calls = []

    def import_trigger(*, full=False, user=None, trigger=SyncRun.Trigger.MANUAL):
        calls.append({"full": full, "user": user, "trigger": trigger})
        running = SyncRun.objects.filter(kind=imports.IMPORT_KIND,
                                         status=SyncRun.Status.RUNNING).first()
        if running is not None:
            return running, False
        run = make_run(trigger=trigger, triggered_by=user, status=RUNNING, finished_at=None)
        return run, True

    monkeypatch.setattr(imports, "import_trigger", import_trigger)
    return calls


def test_it_shows_the_timeline_of_the_last_runs_with_their_counts(manager_client):
    started = timezone.now() - timedelta(hours=1)
    run = make_run(status=SyncRun.Status.PARTIAL, started_at=started,
                   finished_at=started + timedelta(seconds=95), created=120, updated=7,
                   unchanged=3400, invalid=2, errors=1,
                   error_samples=[{"record": "BR-2026-000042", "message": "HTTP 500 from "
                                                                          "MY TUNICLAIM"}])
    older = make_run(status=SyncRun.Status.SUCCESS, started_at=started - timedelta(hours=1),
                     finished_at=started - timedelta(minutes=59), created=5)

    response = manager_client.get(SYNC)

    assert response.status_code == 200
    page = response.content.decode()
    rows = page[page.index('data-run="'):]
    assert rows.index(f'data-run="{run.pk}"') < rows.index(f'data-run="{older.pk}"')
    for count in ("120", "7", "3400", "2", "1 min 35 s"):
        assert f"<td>{count}</td>" in page
    assert 'data-status="partial"' in page
    assert "BR-2026-000042" in page and "HTTP 500 from MY TUNICLAIM" in page
    assert reverse("admin:core_syncrun_change", args=[run.pk]) in page
    # In the reader's zone (the hub's, Europe/Brussels), named.
    local = timezone.localtime(started)
    assert f"{local:%H:%M} {local.tzname()}" in page


def test_it_shows_the_links_health_as_a_labelled_badge_with_its_reasons(manager_client):
    make_run(status=SyncRun.Status.ERROR, finished_at=timezone.now())
    make_quarantined()
    health = selectors.import_health()

    page = manager_client.get(SYNC).content.decode()

    assert health.level == "red"
    assert 'data-status="red">Failing</span>' in page
    for reason in health.reasons:
        assert reason in page


def test_it_shows_the_running_import_with_a_progress_bar_and_refreshes_every_5_s(
        manager_client):
    make_run(status=RUNNING, finished_at=None, progress_done=3, progress_total=40, created=150)

    response = manager_client.get(SYNC)

    assert b'<progress value="3" max="40"' in response.content
    assert b"3 of 40 pages" in response.content and b"150 created" in response.content
    assert RUNNING_REFRESH in response.content and b'data-seconds="5"' in response.content
    assert IDLE_REFRESH not in response.content


def test_it_refreshes_every_30_s_when_idle(manager_client):
    make_run()

    response = manager_client.get(SYNC)

    assert IDLE_REFRESH in response.content and RUNNING_REFRESH not in response.content


def test_sync_now_starts_an_import_for_the_manager(manager_client, manager_user, triggered):
    response = manager_client.post(SYNC, {"sync": "1"}, follow=True)

    assert triggered == [{"full": False, "user": manager_user,
                          "trigger": SyncRun.Trigger.MANUAL}]
    run = SyncRun.objects.get()
    assert response.redirect_chain == [(SYNC, 302)]
    assert _messages(response) == [f"An import from MY TUNICLAIM has started (run #{run.pk})."]
    assert f'data-run="{run.pk}"' in response.content.decode()


def test_full_import_asks_for_a_full_run(manager_client, triggered):
    response = manager_client.post(SYNC, {"sync": "1", "full": "1"}, follow=True)

    assert [call["full"] for call in triggered] == [True]
    assert "A full import of MY TUNICLAIM has started" in _messages(response)[0]


def test_a_second_press_while_one_runs_shows_the_running_one(manager_client, triggered):
    running = make_run(status=RUNNING, finished_at=None, progress_done=2, progress_total=9)

    response = manager_client.post(SYNC, {"sync": "1"}, follow=True)

    assert SyncRun.objects.count() == 1
    [message] = _messages(response)
    local = timezone.localtime(running.started_at)
    assert message == (f"An import is already running (run #{running.pk}, started "
                       f"{local:%d/%m/%Y %H:%M} {local.tzname()}, 2 of 9 pages done): it goes "
                       "on, nothing else was started.")
    assert b'<progress value="2" max="9"' in response.content


def test_a_get_never_starts_an_import(manager_client, triggered):
    manager_client.get(SYNC)

    assert triggered == []


def test_a_reader_sees_the_page_without_the_buttons_and_cannot_post(client, triggered):
    client.force_login(view_only_user(Bordereau, SyncRun))

    page = client.get(SYNC)
    refused = client.post(SYNC, {"sync": "1"})

    assert page.status_code == 200
    assert b"Sync now" not in page.content
    assert refused.status_code == 403
    assert triggered == []


def test_it_is_refused_to_who_may_not_view_the_runs(client, triggered):
    user = UserFactory(is_staff=True)
    user.user_permissions.set([Permission.objects.get(codename="view_bordereau")])
    client.force_login(user)

    assert client.get(SYNC).status_code == 403
    assert client.post(SYNC, {"sync": "1"}).status_code == 403
    assert triggered == []


def test_it_needs_the_csrf_token(manager_user, triggered):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    manager_user.is_staff = True
    manager_user.save(update_fields=["is_staff"])
    browser.force_login(manager_user)

    assert browser.post(SYNC, {"sync": "1"}).status_code == 403
    assert triggered == []


def test_sync_now_imports_from_the_simulator_and_a_decision_reaches_it_once(
        manager_client, tuniclaim_simulator, django_capture_on_commit_callbacks, monkeypatch):
    """Over real HTTP: the button, the import (its task run at commit), the timeline."""
    from apps.tuniclaim import reports

    monkeypatch.setattr(reports, "report_after_run", lambda *, run: None)
    simulator = tuniclaim_simulator(batches=2, claims=3)

    with django_capture_on_commit_callbacks(execute=True):
        pressed = manager_client.post(SYNC, {"sync": "1"})
    page = manager_client.get(SYNC)

    run = SyncRun.objects.get(kind=imports.IMPORT_KIND)
    assert pressed.status_code == 302
    assert run.status == SyncRun.Status.SUCCESS and run.created > 0
    assert Bordereau.objects.count() == 2
    content = page.content.decode()
    assert f'data-run="{run.pk}"' in content and 'data-status="success"' in content
    assert f"<td>{run.created}</td>" in content
    assert 'data-status="green">Healthy</span>' in content

    # A manager validates a claim on its page: MY TUNICLAIM receives it once.
    bulletin = BulletinSoin.objects.filter(status=BulletinSoin.Status.IN_PROGRESS).first()
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(reverse("admin:tuniclaim_bulletinsoin_action_change_status",
                                    args=[bulletin.pk]),
                            {"status": BulletinSoin.Status.VALIDATED, "apply": "1"})
    received = [push for push in simulator.store.pushes if push.get("bsId") == bulletin.number]
    assert [(push["kind"], push["body"]["newStatus"]) for push in received] == [
        ("status", "VALIDATED")]


def test_times_are_shown_in_the_readers_own_zone(manager_client, manager_user):
    from apps.core.preferences import user_preference_set

    user_preference_set(user=manager_user, time_zone="America/New_York")
    run = make_run(status=SyncRun.Status.SUCCESS)

    page = manager_client.get(SYNC).content.decode()

    local = timezone.localtime(run.started_at, ZoneInfo("America/New_York"))
    assert f"{local:%H:%M} {local.tzname()}" in page
    assert local.tzname() == "EST"


def test_the_page_costs_the_same_queries_for_twenty_runs_as_for_one(manager_client):
    make_run(error_samples=[{"record": "BR-1", "message": "bad"}])
    manager_client.get(SYNC)
    with CaptureQueriesContext(connection) as one:
        manager_client.get(SYNC)

    for _ in range(19):
        make_run(triggered_by=UserFactory(), trigger=SyncRun.Trigger.MANUAL,
                 error_samples=[{"record": "BR-1", "message": "bad"}])
    with CaptureQueriesContext(connection) as twenty:
        page = manager_client.get(SYNC)

    assert page.content.decode().count('class="tuniclaim-run"') == 20
    assert len(twenty) == len(one)


def test_a_run_left_running_past_its_time_is_not_shown_running(manager_client):
    """Its worker died; the next start closes it, and the page does not reload for it."""
    make_run(status=RUNNING, finished_at=None, started_at=timezone.now() - timedelta(hours=3))

    response = manager_client.get(SYNC)

    assert b"No import is running." in response.content
    assert IDLE_REFRESH in response.content and RUNNING_REFRESH not in response.content
