"""The back-office home page: what a manager looks at first.

The page is a list of panels. The core's panels (attention queue,
connections, outbox, sync runs, the last days' activity) are built here; a
domain app adds its own through `DomainApp.dashboard_panels`, builders that
take the request and return a `DashboardPanel`, or `None` when the user may
not see what it shows. The core never imports a domain app.

Every query here is aggregated or limited, so the page costs the same number
of queries with ten rows as with a hundred thousand (about 0.3 s then on
PostgreSQL, the charts' numbers kept a minute). The page refreshes itself
only while a panel it shows has work in flight, so a quiet day does not
reload a page nobody needs reloaded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib import admin
from django.core.cache import cache
from django.db import models
from django.db.models import Case, Count, F, Min, Q, Value, When, Window
from django.db.models.functions import RowNumber, TruncDate
from django.db.models.lookups import GreaterThanOrEqual, LessThan
from django.http import HttpRequest
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import conditional_escape, format_html
from django.utils.text import slugify
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.core.admin_display import (
    CONNECTION_TONES,
    EMPTY,
    OPERATION_TONES,
    SYNC_RUN_TONES,
    changelist_url,
    entity_url,
    local_time,
    status_badge,
)
from apps.core.admin_tools import AutoRefresh, Progress
from apps.core.charts import Series, bar_chart, format_number, line_chart
from apps.core.models import AttentionItem, Connection, OutboundOperation, SyncLog, SyncRun
from apps.core.platforms import registered_platforms
from apps.core.registry import registered_domains
from apps.core.selectors import PlatformHealth, platform_health
from apps.core.sync import SYNC_RUN_TIMEOUT

logger = logging.getLogger(__name__)

# Seconds between reloads while something is in flight: a Dimona result or a
# publication's answer comes back within seconds, and one reload costs about
# thirty small queries.
REFRESH_SECONDS = 5
# Rows per list: the first screen is for what to look at now; each list
# links to its full page.
ROWS_SHOWN = 10
# Attention kinds are few (each is a reason in the code); the cap only
# guards the page against a flood of new kinds.
ATTENTION_KINDS_SHOWN = 50
CONNECTIONS_SHOWN = 20
CHART_DAYS = 7
# The charts read a week of the audit log: the page's one costly query
# (about a second for 100,000 calls on PostgreSQL, as it ranks every
# duration). A chart a minute old is as good, so the reloads while work is in
# flight do not pay for it each time.
ACTIVITY_CACHE_SECONDS = 60
# An operation pending beyond this, either way, is not about to move: due
# later (a poll rescheduled for tomorrow) or stuck (held back by a dead one,
# which the attention queue reports). Neither is worth reloading the page for.
PENDING_HORIZON = timedelta(minutes=10)

# The template domain apps may use for a list: a title, counts and a table of cells.
TABLE_TEMPLATE = "admin/core/dashboard/table_panel.html"

# Badge tones, as the core's badges name them (apps/core/admin_display.py).
OK, PENDING, WARNING, ERROR, MUTED = "ok", "pending", "warning", "error", "muted"


@dataclass(frozen=True)
class DashboardPanel:
    """One block of the home page."""

    # Its anchor on the page, unique among panels.
    key: str
    title: str
    template_name: str
    context: Mapping[str, Any] = field(default_factory=dict)
    # Work in flight that will change what the panel shows within seconds:
    # the page reloads itself while any panel it shows says so.
    pending: bool = False
    # The permission check's result: a panel the user may not see is dropped.
    allowed: bool = True


@dataclass(frozen=True)
class Cell:
    """One cell of a panel's table (or one item of its summary line), shown
    with the core's badges and times like every other admin page."""

    text: str = ""
    url: str = ""
    # Set: the text is shown as a badge of this tone, `status` its stored value.
    tone: str = ""
    status: str = ""
    # Set: shown in the user's time zone, with the zone; `text` if it is empty.
    when: datetime | None = None
    # A tooltip: the whole of a text cut short, or why a status is what it is.
    title: str = ""

    @property
    def html(self) -> str:
        if self.when is not None:
            return local_time(self.when)
        if not self.text:
            return EMPTY
        content = (status_badge(self.status or self.tone, self.text, self.tone)
                   if self.tone else conditional_escape(self.text))
        if self.url:
            return format_html('<a href="{}"{}>{}</a>', self.url, self._title(), content)
        if self.title:
            return format_html("<span{}>{}</span>", self._title(), content)
        return content

    def _title(self) -> str:
        return format_html(' title="{}"', self.title) if self.title else ""


def user_may_view(request: HttpRequest, *models_shown: type[models.Model]) -> bool:
    """What the change lists of these models ask: the admin site's own check."""
    site = admin.site
    return all(site.has_model_view_permission(request, model) for model in models_shown)


def change_url(obj: models.Model) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def counted(label: str, count: int) -> str:
    """"Pending: 3", punctuated as the reader's language does ("En attente : 3")."""
    return gettext("%(label)s: %(count)d") % {"label": label, "count": count}


def shorten(text: str, length: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else f"{text[:length - 1]}…"


# --- Reads -------------------------------------------------------------------


@dataclass(frozen=True)
class AttentionKindCount:
    domain: str
    kind: str
    count: int
    oldest_at: datetime


def attention_counts(*, limit: int = ATTENTION_KINDS_SHOWN) -> list[AttentionKindCount]:
    """Open items counted by domain and kind: the domain waiting longest first, and
    in each domain the kind with the oldest item first."""
    rows = [AttentionKindCount(**row) for row in
            AttentionItem.objects.open().values("domain", "kind")
            .annotate(count=Count("pk"), oldest_at=Min("created_at"))
            .order_by("oldest_at", "domain", "kind")[:limit]]
    oldest_of_domain: dict[str, datetime] = {}
    for row in rows:
        oldest_of_domain.setdefault(row.domain, row.oldest_at)
    return sorted(rows, key=lambda row: (oldest_of_domain[row.domain], row.domain,
                                         row.oldest_at, row.kind))


def connections_for_dashboard(*, limit: int = CONNECTIONS_SHOWN) -> list[Connection]:
    """Connections in error first, then by platform and name."""
    broken_first = Case(When(status=Connection.Status.ERROR, then=Value(0)), default=Value(1))
    return list(Connection.objects.order_by(broken_first, "platform", "name")
                .only("pk", "platform", "name", "status", "status_reason", "is_default",
                      "last_success_at", "last_error_at")[:limit])


def outbox_state_counts() -> dict[str, int]:
    """Operations not done, by state (one grouped query on the state index)."""
    done = (OutboundOperation.State.SUCCEEDED, OutboundOperation.State.SUPERSEDED)
    return dict(OutboundOperation.objects.exclude(state__in=done).order_by()
                .values_list("state").annotate(n=Count("pk")).values_list("state", "n"))


def outbox_recent_failures(*, limit: int = ROWS_SHOWN) -> list[OutboundOperation]:
    """The operations that failed last: retrying, of unknown outcome, or dead."""
    State = OutboundOperation.State
    return list(OutboundOperation.objects
                .filter(state__in=[State.FAILED, State.UNKNOWN, State.DEAD])
                .only("pk", "platform", "kind", "entity_type", "entity_id", "state",
                      "last_error", "last_status_code", "updated_at", "next_attempt_at")
                .order_by("-updated_at", "-pk")[:limit])


def outbox_work_in_flight(*, now: datetime | None = None) -> bool:
    """An operation running, or pending and due about now (on the state index)."""
    now = now or timezone.now()
    State = OutboundOperation.State
    due_soon = Q(state=State.PENDING) & (
        Q(next_attempt_at__isnull=True)
        | Q(next_attempt_at__gte=now - PENDING_HORIZON, next_attempt_at__lte=now + PENDING_HORIZON))
    return OutboundOperation.objects.filter(Q(state=State.IN_FLIGHT) | due_soon).exists()


def sync_runs_recent(*, limit: int = ROWS_SHOWN) -> list[SyncRun]:
    # By id, not by start time: runs are inserted as they start, so the
    # newest ids are the newest runs, and the primary key's index answers
    # without sorting the table.
    return list(SyncRun.objects.select_related("connection").order_by("-pk")[:limit])


def sync_run_is_live(run: SyncRun, *, now: datetime) -> bool:
    """Running and not yet past the time after which the next start closes it."""
    return run.status == SyncRun.Status.RUNNING and run.started_at > now - SYNC_RUN_TIMEOUT


@dataclass(frozen=True)
class DayActivity:
    day: date
    calls: int = 0
    successes: int = 0
    median_ms: int | None = None
    p95_ms: int | None = None
    dead: int = 0

    @property
    def success_rate(self) -> float | None:
        """Per cent of calls that succeeded; `None` on a day without calls."""
        return round(100 * self.successes / self.calls, 1) if self.calls else None


@dataclass(frozen=True)
class PlatformActivity:
    platform: str
    days: tuple[DayActivity, ...]


def activity_days(*, days: int = CHART_DAYS, now: datetime | None = None) -> list[date]:
    """The last `days` calendar days in the user's time zone, today last."""
    today = timezone.localdate(now or timezone.now())
    return [today - timedelta(days=back) for back in range(days - 1, -1, -1)]


def platform_activity(*, days: int = CHART_DAYS, now: datetime | None = None
                      ) -> list[PlatformActivity]:
    """Calls, successes, latency (median and 95th percentile) and dead operations per
    platform and day, over the last `days` days of the user's time zone.

    Three aggregated queries, whatever the number of rows. A call is an
    outbound audit row, except those skipped (refused here, e.g. by an open
    breaker: they never reached the platform). Percentiles are nearest-rank
    (the shortest duration that at least that share of the day's calls did
    not exceed), ranked in the database by a window, so no row is brought
    back for it. An operation still dead counts on the day it died.
    """
    zone = timezone.get_current_timezone()
    day_list = activity_days(days=days, now=now)
    since = timezone.make_aware(datetime.combine(day_list[0], time.min), zone)
    calls = (SyncLog.objects
             .filter(created_at__gte=since, direction=SyncLog.Direction.OUTBOUND)
             .exclude(status=SyncLog.Status.SKIPPED)
             .annotate(day=TruncDate("created_at", tzinfo=zone)))

    totals: dict[tuple[str, date], dict[str, Any]] = {}
    for row in (calls.order_by().values("platform", "day")
                .annotate(calls=Count("pk"),
                          successes=Count("pk", filter=Q(status=SyncLog.Status.SUCCESS)))):
        totals[(row["platform"], row["day"])] = {"calls": row["calls"],
                                                 "successes": row["successes"]}

    partition = [F("platform"), F("day")]
    ranked = (calls.filter(duration_ms__isnull=False)
              .annotate(position=Window(RowNumber(), partition_by=partition,
                                        order_by=F("duration_ms").asc()),
                        size=Window(Count("pk"), partition_by=partition))
              .filter(_nearest_rank(50) | _nearest_rank(95))
              .values_list("platform", "day", "position", "size", "duration_ms"))
    for platform, day, position, size, duration in ranked:
        entry = totals.setdefault((platform, day), {})
        if _is_nearest_rank(position, size, 50):
            entry["median_ms"] = duration
        if _is_nearest_rank(position, size, 95):
            entry["p95_ms"] = duration

    dead = (OutboundOperation.objects
            .filter(state=OutboundOperation.State.DEAD, completed_at__gte=since)
            .annotate(day=TruncDate("completed_at", tzinfo=zone))
            .order_by().values_list("platform", "day").annotate(n=Count("pk")))
    for platform, day, count in dead:
        totals.setdefault((platform, day), {})["dead"] = count

    seen = {platform for platform, _day in totals}
    names = [platform.name for platform in registered_platforms()]
    names += sorted(seen - set(names))
    return [PlatformActivity(platform=name,
                             days=tuple(DayActivity(day=day, **totals.get((name, day), {}))
                                        for day in day_list))
            for name in names]


def platform_activity_cached(*, days: int = CHART_DAYS) -> list[PlatformActivity]:
    """`platform_activity`, kept per time zone for the current minute.

    The minute is part of the key, not only the expiry: every cache backend
    then agrees on when a value is stale, and no minute spans two days.
    """
    minute = int(timezone.now().timestamp() // ACTIVITY_CACHE_SECONDS)
    key = f"dashboard:activity:{timezone.get_current_timezone_name()}:{days}:{minute}"
    return cache.get_or_set(key, lambda: platform_activity(days=days), ACTIVITY_CACHE_SECONDS)


def _nearest_rank(percent: int) -> Q:
    """The row at rank ceil(size × percent / 100), in integers: no float rounding."""
    return Q(GreaterThanOrEqual(F("position") * 100, F("size") * percent),
             LessThan((F("position") - 1) * 100, F("size") * percent))


def _is_nearest_rank(position: int, size: int, percent: int) -> bool:
    return position * 100 >= size * percent and (position - 1) * 100 < size * percent


# --- Panels --------------------------------------------------------------------


def attention_panel(request: HttpRequest) -> DashboardPanel | None:
    if not user_may_view(request, AttentionItem):
        return None
    labels = {domain.label: str(domain.verbose_name or domain.label)
              for domain in registered_domains()}
    counts = attention_counts()
    by_domain: dict[str, int] = {}
    for row in counts:
        by_domain[row.domain] = by_domain.get(row.domain, 0) + row.count
    summary = [Cell(text=counted(labels.get(domain, domain), count), tone=WARNING,
                    status=domain, url=changelist_url(AttentionItem, domain=domain))
               for domain, count in sorted(by_domain.items())]
    rows = [
        [Cell(text=labels.get(row.domain, row.domain),
              url=changelist_url(AttentionItem, domain=row.domain)),
         Cell(text=row.kind, url=changelist_url(AttentionItem, domain=row.domain, kind=row.kind)),
         Cell(text=str(row.count)),
         Cell(when=row.oldest_at)]
        for row in counts
    ]
    return DashboardPanel(
        key="attention", title=gettext("Attention queue"), template_name=TABLE_TEMPLATE,
        context={
            "intro": gettext("What needs a manager, by domain and reason, the oldest first."),
            "summary": summary,
            "columns": [gettext("Domain"), gettext("Reason"), gettext("Open items"),
                        gettext("Oldest since")],
            "rows": rows,
            "empty": gettext("Nothing needs you: the queue is empty."),
            "more_url": changelist_url(AttentionItem),
            "more_label": gettext("Open the attention queue"),
        })


BREAKER_TONES = {"closed": OK, "half_open": WARNING, "open": ERROR}
BREAKER_LABELS = {"closed": _("closed"), "half_open": _("half-open (trying)"),
                  "open": _("open (calls refused)")}


def connections_panel(request: HttpRequest) -> DashboardPanel | None:
    # The platform rows summarise the outbox and the audit log, as the health page does.
    if not user_may_view(request, Connection, OutboundOperation, SyncLog):
        return None
    platforms = [_platform_row(row) for row in platform_health()]
    connections = [
        [Cell(text=connection.name, url=change_url(connection)),
         Cell(text=connection.platform),
         Cell(text=connection.get_status_display(), status=connection.status,
              tone=CONNECTION_TONES.get(connection.status, PENDING),
              title=connection.status_reason),
         Cell(when=connection.last_success_at, text=gettext("never")),
         Cell(when=connection.last_error_at)]
        for connection in connections_for_dashboard()
    ]
    return DashboardPanel(
        key="connections", title=gettext("Connections and their health"),
        template_name="admin/core/dashboard/connections.html",
        context={
            "platform_columns": [gettext("Platform"), gettext("Circuit breaker"),
                                 gettext("Last success"), gettext("Failures (1 h)"),
                                 gettext("Open operations"), gettext("Dead operations")],
            "platforms": platforms,
            "connection_columns": [gettext("Connection"), gettext("Platform"),
                                   gettext("Status"), gettext("Last success"),
                                   gettext("Last error")],
            "connections": connections,
            "connections_url": changelist_url(Connection),
            "health_url": reverse("admin:platform-health"),
        })


def _platform_row(row: PlatformHealth) -> list[Cell]:
    state = row.breaker_state
    breaker = str(BREAKER_LABELS.get(state, state))
    if row.breaker_failures:
        breaker = gettext("%(state)s, %(count)d failures in a row") % {
            "state": breaker, "count": row.breaker_failures}
    dead = OutboundOperation.State.DEAD
    return [
        Cell(text=row.name, url=changelist_url(SyncLog, platform=row.name)),
        Cell(text=breaker, tone=BREAKER_TONES.get(state, WARNING), status=state),
        Cell(when=row.last_success_at, text=gettext("never")),
        Cell(text=str(row.failures_last_hour)),
        Cell(text=str(row.open_operations),
             url=changelist_url(OutboundOperation, platform=row.name)),
        Cell(text=str(row.dead_operations), tone=ERROR if row.dead_operations else "",
             status=dead,
             url=changelist_url(OutboundOperation, platform=row.name, state__exact=dead)),
    ]


def outbox_panel(request: HttpRequest) -> DashboardPanel | None:
    if not user_may_view(request, OutboundOperation):
        return None
    counts = outbox_state_counts()
    summary = [Cell(text=counted(str(label), counts[state]), status=state,
                    tone=OPERATION_TONES.get(state, PENDING),
                    url=changelist_url(OutboundOperation, state__exact=state))
               for state, label in OutboundOperation.State.choices if counts.get(state)]
    rows = [
        [Cell(when=operation.updated_at),
         Cell(text=operation.platform),
         Cell(text=operation.kind, url=change_url(operation)),
         Cell(text=f"{operation.entity_type} {operation.entity_id}".strip(),
              url=entity_url(operation.entity_type, operation.entity_id)),
         Cell(text=operation.get_state_display(), status=operation.state,
              tone=OPERATION_TONES.get(operation.state, PENDING)),
         Cell(text=shorten(operation.last_error), title=operation.last_error)]
        for operation in outbox_recent_failures()
    ]
    return DashboardPanel(
        key="outbox", title=gettext("Outbound operations"), template_name=TABLE_TEMPLATE,
        pending=outbox_work_in_flight(),
        context={
            "intro": gettext("Operations not done yet, by state, and the last failures."),
            "summary": summary,
            "summary_empty": gettext("Every operation is done."),
            "columns": [gettext("Failed at"), gettext("Platform"), gettext("Operation"),
                        gettext("Object"), gettext("State"), gettext("Last error")],
            "rows": rows,
            "empty": gettext("No operation is failing."),
            "more_url": changelist_url(OutboundOperation),
            "more_label": gettext("All outbound operations"),
        })


def sync_runs_panel(request: HttpRequest) -> DashboardPanel | None:
    if not user_may_view(request, SyncRun):
        return None
    now = timezone.now()
    runs = sync_runs_recent()
    rows = [
        [Cell(text=run.kind, url=change_url(run)),
         Cell(text=run.connection.name),
         Cell(text=_run_status(run), status=run.status,
              tone=SYNC_RUN_TONES.get(run.status, PENDING)),
         Cell(when=run.started_at),
         Cell(when=run.finished_at),
         Cell(text=gettext("%(created)d created, %(updated)d updated, %(errors)d errors") % {
             "created": run.created, "updated": run.updated, "errors": run.errors})]
        for run in runs
    ]
    return DashboardPanel(
        key="sync_runs", title=gettext("Last sync runs"), template_name=TABLE_TEMPLATE,
        pending=any(sync_run_is_live(run, now=now) for run in runs),
        context={
            "columns": [gettext("Sync"), gettext("Connection"), gettext("Status"),
                        gettext("Started"), gettext("Finished"), gettext("Result")],
            "rows": rows,
            "empty": gettext("No sync has run yet."),
            "more_url": changelist_url(SyncRun),
            "more_label": gettext("All sync runs"),
        })


def _run_status(run: SyncRun) -> str:
    label = str(run.get_status_display())
    if run.status == SyncRun.Status.RUNNING and run.progress_total:
        return gettext("%(status)s, %(done)d of %(total)d") % {
            "status": label, "done": run.progress_done, "total": run.progress_total}
    return label


def activity_panel(request: HttpRequest) -> DashboardPanel | None:
    if not user_may_view(request, OutboundOperation, SyncLog):
        return None
    platforms = platform_activity_cached()
    return DashboardPanel(
        key="activity", title=gettext("The last %(days)d days per platform") % {
            "days": CHART_DAYS},
        template_name="admin/core/dashboard/activity.html",
        context={"platforms": [_activity_charts(activity) for activity in platforms],
                 "intro": gettext(
                     "From our audit log and outbox. Calls are the requests sent to the "
                     "platform; latency is the median and the 95th percentile of their "
                     "durations; dead operations count on the day they gave up.")})


def _activity_charts(activity: PlatformActivity) -> dict[str, Any]:
    labels = [formats.date_format(day.day, "D j") for day in activity.days]
    ident = f"chart-{activity.platform}"
    name = activity.platform
    calls = Series(label=gettext("Calls"), values=tuple(d.calls for d in activity.days))
    rate = Series(label=gettext("Success rate"),
                  values=tuple(d.success_rate for d in activity.days), tone="ok")
    median = Series(label=gettext("Median"), values=tuple(d.median_ms for d in activity.days))
    p95 = Series(label=gettext("95th percentile"),
                 values=tuple(d.p95_ms for d in activity.days), tone="warning")
    dead = Series(label=gettext("Dead operations"),
                  values=tuple(d.dead for d in activity.days), tone="error")
    return {
        "platform": name,
        "charts": [
            {"caption": calls.label,
             "svg": bar_chart(chart_id=f"{ident}-calls", labels=labels, series=calls,
                              title=gettext("%(platform)s: calls per day") % {
                                  "platform": name})},
            {"caption": rate.label,
             "svg": bar_chart(chart_id=f"{ident}-success", labels=labels, series=rate,
                              unit="%", decimals=1, max_value=100,
                              title=gettext("%(platform)s: success rate per day") % {
                                  "platform": name})},
            {"caption": gettext("Latency"),
             "svg": line_chart(chart_id=f"{ident}-latency", labels=labels,
                               series=[median, p95], unit="ms",
                               title=gettext("%(platform)s: latency per day") % {
                                   "platform": name})},
            {"caption": dead.label,
             "svg": bar_chart(chart_id=f"{ident}-dead", labels=labels, series=dead,
                              title=gettext("%(platform)s: dead operations per day") % {
                                  "platform": name})},
        ],
        "columns": [gettext("Day"), calls.label, rate.label, gettext("Median latency"),
                    gettext("95th percentile latency"), dead.label],
        "table": [[label, str(day.calls), _shown(day.success_rate, "%", decimals=1),
                   _shown(day.median_ms, "ms"), _shown(day.p95_ms, "ms"), str(day.dead)]
                  for label, day in zip(labels, activity.days, strict=True)],
    }


def _shown(value: float | None, unit: str, *, decimals: int = 0) -> str:
    if value is None:
        return gettext("no data")
    return f"{format_number(value, decimals=decimals)} {unit}"


def dashboard_panels(request: HttpRequest) -> list[DashboardPanel]:
    """The panels this user may see: the attention queue, the domains', then the core's."""
    builders = [attention_panel]
    for domain in registered_domains():
        builders.extend(domain.dashboard_panels)
    builders += [connections_panel, outbox_panel, sync_runs_panel, activity_panel]
    panels = (_built(builder, request) for builder in builders)
    return [panel for panel in panels if panel is not None and panel.allowed]


def _built(builder: Callable[[HttpRequest], DashboardPanel | None],
           request: HttpRequest) -> DashboardPanel | None:
    name = f"{builder.__module__}.{builder.__qualname__}"
    try:
        return builder(request)
    except Exception:
        # The home page is also the way to every other admin page: one broken
        # panel is logged and reported in its place, never a 500 for the page.
        logger.exception("The dashboard panel %s failed", name)
        return DashboardPanel(
            key=f"failed-{slugify(builder.__qualname__)}", title=gettext("A panel failed"),
            template_name=TABLE_TEMPLATE,
            context={"empty": gettext("This panel could not be shown; the error is in the "
                                      "server's log (%(name)s).") % {"name": name}})


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    """What the admin index adds to Django's: the panels and whether to refresh."""
    panels = dashboard_panels(request)
    pending = [panel for panel in panels if panel.pending]
    # The back-office's one way of refreshing a page, as on the change pages:
    # it names what is in flight and waits while the reader is typing.
    refresh = AutoRefresh(seconds=REFRESH_SECONDS, pending=len(pending),
                          progress=[Progress(summary=panel.title) for panel in pending])
    return {"dashboard_panels": panels, "auto_refresh": refresh if pending else None}
