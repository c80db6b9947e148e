"""The MY TUNICLAIM panel of the back-office home page: the link's health and
the last imports, a click away from the sync page."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from apps.core.admin_display import SYNC_RUN_TONES
from apps.core.dashboard import (
    PENDING,
    TABLE_TEMPLATE,
    Cell,
    DashboardPanel,
    change_url,
    shorten,
    sync_run_is_live,
    user_may_view,
)
from apps.core.models import SyncRun
from apps.tuniclaim.admin import HEALTH_BADGES, run_trigger
from apps.tuniclaim.models import Bordereau
from apps.tuniclaim.selectors import import_status

# The newest runs on the home page; the sync page shows twenty, the runs page all.
RUNS_SHOWN = 5


def health_cell(level: str, reasons: list[str]) -> Cell:
    """The sync page's badge, its reasons in the tooltip."""
    label, tone = HEALTH_BADGES.get(level, (level, PENDING))
    return Cell(text=gettext("Link: %(health)s") % {"health": label}, tone=tone, status=level,
                url=reverse("admin:tuniclaim_sync"), title=" ".join(reasons))


def run_result(run: SyncRun) -> str:
    return gettext("%(created)d created, %(updated)d updated, %(unchanged)d unchanged, "
                   "%(invalid)d invalid, %(errors)d errors") % {
        "created": run.created, "updated": run.updated, "unchanged": run.unchanged,
        "invalid": run.invalid, "errors": run.errors}


def run_status_text(run: SyncRun) -> str:
    label = str(run.get_status_display())
    if run.status == SyncRun.Status.RUNNING and run.progress_total:
        return gettext("%(status)s, %(done)d of %(total)d") % {
            "status": label, "done": run.progress_done, "total": run.progress_total}
    return label


def first_error(run: SyncRun) -> str:
    samples = run.error_samples or []
    if not samples:
        return ""
    sample = samples[0]
    return " ".join(str(part) for part in (sample.get("record", ""), sample.get("message", ""))
                    if part)


def tuniclaim_panel(request: HttpRequest) -> DashboardPanel | None:
    # What the sync page asks: the bordereaux' and the core's sync runs' view permission.
    if not user_may_view(request, Bordereau, SyncRun):
        return None
    now = timezone.now()
    status = import_status()
    # The reasons (records in quarantine among them) are the panel's intro: the
    # health has counted them, the panel counts nothing again.
    summary = [health_cell(status.health.level, status.health.reasons)]
    rows = []
    for run in status.last_runs[:RUNS_SHOWN]:
        error = first_error(run)
        rows.append([
            Cell(when=run.started_at),
            Cell(text=run_trigger(run)),
            Cell(text=run_status_text(run), status=run.status,
                 tone=SYNC_RUN_TONES.get(run.status, PENDING), url=change_url(run)),
            Cell(text=run_result(run)),
            Cell(text=shorten(error), title=error),
        ])
    return DashboardPanel(
        key="tuniclaim_sync", title=gettext("MY TUNICLAIM import"),
        template_name=TABLE_TEMPLATE,
        # Reloaded while an import runs, so its progress moves on the home page too.
        pending=status.running is not None and sync_run_is_live(status.running, now=now),
        context={
            "intro": " ".join(status.health.reasons) or gettext(
                "The link is healthy: the last import completed on time and nothing waits."),
            "summary": summary,
            "columns": [gettext("Started"), gettext("Trigger"), gettext("Status"),
                        gettext("Result"), gettext("First error")],
            "rows": rows,
            "empty": gettext("No import has run yet: the first starts on the hour, or use "
                             "Sync now."),
            "more_url": reverse("admin:tuniclaim_sync"),
            "more_label": gettext("Open the MY TUNICLAIM sync page (Sync now)"),
        })
