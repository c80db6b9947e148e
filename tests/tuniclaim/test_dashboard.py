"""The MY TUNICLAIM panel of the home page: the link's health, the last imports, the
quarantine, a link to the sync page, and reloads while an import runs."""

from __future__ import annotations

import dataclasses

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core import registry
from apps.core.models import SyncRun
from apps.tuniclaim.dashboard import tuniclaim_panel
from apps.tuniclaim.models import Bordereau
from tests.factories import UserFactory, view_only_user
from tests.tuniclaim.test_admin import make_quarantined, make_run

pytestmark = pytest.mark.django_db

INDEX = "/admin/"
REFRESH = 'class="hub-auto-refresh"'
# The health's rules (the runs, the connection, the quarantine, the pushes) and
# the last runs: a few each, never one per row. Eight with Redis; two more where
# the breaker's state is kept in the database.
PANEL_QUERIES = 10


@pytest.fixture(autouse=True)
def _panel_registered(monkeypatch):
    """The panel as apps.py declares it (`dashboard_panels=(tuniclaim_panel,)`)."""
    domain = registry._domains["tuniclaim"]
    if tuniclaim_panel not in domain.dashboard_panels:
        monkeypatch.setitem(registry._domains, "tuniclaim", dataclasses.replace(
            domain, dashboard_panels=(*domain.dashboard_panels, tuniclaim_panel)))


def panel_of(response) -> str:
    return panel_in(response.content.decode())


def panel_in(page: str) -> str:
    start = page.index('id="dash-tuniclaim_sync"')
    return page[start:page.index("</section>", start)]


def test_it_shows_the_health_the_last_runs_and_the_quarantine(manager_client):
    failed = make_run(status=SyncRun.Status.ERROR, errors=1, error_samples=[
        {"record": "page 1", "message": "HTTP 503 from MY TUNICLAIM"}])
    make_quarantined()

    panel = panel_of(manager_client.get(INDEX))

    assert 'data-status="red">Link: Failing</span>' in panel
    assert "The last import" in panel and "failed" in panel
    assert "1 record is in quarantine." in panel
    assert reverse("admin:core_syncrun_change", args=[failed.pk]) in panel
    assert "HTTP 503 from MY TUNICLAIM" in panel
    assert "0 created, 0 updated, 0 unchanged, 0 invalid, 1 errors" in panel
    assert reverse("admin:tuniclaim_sync") in panel


def test_it_says_so_when_nothing_was_ever_imported(manager_client):
    panel = panel_of(manager_client.get(INDEX))

    # The health's reason; the empty list says what happens next, not the same again.
    assert "MY TUNICLAIM has never been imported." in panel
    assert "No import has run yet: the first starts on the hour" in panel
    assert 'data-status="orange"' in panel


def test_the_home_page_reloads_while_an_import_runs(manager_client):
    run = make_run(status=SyncRun.Status.RUNNING, finished_at=None, progress_done=4,
                   progress_total=10)

    running = manager_client.get(INDEX).content.decode()
    SyncRun.objects.filter(pk=run.pk).update(status=SyncRun.Status.SUCCESS)
    done = manager_client.get(INDEX).content.decode()

    assert REFRESH in running and "Running, 4 of 10" in panel_in(running)
    assert REFRESH not in done


def test_a_reader_of_the_bordereaux_and_runs_sees_it(client):
    client.force_login(view_only_user(Bordereau, SyncRun))

    assert 'id="dash-tuniclaim_sync"' in client.get(INDEX).content.decode()


def test_it_is_hidden_from_who_may_not_view_the_runs(client):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_bordereau"))
    client.force_login(user)

    response = client.get(INDEX)

    assert response.status_code == 200
    assert 'id="dash-tuniclaim_sync"' not in response.content.decode()


def test_the_panel_costs_the_same_few_queries_for_many_runs_as_for_one(rf, manager_user):
    request = rf.get(INDEX)
    request.user = manager_user
    make_run()
    make_quarantined()
    tuniclaim_panel(request)  # warms the permissions and the default connection

    with CaptureQueriesContext(connection) as one:
        tuniclaim_panel(request)
    for _ in range(25):
        make_run(status=SyncRun.Status.PARTIAL, invalid=1)
        make_quarantined()
    with CaptureQueriesContext(connection) as many:
        panel = tuniclaim_panel(request)

    assert len(many) == len(one) <= PANEL_QUERIES, "\n".join(q["sql"] for q in many)
    assert len(panel.context["rows"]) == 5
