"""Celery tasks of RestoSync: load, call a service, nothing else.

Due retries of pushes are the core's outbox sweep; nothing here.
"""

import logging

from celery import shared_task

from apps.core.errors import ServiceError
from apps.core.models import SyncRun
from apps.restosync.models import SyncPlatformConfig
from apps.restosync.polling import config_poll, configs_due_poll

logger = logging.getLogger(__name__)


@shared_task(name="restosync.poll_due", ignore_result=True)
def poll_due() -> int:
    """Every minute: a poll for each configuration whose interval has passed."""
    config_ids = list(configs_due_poll().values_list("pk", flat=True))
    for config_id in config_ids:
        poll_config.delay(config_id)
    return len(config_ids)


@shared_task(name="restosync.poll_config", ignore_result=True)
def poll_config(config_id: int, run_id: int | None = None) -> int | None:
    """One configuration's poll (in the run a manager's request started, if
    any); the SyncRun's id (its counts and errors are there)."""
    config = SyncPlatformConfig.objects.select_related("restaurant", "connection").filter(
        pk=config_id).first()
    if config is None:
        return None
    run = SyncRun.objects.filter(pk=run_id).first() if run_id is not None else None
    try:
        return config_poll(config=config, run=run).pk
    except ServiceError as exc:
        # A run that could not start (another is starting): the next minute tries again.
        logger.warning("restosync: poll of %s not run: %s", config, exc)
        return None
