"""The polling fallback: what webhooks missed, read at each configuration's interval.

Each poll is a core `SyncRun` (kind `restosync.poll`, one at a time per
connection): the connector lists the bookings from today on
(`list_changed`, after its areas and tables are linked to our rooms and
tables by `layout.layout_pull`; Formitable lists future bookings, not changes, so the
lookback below only moves the cursor back and the engine compares what it
reads with what it holds), and each booking enters the same processing as
a webhook, `inbound.remote_reservation_apply`, with its own event identity
(`poll:<booking>:<read time>`). A booking already applied by its webhook
is then unchanged; a webhook older than the poll's read is skipped.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import DateTimeField, Max, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from apps.core.errors import ServiceError
from apps.core.http import PlatformError
from apps.core.models import SyncRun
from apps.core.sync import SyncRunRecorder, cursor_get, cursor_set, sync_run_start
from apps.restosync import inbound
from apps.restosync.connectors import Capability, NotSupported, get_connector
from apps.restosync.layout import layout_pull
from apps.restosync.models import ENTITY_RESERVATION, POLL_KIND, SyncPlatformConfig
from apps.restosync.selectors import connector_config, platform_configs_list
from apps.restosync.services import platform_config_record_sync

logger = logging.getLogger(__name__)

CONFIG_INACTIVE = "config_inactive"

CURSOR_STREAM = "reservations"
# How far before the last poll a poll reads again: a change the platform
# recorded while the last poll was reading is not lost between two reads.
POLL_LOOKBACK = timedelta(minutes=10)

# What each outcome of `remote_reservation_apply` counts as in the run.
_COUNTED = {inbound.CREATED: "created", inbound.UPDATED: "updated"}


def configs_due_poll(*, now: datetime | None = None) -> QuerySet[SyncPlatformConfig]:
    """Active configurations syncing reservations whose last poll started at
    least their interval ago (or that never polled)."""
    now = now or timezone.now()
    last_poll = (SyncRun.objects.filter(kind=POLL_KIND, connection=OuterRef("connection"))
                 .values("connection").annotate(last=Max("started_at")).values("last"))
    configs = (platform_configs_list().filter(is_active=True)
               .annotate(last_poll=Subquery(last_poll, output_field=DateTimeField())))
    # Compared here rather than in SQL: an interval per row is not portable
    # between PostgreSQL and SQLite, and there is one row per restaurant and platform.
    due = [config.pk for config in configs
           if ENTITY_RESERVATION in (config.sync_entities or [])
           and (config.last_poll is None
                or config.last_poll <= now - timedelta(seconds=config.poll_interval_sec))]
    return platform_configs_list().filter(pk__in=due)


def config_poll_request(*, config: SyncPlatformConfig, user=None) -> SyncRun:
    """A manager's "poll now": the run is started here, so its id can be
    answered at once (202), and a worker reads the platform after the commit.
    A poll already running is returned instead of a second one."""
    # Imported here: the tasks module imports this one.
    from apps.restosync.tasks import poll_config

    if not config.is_active:
        # The beat skips it too: an inactive configuration talks to no platform.
        raise ServiceError(CONFIG_INACTIVE, gettext(
            "This configuration is inactive; activate it before polling."), status=409)
    run, started = sync_run_start(kind=POLL_KIND, connection=config.connection,
                                  trigger=SyncRun.Trigger.MANUAL, user=user,
                                  direction="inbound")
    if started:
        transaction.on_commit(lambda: poll_config.delay(config.pk, run.pk))
    return run


def config_poll(*, config: SyncPlatformConfig, trigger: str = SyncRun.Trigger.AUTOMATIC,
                user=None, run: SyncRun | None = None) -> SyncRun:
    """Read the platform's bookings and apply each; returns the run (the one
    already running, if any: a click during the beat's poll starts nothing).
    `run`: one `config_poll_request` started for this poll."""
    if run is None or run.status != SyncRun.Status.RUNNING:
        run, started = sync_run_start(kind=POLL_KIND, connection=config.connection,
                                      trigger=trigger, user=user, direction="inbound")
        if not started:
            return run
    connection = config.connection
    cursor = cursor_get(connection=connection, stream=CURSOR_STREAM)
    since = parse_datetime(cursor) if cursor else None
    read_at = timezone.now()
    recorder = SyncRunRecorder(run)
    try:
        connector = get_connector(connector_config(config))
        if not connector.supports(Capability.LIST_CHANGED):
            raise NotSupported(config.platform, Capability.LIST_CHANGED.value)
        # The floor plan first: the bookings read next then find their room and tables.
        layout_pull(config=config, connector=connector)
        changed = connector.list_changed(since=since - POLL_LOOKBACK if since else None,
                                         lookback=POLL_LOOKBACK)
    except PlatformError as exc:
        platform_config_record_sync(config=config, error=str(exc))
        return recorder.finish(error=f"{type(exc).__name__}: {exc}"[:1000])
    for remote in changed.reservations:
        try:
            outcome = inbound.remote_reservation_apply(
                config=config, remote=remote,
                event_id=f"poll:{remote.external_id}:{read_at.isoformat()}",
                seen_at=remote.updated_at or read_at)
        except ServiceError as exc:
            # One booking our rules cannot take (no contact, no time): the
            # others go on, and the run shows which one and why.
            recorder.error(record=remote.external_id, message=exc.message)
            continue
        recorder.count(_COUNTED.get(outcome, "unchanged"))
        recorder.advance()
    cursor_set(connection=connection, stream=CURSOR_STREAM, value=read_at.isoformat())
    platform_config_record_sync(config=config, at=read_at)
    return recorder.finish()

