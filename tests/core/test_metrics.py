"""/metrics: the Prometheus exposition read from the database, behind a Bearer token."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from apps.core.attention import attention_raise
from apps.core.breaker import BreakerPolicy, CircuitBreaker
from apps.core.models import AttentionItem, Connection, OutboundOperation, SyncLog, SyncRun
from apps.core.models import WebhookEvent as Event
from tests.factories import OutboundOperationFactory, SyncLogFactory, WebhookEventFactory

pytestmark = pytest.mark.django_db
TOKEN = "scrape-token-1"


@pytest.fixture(autouse=True)
def _metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.content.decode())
            for sample in family.samples}


def value(samples, name: str, **labels) -> float:
    return samples[(name, frozenset(labels.items()))]


def test_it_is_not_found_while_no_token_is_configured(client, settings):
    settings.METRICS_TOKEN = ""

    response = client.get("/metrics", headers={"Authorization": "Bearer "})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response.json()["error"]["request_id"] == response["X-Request-ID"]


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Token {TOKEN}",
                                           f"Bearer {TOKEN}x", "Bearer"])
def test_it_refuses_a_missing_or_wrong_token(client, authorization):
    headers = {"Authorization": authorization} if authorization else {}

    response = client.get("/metrics", headers=headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "not_authenticated"
    assert b"hub_" not in response.content


def test_it_counts_calls_per_platform_and_status_with_their_latency(client):
    SyncLogFactory.create_batch(3, platform="acme", status=SyncLog.Status.SUCCESS,
                                duration_ms=40)
    SyncLogFactory(platform="acme", status=SyncLog.Status.FAILED, duration_ms=2000)
    SyncLogFactory(platform="acme", status=SyncLog.Status.RETRY, duration_ms=45_000)
    SyncLogFactory(platform="acme", status=SyncLog.Status.STARTED, duration_ms=None)

    samples = scrape(client)

    assert value(samples, "hub_platform_calls_total", platform="acme", status="success") == 3
    assert value(samples, "hub_platform_calls_total", platform="acme", status="failed") == 1
    assert value(samples, "hub_platform_calls_total", platform="acme", status="retry") == 1
    assert value(samples, "hub_platform_calls_total", platform="acme", status="conflict") == 0
    # A call still "started" has no outcome yet: counted apart, never as a call.
    assert value(samples, "hub_platform_calls_unfinished", platform="acme") == 1
    bucket = "hub_platform_call_duration_seconds_bucket"
    assert value(samples, bucket, platform="acme", le="0.05") == 3
    assert value(samples, bucket, platform="acme", le="2.5") == 4
    assert value(samples, bucket, platform="acme", le="30.0") == 4
    assert value(samples, bucket, platform="acme", le="60.0") == 5
    assert value(samples, bucket, platform="acme", le="+Inf") == 5
    assert value(samples, "hub_platform_call_duration_seconds_count", platform="acme") == 5
    assert value(samples, "hub_platform_call_duration_seconds_sum",
                 platform="acme") == pytest.approx(47.12)
    # Registered platforms have every series from the start, at zero.
    assert value(samples, "hub_platform_calls_total", platform="dimona", status="failed") == 0


def test_it_gives_the_time_of_the_last_success(client):
    when = timezone.now() - timedelta(minutes=5)
    SyncLogFactory(platform="dimona", status=SyncLog.Status.SUCCESS, created_at=when)
    SyncLogFactory(platform="dimona", status=SyncLog.Status.FAILED)

    samples = scrape(client)

    assert value(samples, "hub_platform_last_success_timestamp_seconds",
                 platform="dimona") == pytest.approx(when.timestamp())
    assert ("hub_platform_last_success_timestamp_seconds",
            frozenset({"platform": "symphonics"}.items())) not in samples


def test_it_shows_the_outbox_by_state_its_dead_operations_and_its_lag(client):
    now = timezone.now()
    OutboundOperationFactory.create_batch(2, platform="acme",
                                          state=OutboundOperation.State.PENDING,
                                          next_attempt_at=now - timedelta(seconds=300))
    OutboundOperationFactory(platform="acme", state=OutboundOperation.State.FAILED,
                             next_attempt_at=now + timedelta(hours=1))
    OutboundOperationFactory(platform="acme", state=OutboundOperation.State.DEAD)
    OutboundOperationFactory(platform="acme", state=OutboundOperation.State.SUCCEEDED)

    samples = scrape(client)

    assert value(samples, "hub_outbox_operations", platform="acme", state="pending") == 2
    assert value(samples, "hub_outbox_operations", platform="acme", state="failed") == 1
    assert value(samples, "hub_outbox_operations", platform="acme", state="succeeded") == 1
    assert value(samples, "hub_outbox_operations", platform="acme", state="in_flight") == 0
    assert value(samples, "hub_outbox_dead_operations", platform="acme") == 1
    assert value(samples, "hub_outbox_dead_operations", platform="dimona") == 0
    # The failed one is not due for an hour: the lag is the pending ones' wait.
    assert 300 <= value(samples, "hub_outbox_lag_seconds", platform="acme") < 360
    assert value(samples, "hub_outbox_lag_seconds", platform="dimona") == 0


def test_it_shows_the_inbox_by_status_and_the_age_of_its_oldest_waiting_event(client):
    now = timezone.now()
    WebhookEventFactory(platform="acme", status=Event.Status.ACCEPTED,
                        received_at=now - timedelta(seconds=90))
    WebhookEventFactory(platform="acme", status=Event.Status.FAILED,
                        received_at=now - timedelta(seconds=600))
    WebhookEventFactory(platform="acme", status=Event.Status.PROCESSED,
                        received_at=now - timedelta(days=3))
    WebhookEventFactory(platform="acme", status=Event.Status.DEAD,
                        received_at=now - timedelta(days=2))
    WebhookEventFactory(platform="symphonics", status=Event.Status.PROCESSED)

    samples = scrape(client)

    assert value(samples, "hub_inbox_events", platform="acme", status="accepted") == 1
    assert value(samples, "hub_inbox_events", platform="acme", status="dead") == 1
    assert value(samples, "hub_inbox_events", platform="symphonics", status="processed") == 1
    # Failed events wait for their retry: still not processed, so they count.
    assert 600 <= value(samples, "hub_inbox_lag_seconds", platform="acme") < 660
    assert value(samples, "hub_inbox_lag_seconds", platform="symphonics") == 0


def test_it_shows_each_connections_breaker(client):
    other = Connection.objects.create(platform="symphonics", name="Second client")
    breaker = CircuitBreaker(other.key, BreakerPolicy())
    for _ in range(BreakerPolicy().failure_threshold):
        breaker.record_failure()

    samples = scrape(client)

    assert value(samples, "hub_breaker_state", platform="symphonics",
                 connection=other.key) == 2
    assert value(samples, "hub_breaker_state", platform="symphonics",
                 connection="symphonics:default") == 0
    assert value(samples, "hub_breaker_state", platform="dimona",
                 connection="dimona:default") == 0
    assert value(samples, "hub_breaker_store_up") == 1


def test_it_gives_sync_run_durations_and_runs_in_progress(client):
    account = Connection.objects.create(platform="dimona", name="Employer account")
    started = timezone.now() - timedelta(hours=1)
    SyncRun.objects.create(kind="import.workers", connection=account,
                           status=SyncRun.Status.SUCCESS, started_at=started,
                           finished_at=started + timedelta(seconds=90))
    SyncRun.objects.create(kind="import.workers", connection=account,
                           status=SyncRun.Status.SUCCESS, started_at=started,
                           finished_at=started + timedelta(seconds=4))
    SyncRun.objects.create(kind="import.workers", connection=account)

    samples = scrape(client)

    labels = {"kind": "import.workers", "status": "success"}
    assert value(samples, "hub_sync_run_duration_seconds_bucket", le="5.0", **labels) == 1
    assert value(samples, "hub_sync_run_duration_seconds_bucket", le="60.0", **labels) == 1
    assert value(samples, "hub_sync_run_duration_seconds_bucket", le="300.0", **labels) == 2
    assert value(samples, "hub_sync_run_duration_seconds_count", **labels) == 2
    assert value(samples, "hub_sync_run_duration_seconds_sum", **labels) == pytest.approx(94)
    assert value(samples, "hub_sync_runs_running", kind="import.workers") == 1


def test_it_counts_open_attention_items_and_the_age_of_the_oldest(client):
    old = attention_raise(domain="dimona", kind="dimona.refused", summary="refused",
                          key="refused:1")
    AttentionItem.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(hours=30))
    attention_raise(domain="dimona", kind="dimona.refused", summary="refused", key="refused:2")
    cleared = attention_raise(domain="dimona", kind="dimona.unknown", summary="?", key="u:1")
    AttentionItem.objects.filter(pk=cleared.pk).update(cleared_at=timezone.now())

    samples = scrape(client)

    labels = {"domain": "dimona", "kind": "dimona.refused"}
    assert value(samples, "hub_attention_items_open", **labels) == 2
    assert 30 * 3600 <= value(samples, "hub_attention_oldest_open_age_seconds", **labels) \
        < 30 * 3600 + 60
    assert ("hub_attention_items_open",
            frozenset({"domain": "dimona", "kind": "dimona.unknown"}.items())) not in samples


def test_it_reads_the_same_few_queries_however_many_rows_there_are(client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            scrape(client)
        return len(captured)

    SyncLogFactory(platform="acme")
    few = queries()
    SyncLogFactory.create_batch(20, platform="beta", status=SyncLog.Status.FAILED)
    OutboundOperationFactory.create_batch(10, platform="beta")
    WebhookEventFactory.create_batch(10, platform="beta", status=Event.Status.ACCEPTED)
    for n in range(5):
        attention_raise(domain="core", kind=f"core.kind{n}", summary="x", key=f"k{n}")

    assert queries() == few
