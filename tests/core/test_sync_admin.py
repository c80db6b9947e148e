"""The sync back-office: runs with their progress and first errors, cursors a
manager can reset, mappings to search, all without counting big tables."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core.conflicts import conflict_open
from apps.core.models import Connection, SyncRun
from apps.core.sync import (
    cursor_get,
    cursor_set,
    mapping_upsert,
    sync_run_count,
    sync_run_finish,
    sync_run_start,
)
from tests.core.sync_rows import sync_rows

pytestmark = pytest.mark.django_db

RUNS = reverse("admin:core_syncrun_changelist")
CURSORS = reverse("admin:core_synccursor_changelist")


@pytest.fixture
def connection():
    return Connection.objects.create(platform="tuniclaim", name="ARS")


def _run(connection, n: int) -> SyncRun:
    run, _ = sync_run_start(kind=f"tuniclaim.import.{n}", connection=connection, total=200)
    sync_run_count(run=run, created=50, invalid=1, advance=50,
                   samples=[{"record": "BS-77", "message": "no policy number"}])
    return run


def _conflict(connection, n: int) -> None:
    conflict_open(domain="restosync", entity_type="reservation", local_id=n,
                  connection=connection, local_value={"a": 1}, remote_value={"a": 2})


def _mapping(connection, n: int) -> None:
    mapping_upsert(entity_type="claim", local_id=n, connection=connection,
                   external_id=f"BS-{n}")


ROWS = {"syncrun": _run, "conflict": _conflict, "externalmapping": _mapping,
        "synccursor": lambda connection, n: cursor_set(connection=connection,
                                                       stream=f"s{n}", value="t")}


@pytest.mark.parametrize("model", sorted(ROWS))
def test_it_lists_twenty_rows_with_as_many_queries_as_one(admin_client, admin_page_queries,
                                                           connection, model):
    url = reverse(f"admin:core_{model}_changelist")
    ROWS[model](connection, 0)
    admin_client.get(url)
    one_row = admin_page_queries(url)

    for n in range(1, 20):
        ROWS[model](connection, n)

    assert admin_page_queries(url) == one_row


@pytest.mark.parametrize("model", sorted(ROWS))
def test_it_never_counts_or_scans_the_whole_table(admin_client, connection, model):
    ROWS[model](connection, 0)

    with CaptureQueriesContext(db) as captured:
        admin_client.get(reverse(f"admin:core_{model}_changelist"))

    sql = [q["sql"].upper() for q in captured]
    assert all("LIMIT" in q for q in sql if "COUNT(" in q)
    assert not [q for q in sql if "DISTINCT" in q]


def test_it_shows_a_run_with_its_progress_and_first_errors(manager_client, connection):
    run = _run(connection, 1)

    listing = manager_client.get(RUNS).content.decode()
    page = manager_client.get(reverse("admin:core_syncrun_change", args=[run.pk]))

    assert '<progress value="50" max="200"' in listing
    assert "50 / 200 (25%)" in listing
    assert "BS-77" in page.content.decode()
    assert "no policy number" in page.content.decode()


def test_it_filters_runs_by_kind_and_status(manager_client, connection):
    running = _run(connection, 1)
    finished = _run(connection, 2)
    sync_run_finish(run=finished)

    by_kind = manager_client.get(RUNS, {"kind": "tuniclaim.import.2"})
    by_status = manager_client.get(RUNS, {"status__exact": "running"})

    assert [r.pk for r in by_kind.context["cl"].result_list] == [finished.pk]
    assert [r.pk for r in by_status.context["cl"].result_list] == [running.pk]


def test_it_lets_a_manager_reset_a_cursor(manager_client, connection):
    cursor_set(connection=connection, stream="bordereaux", value="2026-03-01T10:00:00Z")
    cursor = connection.cursors.get()

    response = manager_client.post(CURSORS, {"action": "reset",
                                             "_selected_action": [cursor.pk]})

    assert response.status_code == 302
    assert cursor_get(connection=connection, stream="bordereaux") == ""


def test_it_finds_a_mapping_by_its_external_id(manager_client, connection):
    _mapping(connection, 1)
    _mapping(connection, 2)

    found = manager_client.get(reverse("admin:core_externalmapping_changelist"),
                               {"q": "BS-2"})

    assert [m.external_id for m in found.context["cl"].result_list] == ["BS-2"]


@pytest.mark.parametrize("model", sorted(ROWS))
def test_it_opens_each_change_page_for_a_manager(manager_client, model):
    sync_rows()
    obj = apps.get_model("core", model).objects.get()

    page = manager_client.get(reverse(f"admin:core_{model}_change", args=[obj.pk]))

    assert page.status_code == 200
    assert b'name="_save"' not in page.content
