"""The e-mail report of an import run, sent when someone should read it.

A report goes out after a run that failed or ended partial (records in
quarantine or bordereaux that could not be read), and after a large import
(TUNICLAIM_LARGE_IMPORT_CLAIMS records created or updated, bordereaux and
BS together, as the run counts them). A small successful run sends nothing:
the dashboard shows it.

The report is sent after the run's transaction commits, in the hub's
language and time zone, to TUNICLAIM_REPORT_RECIPIENTS. Sending can never
hurt the import: any failure (the SMTP server down, a template error) is
logged with the run's id and goes no further. A run is reported once: the
first sender claims the run in the shared store (Redis, or the database
without it), so a second call (a task delivered twice) finds it taken.
"""

from __future__ import annotations

import logging
import zoneinfo
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from apps.core.models import SyncRun
from apps.core.store import shared_store

logger = logging.getLogger(__name__)

RunStatus = SyncRun.Status
# What the subject says of the run, translated when the report is rendered.
OUTCOMES = {
    RunStatus.ERROR: _("FAILED"),
    RunStatus.PARTIAL: _("PARTIAL"),
    RunStatus.SUCCESS: _("OK"),
}
# How long a run stays claimed as reported: far longer than any delay
# between the end of a run and a second delivery of its end.
REPORTED_TTL_SECONDS = 7 * 24 * 3600


def report_after_run(*, run: SyncRun) -> None:
    """Send the run's report after the current transaction commits, if one is due.

    Never raises: the import's outcome does not depend on its report.
    """
    try:
        run_id = run.pk
        transaction.on_commit(lambda: report_send(run_id=run_id))
    except Exception:
        logger.exception("tuniclaim report: run %s could not be scheduled",
                         getattr(run, "pk", None))


def report_due(run: SyncRun) -> bool:
    """A failed or partial run, or a large import: someone should read about it."""
    if run.status in (RunStatus.ERROR, RunStatus.PARTIAL):
        return True
    return (run.status == RunStatus.SUCCESS
            and run.created + run.updated >= settings.TUNICLAIM_LARGE_IMPORT_CLAIMS)


def report_send(*, run_id: int) -> bool:
    """Send the report of run `run_id` if it is due and not sent yet; True if sent.

    Never raises (every failure is logged with the run's id).
    """
    try:
        return _send(run_id)
    except Exception:
        logger.exception("tuniclaim report: the report of run %s was not sent", run_id)
        return False


def _send(run_id: int) -> bool:
    # Read again: the counts and the outcome as the run committed them.
    run = SyncRun.objects.select_related("triggered_by").filter(pk=run_id).first()
    if run is None:
        logger.warning("tuniclaim report: run %s does not exist", run_id)
        return False
    if run.status == RunStatus.RUNNING:
        logger.warning("tuniclaim report: run %s is still running; not reported", run_id)
        return False
    if not report_due(run):
        return False
    recipients = list(settings.TUNICLAIM_REPORT_RECIPIENTS)
    if not recipients:
        logger.info("tuniclaim report: run %s ended %s; no recipients configured "
                    "(TUNICLAIM_REPORT_RECIPIENTS), nothing sent", run_id, run.status)
        return False
    if not shared_store().add(f"tuniclaim:report:{run_id}", "sent", REPORTED_TTL_SECONDS):
        logger.info("tuniclaim report: run %s was reported already", run_id)
        return False
    message = report_message(run=run, recipients=recipients)
    message.send()
    logger.info("tuniclaim report: run %s (%s) reported to %d recipient(s)", run_id,
                run.status, len(recipients))
    return True


def _duration_seconds(run: SyncRun) -> int | None:
    if run.finished_at is None:
        return None
    return max(int((run.finished_at - run.started_at).total_seconds()), 0)


def report_context(run: SyncRun) -> dict[str, Any]:
    base = settings.HUB_BASE_URL.rstrip("/")
    return {
        "run": run,
        "outcome": OUTCOMES.get(run.status, run.status),
        "duration_seconds": _duration_seconds(run),
        "triggered_by": run.triggered_by.get_username() if run.triggered_by else "",
        "claims": run.created + run.updated,
        "errors": run.error_samples or [],
        "run_url": base + reverse("admin:core_syncrun_change", args=[run.pk]),
        "time_zone": settings.TIME_ZONE,
    }


def report_message(*, run: SyncRun, recipients: list[str]) -> EmailMultiAlternatives:
    """The report as a text mail with its HTML alternative, in the hub's language."""
    context = report_context(run)
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    with translation.override(settings.LANGUAGE_CODE), timezone.override(zone):
        subject = " ".join(render_to_string("tuniclaim/email/import_report_subject.txt",
                                            context).split())
        text = render_to_string("tuniclaim/email/import_report.txt", context)
        html = render_to_string("tuniclaim/email/import_report.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=recipients)
    message.attach_alternative(html, "text/html")
    return message
