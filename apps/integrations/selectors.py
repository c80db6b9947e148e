"""Read-only queries of the integrations domain: organisations, integrations with
their statistics, sync history, analytics and events.

Statistics and analytics are computed from what really happened: the core's
`SyncRun`s of each integration's connection (one per sync) and its `SyncLog`
rows (one per exchange with the provider). Nothing is stored twice, so the
numbers cannot drift from the history a manager can open.
"""

from __future__ import annotations

import zoneinfo
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import (
    Avg,
    Count,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.core.models import Connection, SyncLog, SyncRun
from apps.integrations.models import Attendance, Event, Integration, Membership, Organization
from apps.integrations.provider_links import inbox_url

# The audit action of a Slack message sent (client.slack_call logs each Web
# API method as "slack.<method>"): what "messagesSent" counts.
SLACK_MESSAGE_ACTION = "slack.chat.postMessage"
# The analytics' periods, as the seed names them, back from now.
PERIODS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30),
           "quarter": timedelta(days=90)}
# A failed run with no error code of its own is counted under this one.
DEFAULT_ERROR_CODE = "SYNC_FAILED"
FINISHED = (SyncRun.Status.SUCCESS, SyncRun.Status.PARTIAL, SyncRun.Status.ERROR)
FAILED = (SyncRun.Status.PARTIAL, SyncRun.Status.ERROR)


# -- organisations ----------------------------------------------------------------------------

def organization_for_user(user) -> Organization:
    """The organisation a user acts for: their membership's, else the default one."""
    membership = (Membership.objects.select_related("organization")
                  .filter(user_id=user.pk).first())
    if membership is not None:
        return membership.organization
    return Organization.objects.get(is_default=True)


# -- integrations -----------------------------------------------------------------------------

def integrations_of(*, organization: Organization, provider: str | None = None,
                    status: str | None = None, type: str | None = None) -> QuerySet:
    """The organisation's integrations (status is the core connection's), with
    the connection and who connected it joined, and the last finished run's
    start and end annotated."""
    finished = (SyncRun.objects.filter(connection=OuterRef("connection"), status__in=FINISHED)
                .order_by("-finished_at", "-pk"))
    queryset = (Integration.objects.filter(organization=organization)
                .select_related("connection", "connection__connected_by")
                .annotate(last_run_started=Subquery(finished.values("started_at")[:1]),
                          last_run_finished=Subquery(finished.values("finished_at")[:1]))
                .order_by("provider", "name", "pk"))
    if provider:
        queryset = queryset.filter(provider=provider)
    if status:
        queryset = queryset.filter(connection__status=status)
    if type:
        queryset = queryset.filter(type=type)
    return queryset


def integration_get(*, organization: Organization, integration_id: int) -> Integration | None:
    """One of the organisation's integrations; None for another organisation's too."""
    return integrations_of(organization=organization).filter(pk=integration_id).first()


@dataclass(frozen=True)
class RunStatistics:
    events_synced: int = 0
    finished: int = 0
    succeeded: int = 0
    failed: int = 0

    @property
    def success_rate(self) -> float | None:
        return round(self.succeeded / self.finished, 4) if self.finished else None


def run_statistics(connection_ids: list[int]) -> dict[int, RunStatistics]:
    """Per connection, in one grouped query: events synced (created, updated and
    deleted by its runs), finished runs, successful ones, failed ones (error
    or partial)."""
    rows = (SyncRun.objects.filter(connection_id__in=connection_ids)
            .values("connection_id")
            .annotate(synced=Sum(F("created") + F("updated") + F("deleted")),
                      finished=Count("pk", filter=Q(status__in=FINISHED)),
                      succeeded=Count("pk", filter=Q(status=SyncRun.Status.SUCCESS)),
                      failed=Count("pk", filter=Q(status__in=FAILED))))
    return {row["connection_id"]: RunStatistics(events_synced=row["synced"] or 0,
                                                finished=row["finished"],
                                                succeeded=row["succeeded"],
                                                failed=row["failed"])
            for row in rows}


def messages_sent(connection_ids: list[int], *, since: datetime | None = None) -> dict[int, int]:
    """Slack messages sent per connection, counted in the audit log."""
    rows = SyncLog.objects.filter(connection_id__in=connection_ids, action=SLACK_MESSAGE_ACTION,
                                  direction=SyncLog.Direction.OUTBOUND,
                                  status=SyncLog.Status.SUCCESS)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    return {row["connection_id"]: row["n"]
            for row in rows.values("connection_id").annotate(n=Count("pk"))}


# -- sync history -----------------------------------------------------------------------------

def sync_runs_of(*, integration: Integration, status: str | None = None,
                 start: datetime | None = None, end: datetime | None = None) -> QuerySet:
    """The integration's runs, newest first; `start`/`end` bound when they started."""
    queryset = (SyncRun.objects.filter(connection_id=integration.connection_id)
                .select_related("triggered_by").order_by("-started_at", "-pk"))
    if status:
        queryset = queryset.filter(status=status)
    if start is not None:
        queryset = queryset.filter(started_at__gte=start)
    if end is not None:
        queryset = queryset.filter(started_at__lte=end)
    return queryset


def sync_run_get(*, integration: Integration, run_id: int) -> SyncRun | None:
    return sync_runs_of(integration=integration).filter(pk=run_id).first()


# -- analytics --------------------------------------------------------------------------------

@dataclass
class ProviderFigures:
    integrations: int = 0
    syncs: int = 0
    succeeded: int = 0
    average_ms: float | None = None
    messages_sent: int | None = None


@dataclass
class Metrics:
    total_integrations: int = 0
    active_integrations: int = 0
    total_syncs: int = 0
    succeeded: int = 0
    average_ms: float | None = None
    by_provider: dict[str, ProviderFigures] = field(default_factory=dict)
    # (day, syncs, errors) and (day, average ms), oldest first.
    sync_volume: list[tuple[date, int, int]] = field(default_factory=list)
    response_time: list[tuple[date, float]] = field(default_factory=list)
    total_errors: int = 0
    common_errors: list[tuple[str, int]] = field(default_factory=list)


def run_error_code(run: SyncRun) -> str:
    """The code a failed run is counted under: its first error sample's code
    (the sync engine records the seed's codes there), else SYNC_FAILED."""
    for sample in run.error_samples or ():
        if isinstance(sample, dict) and sample.get("code"):
            return str(sample["code"])
    return DEFAULT_ERROR_CODE


def integration_metrics(*, organization: Organization, period: str,
                        providers: list[str] | None = None,
                        now: datetime | None = None) -> Metrics:
    """The seed's analytics over `period` back from now.

    - syncs: runs of the organisation's connections that started in the
      period and have finished (a running one has no outcome yet);
    - success rate: successful runs / those syncs; errors: runs that ended
      in error or partial, each counted once under `run_error_code`; error
      rate: errors / syncs;
    - response time: the mean duration of the exchanges with the providers
      (audit rows) in the period;
    - trends: per day of the organisation's time zone.
    """
    now = now or timezone.now()
    since = now - PERIODS[period]
    zone = zoneinfo.ZoneInfo(organization.time_zone)
    integrations = Integration.objects.filter(organization=organization)
    if providers:
        integrations = integrations.filter(provider__in=providers)
    by_connection = dict(integrations.values_list("connection_id", "provider"))
    connection_ids = list(by_connection)
    metrics = Metrics(total_integrations=len(connection_ids))
    metrics.active_integrations = integrations.filter(
        connection__status=Connection.Status.CONNECTED).count()
    for provider in sorted(set(by_connection.values())):
        metrics.by_provider[provider] = ProviderFigures()
    for provider in by_connection.values():
        metrics.by_provider[provider].integrations += 1

    runs = SyncRun.objects.filter(connection_id__in=connection_ids, started_at__gte=since,
                                  started_at__lte=now, status__in=FINISHED)
    for row in runs.values("connection_id").annotate(
            n=Count("pk"), ok=Count("pk", filter=Q(status=SyncRun.Status.SUCCESS))):
        figures = metrics.by_provider[by_connection[row["connection_id"]]]
        figures.syncs += row["n"]
        figures.succeeded += row["ok"]
        metrics.total_syncs += row["n"]
        metrics.succeeded += row["ok"]
    for row in (runs.annotate(day=TruncDate("started_at", tzinfo=zone)).values("day")
                .annotate(n=Count("pk"), failed=Count("pk", filter=Q(status__in=FAILED)))
                .order_by("day")):
        metrics.sync_volume.append((row["day"], row["n"], row["failed"]))
    codes: Counter[str] = Counter()
    for run in runs.filter(status__in=FAILED).only("error_samples"):
        codes[run_error_code(run)] += 1
    metrics.total_errors = sum(codes.values())
    # Most frequent first; ties by code, so the answer is stable.
    metrics.common_errors = sorted(codes.items(), key=lambda item: (-item[1], item[0]))

    exchanges = SyncLog.objects.filter(connection_id__in=connection_ids, created_at__gte=since,
                                       created_at__lte=now, duration_ms__isnull=False)
    metrics.average_ms = exchanges.aggregate(mean=Avg("duration_ms"))["mean"]
    per_provider_ms: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for row in exchanges.values("connection_id").annotate(mean=Avg("duration_ms"),
                                                          n=Count("pk")):
        per_provider_ms[by_connection[row["connection_id"]]].append((row["mean"], row["n"]))
    for provider, means in per_provider_ms.items():
        count = sum(n for _, n in means)
        metrics.by_provider[provider].average_ms = sum(m * n for m, n in means) / count
    for row in (exchanges.annotate(day=TruncDate("created_at", tzinfo=zone)).values("day")
                .annotate(mean=Avg("duration_ms")).order_by("day")):
        metrics.response_time.append((row["day"], row["mean"]))

    slack = [pk for pk, provider in by_connection.items()
             if provider == Integration.Provider.SLACK]
    if slack:
        sent = messages_sent(slack, since=since)
        metrics.by_provider[Integration.Provider.SLACK].messages_sent = sum(sent.values())
    return metrics


# -- events -----------------------------------------------------------------------------------

def events_of(*, organization: Organization) -> QuerySet:
    """The organisation's events that are not cancelled, newest start first,
    with their organiser and attendees fetched in two more queries."""
    return (Event.objects.filter(organization=organization, cancelled_at__isnull=True)
            .select_related("organizer").prefetch_related("attendances")
            .order_by("-start", "-pk"))


def event_get(*, organization: Organization, event_id: int) -> Event | None:
    return events_of(organization=organization).filter(pk=event_id).first()


def attendances_of(*, event: Event) -> QuerySet:
    return Attendance.objects.filter(event=event).order_by("name", "pk")


# Providers whose notifications reach the hub's inbox.
NOTIFYING_PROVIDERS = frozenset({Integration.Provider.GOOGLE, Integration.Provider.MICROSOFT,
                                 Integration.Provider.ZOOM})


def integration_webhook_url(integration: Integration) -> str | None:
    """The connection's inbox address, for providers that notify the hub."""
    if integration.provider not in NOTIFYING_PROVIDERS:
        return None
    return inbox_url(integration.connection)
