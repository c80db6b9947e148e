"""`/metrics` in the Prometheus text format, read from the database at scrape time.

Web processes, workers and beat all write what they do to the database
(audit rows, outbox, inbox, sync runs, attention items), so one collector
reading it there counts the work of every process without a multiprocess
directory or a push gateway. Every query is one aggregate (GROUP BY) over
an indexed column or a small table; the breakers are read from the shared
store, one key per connection, for at most MAX_CONNECTIONS connections.

Counters are cumulative over the rows still retained: a purge of old rows
lowers them, which Prometheus reads as a counter reset, as it does for a
process restart.

The exposition is a machine interface read by Prometheus, so its HELP texts
stay in English like every exporter's; the people who read them are the
operators writing rules, and the rule annotations (monitoring/) are theirs.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Min, Q, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.utils import floatToGoString

from apps.core.api.errors import error_body
from apps.core.breaker import CLOSED, HALF_OPEN, OPEN, BreakerPolicy, CircuitBreaker
from apps.core.models import (
    AttentionItem,
    Connection,
    OutboundOperation,
    SyncLog,
    SyncRun,
    WebhookEvent,
)
from apps.core.platforms import registered_platforms

logger = logging.getLogger(__name__)

# Upper bounds of the call latency buckets, in seconds: platforms answer in
# tens of milliseconds to a few seconds; the read timeouts are 30 s.
CALL_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Sync runs take from a second (an incremental poll) to an hour (a full import).
SYNC_RUN_DURATION_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0)
# Breakers are one shared-store read per connection: a deployment has tens
# of connections; past this many the scrape would get slow, so the rest are
# left out (and the scrape logs it).
MAX_CONNECTIONS = 500

BREAKER_STATE_VALUES = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}
# A call's outcome; "started" rows are calls without one yet (in flight, or
# cut off by a killed worker), counted apart because they change status later.
FINAL_CALL_STATUSES = tuple(status for status in SyncLog.Status.values
                            if status != SyncLog.Status.STARTED)
UNPROCESSED_EVENT_STATUSES = (WebhookEvent.Status.ACCEPTED, WebhookEvent.Status.PROCESSING,
                              WebhookEvent.Status.FAILED)
DUE_OPERATION_STATES = (OutboundOperation.State.PENDING, OutboundOperation.State.FAILED,
                        OutboundOperation.State.UNKNOWN)

def _platform_names() -> list[str]:
    return [platform.name for platform in registered_platforms()]


def _age_seconds(now: datetime, since: datetime | None) -> float:
    return max((now - since).total_seconds(), 0.0) if since else 0.0


def _buckets(counts: Iterable[int], bounds: tuple[float, ...], total: int) -> list:
    return [*zip(map(floatToGoString, bounds), counts, strict=True), ("+Inf", total)]


def _bucket_counts(field: str, bounds: Iterable[object]) -> dict[str, Count]:
    # Cumulative already: a bucket counts every row at or under its bound.
    return {f"le_{index}": Count("id", filter=Q(**{f"{field}__lte": bound}))
            for index, bound in enumerate(bounds)}


def _calls(platforms: list[str]) -> Iterator[Metric]:
    # An index-only scan of (platform, status, -created_at) on PostgreSQL.
    counts = {(platform, status): n for platform, status, n in (
        SyncLog.objects.order_by().values_list("platform", "status").annotate(n=Count("id")))}
    calls = CounterMetricFamily(
        "hub_platform_calls", "Exchanges with a platform by outcome (audit rows retained).",
        labels=["platform", "status"])
    unfinished = GaugeMetricFamily(
        "hub_platform_calls_unfinished",
        "Audit rows without an outcome yet: calls in flight, or cut off by a killed worker.",
        labels=["platform"])
    # Registered platforms get every series, even at zero, so that rate()
    # sees the first failure instead of the series appearing with it.
    seen = set(platforms) | {platform for platform, _status in counts}
    for platform in sorted(seen):
        for status in FINAL_CALL_STATUSES:
            calls.add_metric([platform, status], counts.get((platform, status), 0))
        unfinished.add_metric([platform], counts.get((platform, SyncLog.Status.STARTED), 0))
    yield calls
    yield unfinished


def _call_durations(platforms: list[str]) -> Iterator[Metric]:
    bounds_ms = [round(bound * 1000) for bound in CALL_DURATION_BUCKETS]
    rows = (SyncLog.objects.order_by().filter(duration_ms__isnull=False)
            .exclude(status=SyncLog.Status.STARTED).values("platform")
            .annotate(total=Count("id"), sum_ms=Sum("duration_ms"),
                      **_bucket_counts("duration_ms", bounds_ms)))
    by_platform = {row["platform"]: row for row in rows}
    histogram = HistogramMetricFamily(
        "hub_platform_call_duration_seconds", "Time a platform took to answer a call.",
        labels=["platform"])
    for platform in sorted(set(platforms) | set(by_platform)):
        row = by_platform.get(platform, {})
        counts = [row.get(f"le_{index}", 0) for index in range(len(bounds_ms))]
        histogram.add_metric([platform], _buckets(counts, CALL_DURATION_BUCKETS,
                                                  row.get("total", 0)),
                             sum_value=(row.get("sum_ms") or 0) / 1000)
    yield histogram


def _last_success(platforms: list[str]) -> Iterator[Metric]:
    gauge = GaugeMetricFamily(
        "hub_platform_last_success_timestamp_seconds",
        "When a call to the platform last succeeded (Unix time); absent if never.",
        labels=["platform"])
    for platform in platforms:
        # One index look-up each on (platform, status, -created_at).
        last = (SyncLog.objects.filter(platform=platform, status=SyncLog.Status.SUCCESS)
                .order_by("-created_at").values_list("created_at", flat=True).first())
        if last is not None:
            gauge.add_metric([platform], last.timestamp())
    yield gauge


def _outbox(platforms: list[str], now: datetime) -> Iterator[Metric]:
    counts = {(platform, state): n for platform, state, n in (
        OutboundOperation.objects.order_by().values_list("platform", "state")
        .annotate(n=Count("id")))}
    operations = GaugeMetricFamily(
        "hub_outbox_operations", "Outbound operations by state.", labels=["platform", "state"])
    dead = GaugeMetricFamily(
        "hub_outbox_dead_operations",
        "Outbound operations that will not be tried again until a manager acts.",
        labels=["platform"])
    seen = set(platforms) | {platform for platform, _state in counts}
    for platform in sorted(seen):
        for state in OutboundOperation.State.values:
            operations.add_metric([platform, state], counts.get((platform, state), 0))
        dead.add_metric([platform], counts.get((platform, OutboundOperation.State.DEAD), 0))
    yield operations
    yield dead

    # How late the most overdue operation is: the sweep re-sends due ones
    # every minute, so more than a few minutes means no worker is taking them.
    overdue = dict(
        OutboundOperation.objects.order_by()
        .filter(state__in=DUE_OPERATION_STATES)
        .annotate(due_at=Coalesce("next_attempt_at", "created_at"))
        .filter(due_at__lte=now).values_list("platform")
        .annotate(oldest=Min("due_at")).values_list("platform", "oldest"))
    lag = GaugeMetricFamily(
        "hub_outbox_lag_seconds",
        "How long the most overdue open operation has been due (0: none is due).",
        labels=["platform"])
    for platform in sorted(seen | set(overdue)):
        lag.add_metric([platform], _age_seconds(now, overdue.get(platform)))
    yield lag


def _inbox(platforms: list[str], now: datetime) -> Iterator[Metric]:
    counts = {(platform, status): n for platform, status, n in (
        WebhookEvent.objects.order_by().values_list("platform", "status")
        .annotate(n=Count("id")))}
    events = GaugeMetricFamily(
        "hub_inbox_events", "Stored webhook deliveries by status (within their retention).",
        labels=["platform", "status"])
    oldest = dict(
        WebhookEvent.objects.order_by().filter(status__in=UNPROCESSED_EVENT_STATUSES)
        .values_list("platform").annotate(oldest=Min("received_at"))
        .values_list("platform", "oldest"))
    lag = GaugeMetricFamily(
        "hub_inbox_lag_seconds",
        "Age of the oldest delivery not processed yet (accepted, processing or failed).",
        labels=["platform"])
    seen = set(platforms) | {platform for platform, _status in counts} | set(oldest)
    for platform in sorted(seen):
        for status in WebhookEvent.Status.values:
            events.add_metric([platform, status], counts.get((platform, status), 0))
        lag.add_metric([platform], _age_seconds(now, oldest.get(platform)))
    yield events
    yield lag


def _breakers() -> Iterator[Metric]:
    from apps.core.connections import connection_scope_key

    policies = {platform.name: platform.breaker for platform in registered_platforms()}
    # The deployment's account of each platform is keyed "<platform>:default"
    # whether or not its row exists yet; other connections by their own key.
    scopes = {f"{name}:default": name for name in policies}
    connections = list(Connection.objects.order_by("pk").only("pk", "platform", "is_default")
                       [:MAX_CONNECTIONS + 1])
    if len(connections) > MAX_CONNECTIONS:
        logger.warning("metrics: breakers of the first %d connections only", MAX_CONNECTIONS)
    for connection in connections[:MAX_CONNECTIONS]:
        scopes[connection_scope_key(connection)] = connection.platform
    state = GaugeMetricFamily(
        "hub_breaker_state",
        "Circuit breaker per connection: 0 closed, 1 half-open (one trial call), 2 open.",
        labels=["platform", "connection"])
    store_up = GaugeMetricFamily(
        "hub_breaker_store_up", "1 if the breakers' shared store answered this scrape.")
    try:
        snapshots = {key: CircuitBreaker(key, policies.get(platform, BreakerPolicy())).snapshot()
                     for key, platform in sorted(scopes.items())}
    except Exception:
        # An unreachable store must not take every other metric down with it.
        logger.warning("metrics: the breakers' shared store did not answer", exc_info=True)
        store_up.add_metric([], 0)
        yield store_up
        return
    for key, snapshot in snapshots.items():
        state.add_metric([scopes[key], key], BREAKER_STATE_VALUES.get(str(snapshot["state"]), 0))
    store_up.add_metric([], 1)
    yield state
    yield store_up


def _sync_runs() -> Iterator[Metric]:
    bounds = [timedelta(seconds=bound) for bound in SYNC_RUN_DURATION_BUCKETS]
    rows = (SyncRun.objects.order_by().filter(finished_at__isnull=False)
            .annotate(duration=ExpressionWrapper(F("finished_at") - F("started_at"),
                                                 output_field=DurationField()))
            .values("kind", "status")
            .annotate(total=Count("id"), sum=Sum("duration"),
                      **_bucket_counts("duration", bounds)))
    histogram = HistogramMetricFamily(
        "hub_sync_run_duration_seconds", "Duration of finished sync and import runs.",
        labels=["kind", "status"])
    for row in rows:
        counts = [row[f"le_{index}"] for index in range(len(bounds))]
        total_seconds = row["sum"].total_seconds() if row["sum"] else 0.0
        histogram.add_metric([row["kind"], row["status"]],
                             _buckets(counts, SYNC_RUN_DURATION_BUCKETS, row["total"]),
                             sum_value=total_seconds)
    yield histogram
    running = GaugeMetricFamily("hub_sync_runs_running", "Sync runs in progress.",
                                labels=["kind"])
    for kind, n in (SyncRun.objects.order_by().filter(status=SyncRun.Status.RUNNING)
                    .values_list("kind").annotate(n=Count("id"))):
        running.add_metric([kind], n)
    yield running


def _attention(now: datetime) -> Iterator[Metric]:
    rows = (AttentionItem.objects.open().order_by().values_list("domain", "kind")
            .annotate(n=Count("id"), oldest=Min("created_at")))
    items = GaugeMetricFamily("hub_attention_items_open", "Open attention items.",
                              labels=["domain", "kind"])
    oldest = GaugeMetricFamily(
        "hub_attention_oldest_open_age_seconds",
        "How long the oldest open attention item of a kind has been waiting.",
        labels=["domain", "kind"])
    for domain, kind, n, first in rows:
        items.add_metric([domain, kind], n)
        oldest.add_metric([domain, kind], _age_seconds(now, first))
    yield items
    yield oldest


class HubCollector:
    """Everything `/metrics` shows, computed from the database when scraped."""

    def collect(self) -> Iterator[Metric]:
        started = time.monotonic()
        now = timezone.now()
        platforms = _platform_names()
        yield from _calls(platforms)
        yield from _call_durations(platforms)
        yield from _last_success(platforms)
        yield from _outbox(platforms, now)
        yield from _inbox(platforms, now)
        yield from _breakers()
        yield from _sync_runs()
        yield from _attention(now)
        duration = GaugeMetricFamily("hub_metrics_scrape_duration_seconds",
                                     "Time this scrape took to read the database.")
        duration.add_metric([], time.monotonic() - started)
        yield duration


def metrics_exposition() -> bytes:
    # A registry of our own: the default one would add this web process's
    # own CPU and memory, which says nothing of the hub as a whole.
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HubCollector())
    return generate_latest(registry)


def _presented_token(request: HttpRequest) -> str:
    scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The Prometheus exposition, for a scraper holding METRICS_TOKEN as a Bearer token."""
    expected = settings.METRICS_TOKEN
    if not expected:
        # Off until a token is configured: nothing about the hub is shown to anyone.
        return JsonResponse(error_body("not_found", _("Metrics are not enabled on this hub.")),
                            status=404)
    presented = _presented_token(request)
    # Constant time, so the answer's timing says nothing of how much matched.
    if not hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8")):
        response = JsonResponse(
            error_body("not_authenticated",
                       _("A valid metrics token is required (Authorization: Bearer <token>).")),
            status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics_exposition(), content_type=CONTENT_TYPE_LATEST)
