"""The back-office home page: a manager's dashboard above the list of every admin page."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.core import dashboard
from apps.core.attention import attention_raise
from apps.core.dashboard import attention_counts, outbox_work_in_flight, platform_activity
from apps.core.models import Connection, OutboundOperation, SyncLog, SyncRun
from apps.dimona.models import DimonaDeclaration
from tests.dimona.factories import ShiftFactory, brussels
from tests.factories import OutboundOperationFactory, SyncLogFactory, UserFactory
from tests.symphonics.factories import InterventionFactory

pytestmark = pytest.mark.django_db

State = OutboundOperation.State
INDEX = "/admin/"
NOW = brussels(2026, 11, 23, 12)
ALL_PANELS = ("attention", "dimona_today", "symphonics_publications", "connections", "outbox",
              "sync_runs", "activity", "tuniclaim_sync")
REFRESH = b'class="hub-auto-refresh"'
# Constant in the number of rows; it grows with the platforms registered:
# without Redis each platform's breaker is two reads of the database store.
MAX_QUERIES = 60


@pytest.fixture(autouse=True)
def _noon_in_brussels():
    with time_machine.travel(NOW, tick=False):
        yield


def staff_with(*codenames: str):
    """A back-office user holding only these permissions (an outsider when none)."""
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def panels_of(response) -> set[str]:
    return {key for key in ALL_PANELS if f'id="dash-{key}"'.encode() in response.content}


def refresh_box(response) -> bytes:
    """What the page says about its reloading: which panels have work in flight."""
    return response.content.split(REFRESH, 1)[1].split(b"</div>", 1)[0]


def a_busy_day(n: int) -> None:
    """`n` of everything the dashboard reads, spread over the last days."""
    acme = Connection.objects.get_or_create(platform="acme", name="Acme main")[0]
    for i in range(n):
        shift = ShiftFactory(start=brussels(2026, 11, 23, 8 + i % 12))
        DimonaDeclaration.objects.create(shift=shift, kind="in", status="accepted")
        InterventionFactory(published=True)
        attention_raise(domain="dimona", kind=f"dimona.reason{i % 3}", summary=f"item {i}",
                        subject=shift)
        for days_ago in range(3):
            SyncLogFactory(created_at=NOW - timedelta(days=days_ago, minutes=i),
                           duration_ms=10 * (i + 1))
        OutboundOperationFactory(state=State.DEAD, completed_at=NOW - timedelta(hours=i),
                                 last_error="HTTP 500")
        OutboundOperationFactory(state=State.FAILED, last_error="timeout")
        SyncRun.objects.create(kind=f"acme.import.{i}", connection=acme,
                               status=SyncRun.Status.SUCCESS, finished_at=NOW, created=i)


def test_it_shows_a_manager_every_panel_with_the_day_s_data(manager_client):
    a_busy_day(2)

    response = manager_client.get(INDEX)

    assert response.status_code == 200
    assert panels_of(response) == set(ALL_PANELS)
    page = response.content.decode()
    assert "dimona.reason0" in page
    queue = reverse("admin:core_attentionitem_changelist")
    assert f"{queue}?domain=dimona&amp;kind=dimona.reason0" in page
    assert "Acme main" in page
    assert "acme.import.1" in page
    assert "HTTP 500" in page
    assert 'class="dash-chart"' in page
    # Every time in the reader's zone, the zone named.
    assert "CET" in page


def test_it_groups_the_attention_queue_by_domain_the_longest_waiting_first():
    for hours_ago, domain, kind in ((3, "dimona", "dimona.refused"),
                                    (2, "symphonics", "symphonics.publish_failed"),
                                    (1, "dimona", "dimona.no_result"),
                                    (1, "dimona", "dimona.refused")):
        with time_machine.travel(NOW - timedelta(hours=hours_ago), tick=False):
            attention_raise(domain=domain, kind=kind, summary=kind,
                            key=f"{kind}:{hours_ago}")

    rows = [(row.domain, row.kind, row.count) for row in attention_counts()]

    assert rows == [("dimona", "dimona.refused", 2), ("dimona", "dimona.no_result", 1),
                    ("symphonics", "symphonics.publish_failed", 1)]


def test_it_escapes_what_it_shows(manager_client):
    Connection.objects.create(platform="acme", name="<script>alert(1)</script>",
                              status=Connection.Status.ERROR,
                              status_reason='refused "<b>key</b>"')

    page = manager_client.get(INDEX).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'title="refused &quot;&lt;b&gt;key&lt;/b&gt;&quot;"' in page


def test_it_links_a_manager_only_to_pages_that_open(manager_client):
    a_busy_day(2)
    acme = Connection.objects.get(name="Acme main")
    SyncRun.objects.create(kind="acme.running", connection=acme)

    page = manager_client.get(INDEX).content.decode()
    dashboard_part = page[page.index('id="dashboard"'):page.index('id="all-pages"')]
    links = set(re.findall(r'href="(/admin/[^"#]*)"', dashboard_part))

    assert len(links) > 20
    for link in sorted(links):
        response = manager_client.get(html.unescape(link), follow=True)
        assert response.status_code == 200, link
        # A filter the list does not know sends Django back with "?e=1".
        assert "e=1" not in response.request["QUERY_STRING"], link


def test_it_keeps_the_list_of_every_admin_page_below(manager_client):
    response = manager_client.get(INDEX)

    page = response.content.decode()
    assert 'id="all-pages"' in page
    for url in (reverse("admin:dimona_shift_changelist"),
                reverse("admin:symphonics_intervention_changelist"),
                reverse("admin:core_outboundoperation_changelist")):
        assert f'href="{url}"' in page
    assert page.index('id="dashboard"') < page.index('id="all-pages"')


def test_it_shows_an_outsider_the_page_without_any_panel(client):
    OutboundOperationFactory(state=State.IN_FLIGHT)
    client.force_login(staff_with())

    response = client.get(INDEX)

    assert response.status_code == 200
    assert panels_of(response) == set()
    assert REFRESH not in response.content


def test_it_shows_only_the_panels_of_the_models_a_user_may_view(client):
    client.force_login(staff_with("view_outboundoperation", "view_syncrun"))

    response = client.get(INDEX)

    assert panels_of(response) == {"outbox", "sync_runs"}


def test_it_shows_the_charts_and_connections_only_with_the_audit_log_and_outbox(client):
    client.force_login(staff_with("view_outboundoperation", "view_synclog", "view_connection"))

    response = client.get(INDEX)

    assert panels_of(response) == {"outbox", "connections", "activity"}


def test_it_reports_a_broken_panel_in_its_place_and_shows_the_rest(manager_client, monkeypatch,
                                                                    caplog):
    def broken(request):
        raise RuntimeError("the attention selector broke")

    monkeypatch.setattr(dashboard, "attention_panel", broken)

    response = manager_client.get(INDEX)

    assert response.status_code == 200
    assert panels_of(response) == set(ALL_PANELS) - {"attention"}
    assert b"This panel could not be shown" in response.content
    assert 'id="all-pages"' in response.content.decode()
    assert "the attention selector broke" in caplog.text


def test_it_does_not_refresh_when_nothing_is_pending(manager_client):
    OutboundOperationFactory(state=State.SUCCEEDED)
    OutboundOperationFactory(state=State.DEAD)

    response = manager_client.get(INDEX)

    assert REFRESH not in response.content
    assert b"location.reload" not in response.content


def test_it_refreshes_while_an_operation_is_pending(manager_client):
    OutboundOperationFactory(state=State.PENDING, next_attempt_at=timezone.now())

    response = manager_client.get(INDEX)

    assert b'class="hub-auto-refresh" role="status" aria-live="polite" data-seconds="5"' \
        in response.content
    assert b"Outbound operations" in refresh_box(response)


def test_it_refreshes_while_a_sync_runs(manager_client):
    acme = Connection.objects.create(platform="acme", name="Acme")
    SyncRun.objects.create(kind="acme.import", connection=acme, progress_total=10,
                           progress_done=4)

    response = manager_client.get(INDEX)

    assert REFRESH in response.content
    assert "Running, 4 of 10" in response.content.decode()


def test_it_does_not_refresh_for_work_the_user_may_not_see(client):
    OutboundOperationFactory(state=State.IN_FLIGHT)
    client.force_login(staff_with("view_syncrun"))

    response = client.get(INDEX)

    assert REFRESH not in response.content


@pytest.mark.parametrize(("state", "due_in", "in_flight"), [
    (State.IN_FLIGHT, None, True),
    (State.PENDING, timedelta(0), True),
    (State.PENDING, timedelta(minutes=5), True),
    # A poll rescheduled for later is not about to move.
    (State.PENDING, timedelta(hours=3), False),
    # Held back for long (behind a dead one): stuck, the attention queue says so.
    (State.PENDING, -timedelta(hours=1), False),
    (State.FAILED, timedelta(0), False),
    (State.DEAD, None, False),
])
def test_it_counts_as_in_flight_only_what_moves_within_minutes(state, due_in, in_flight):
    OutboundOperationFactory(
        state=state, next_attempt_at=None if due_in is None else timezone.now() + due_in)

    assert outbox_work_in_flight() is in_flight


def test_it_makes_the_same_queries_for_many_rows_as_for_few(manager_client,
                                                            django_assert_max_num_queries):
    a_busy_day(1)
    manager_client.get(INDEX)  # warms the session, content types and permissions
    cache.clear()  # the charts' numbers are kept a minute: count their queries too
    with CaptureQueriesContext(connection) as few:
        manager_client.get(INDEX)

    a_busy_day(25)
    cache.clear()
    # The session, the permissions, a few per panel, the breakers where they
    # are in the database.
    with django_assert_max_num_queries(MAX_QUERIES), \
            CaptureQueriesContext(connection) as many:
        response = manager_client.get(INDEX)

    assert response.status_code == 200
    assert len(many) == len(few)
    # Lists are cut in the database, never in Python.
    selects = [q["sql"].upper() for q in many if q["sql"].upper().startswith("SELECT")]
    assert not [sql for sql in selects
                if '"CORE_SYNCLOG"' in sql and "GROUP BY" not in sql and "ROW_NUMBER" not in sql
                and "LIMIT" not in sql]


def test_it_reads_the_week_of_audit_rows_once_a_minute(manager_client):
    SyncLogFactory(created_at=NOW, duration_ms=10)

    def audit_log_reads() -> int:
        with CaptureQueriesContext(connection) as queries:
            manager_client.get(INDEX)
        return len([q for q in queries if 'FROM "core_synclog"' in q["sql"]
                    and "ROW_NUMBER" in q["sql"].upper()])

    first = audit_log_reads()
    again = audit_log_reads()
    with time_machine.travel(NOW + timedelta(seconds=61), tick=False):
        later = audit_log_reads()

    assert (first, again, later) == (1, 0, 1)


def test_it_counts_calls_success_and_latency_per_day_in_the_user_s_zone():
    today, yesterday = NOW, NOW - timedelta(days=1)
    for duration in (50, 10, 90):
        SyncLogFactory(created_at=today, duration_ms=duration)
    SyncLogFactory(created_at=today, status=SyncLog.Status.FAILED, duration_ms=None)
    # Not calls: refused before sending, and a webhook received.
    SyncLogFactory(created_at=today, status=SyncLog.Status.SKIPPED, duration_ms=1)
    SyncLogFactory(created_at=today, direction=SyncLog.Direction.INBOUND, duration_ms=1)
    for duration in range(10, 210, 10):  # 20 calls of 10..200 ms
        SyncLogFactory(created_at=yesterday, duration_ms=duration)
    # 23:30 in Brussels on the 21st is the 21st here, although it is the 21st
    # in UTC too only by half an hour: the day follows the reader's zone.
    SyncLogFactory(created_at=brussels(2026, 11, 21, 23, 30), duration_ms=7)
    SyncLogFactory(created_at=brussels(2026, 11, 22, 0, 30), duration_ms=8)
    # Older than the seven days: not shown.
    SyncLogFactory(created_at=brussels(2026, 11, 16, 23, 59), duration_ms=1)
    OutboundOperationFactory(state=State.DEAD, completed_at=today)
    OutboundOperationFactory(state=State.DEAD, completed_at=yesterday)
    OutboundOperationFactory(state=State.DEAD, completed_at=yesterday)

    activity = {row.platform: row for row in platform_activity()}["acme"]

    assert [day.day.day for day in activity.days] == [17, 18, 19, 20, 21, 22, 23]
    days = {day.day.day: day for day in activity.days}
    assert (days[23].calls, days[23].successes, days[23].success_rate) == (4, 3, 75.0)
    # Nearest rank over 10, 50, 90: the 2nd and the 3rd.
    assert (days[23].median_ms, days[23].p95_ms) == (50, 90)
    # Over 10..200: the 10th and the 19th.
    assert (days[22].calls, days[22].median_ms, days[22].p95_ms) == (21, 100, 190)
    assert (days[21].calls, days[21].median_ms, days[21].p95_ms) == (1, 7, 7)
    assert (days[23].dead, days[22].dead) == (1, 2)
    # A day without calls: zero calls, no rate and no latency rather than zeros.
    assert (days[20].calls, days[20].success_rate, days[20].median_ms, days[20].dead) == (
        0, None, None, 0)
    assert days[17].calls == 0


def test_it_charts_every_registered_platform_even_without_data(manager_client):
    response = manager_client.get(INDEX)

    page = response.content.decode()
    assert 'id="chart-dimona-calls-title"' in page
    assert 'id="chart-symphonics-latency-desc"' in page
    assert "no data" in page


def test_it_shows_times_in_the_user_s_zone(manager_client, settings):
    settings.TIME_ZONE = "America/New_York"
    attention_raise(domain="dimona", kind="dimona.refused", summary="Refused")

    response = manager_client.get(INDEX)

    assert " EST" in response.content.decode()
