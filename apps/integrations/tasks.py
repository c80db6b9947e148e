"""Celery tasks of the integrations domain: load, call a service, nothing else.

Calendar pushes are outbox operations, retried by the core's sweep.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from apps.core.errors import ServiceError
from apps.core.models import SyncRun
from apps.integrations.calendar_sync import (
    calendar_integrations_all,
    calendar_sync_request,
    calendar_sync_run,
)
from apps.integrations.models import Integration

logger = logging.getLogger(__name__)

# The seed's example interval, for integrations whose settings name none.
DEFAULT_SYNC_INTERVAL = 300


@shared_task(name="integrations.calendar_sync_run", ignore_result=True)
def calendar_sync_task(run_id: int) -> int:
    """The work of a calendar sync run that `calendar_sync_request` started."""
    return calendar_sync_run(run_id=run_id).pk


@shared_task(name="integrations.calendar_sync_later", ignore_result=True)
def calendar_sync_later(integration_id: int) -> int | None:
    """A sync asked for after the one running (a push notification that came
    during it); nothing if the integration is gone or disconnected."""
    integration = Integration.objects.select_related("connection").filter(
        pk=integration_id).first()
    if integration is None:
        return None
    try:
        return calendar_sync_request(integration=integration,
                                     trigger=SyncRun.Trigger.AUTOMATIC).pk
    except ServiceError as exc:
        logger.info("integrations: follow-up sync of %s not started: %s", integration_id, exc)
        return None


@shared_task(name="integrations.calendar_sync_due", ignore_result=True)
def calendar_sync_due() -> int:
    """Every minute: an automatic sync of each connected calendar with autoSync
    whose last sync is older than its syncInterval; how many were started."""
    now = timezone.now()
    started = 0
    for integration in calendar_integrations_all():
        options = integration.settings or {}
        if options.get("autoSync") is False:
            continue
        interval = timedelta(seconds=int(options.get("syncInterval") or DEFAULT_SYNC_INTERVAL))
        if integration.last_sync_at is not None and now - integration.last_sync_at < interval:
            continue
        try:
            calendar_sync_request(integration=integration, trigger=SyncRun.Trigger.AUTOMATIC)
        except ServiceError as exc:
            logger.warning("integrations: automatic sync of %s not started: %s",
                           integration.pk, exc)
            continue
        started += 1
    return started


@shared_task(name="integrations.push_channels_renew", ignore_result=True)
def push_channels_renew_task() -> int:
    """Every hour: Google push channels ending within a day are replaced."""
    from apps.integrations.push_channels import push_channels_renew

    return push_channels_renew()


@shared_task(name="integrations.graph_subscriptions_renew", ignore_result=True)
def graph_subscriptions_renew_task() -> int:
    """Every hour: Graph subscriptions ending within a day are renewed."""
    from apps.integrations.graph_subscriptions import subscriptions_renew

    return subscriptions_renew()


__all__ = ["calendar_sync_due", "calendar_sync_task", "graph_subscriptions_renew_task",
           "push_channels_renew_task"]


@shared_task(name="integrations.slack_reminders_due", ignore_result=True)
def slack_reminders_due() -> int:
    """Every minute: the Slack reminders whose time has come."""
    from apps.integrations.slack_notify import reminders_due

    return len(reminders_due())
