"""Celery tasks of MY TUNICLAIM: load, call a service, nothing else.

Push retries are the core outbox's sweep; nothing here.
"""

import logging

from celery import shared_task

from apps.core.errors import ServiceError
from apps.core.models import SyncRun
from apps.tuniclaim.imports import import_run, import_trigger

logger = logging.getLogger(__name__)


@shared_task(name="tuniclaim.import_run", ignore_result=True)
def run_import(run_id: int) -> int:
    """The work of an import run that `import_trigger` started; the run's id
    (its counts and errors are on it)."""
    return import_run(run_id=run_id).pk


@shared_task(name="tuniclaim.import_hourly", ignore_result=True)
def import_hourly() -> int | None:
    """Every hour: an incremental import, unless one is still running."""
    try:
        run, started = import_trigger(trigger=SyncRun.Trigger.AUTOMATIC)
    except ServiceError as exc:
        # A run that could not start (another was starting): the next hour tries again.
        logger.warning("tuniclaim: hourly import not started: %s", exc)
        return None
    if not started:
        logger.info("tuniclaim: hourly import skipped, run %s is still running", run.pk)
    return run.pk
