"""Calendar sync: events both ways between the organisation and its calendars.

A sync is a core `SyncRun` (kind "integrations.calendar_sync") of the
integration's connection, one at a time, its work sent to Celery after the
commit that started it. Per the integration's `syncDirection`:

- pull (bidirectional, external_to_attendance): the changes since the core
  cursor (Google's syncToken; a full list when there is none). A provider
  that forgot the cursor (410) gets the cursor reset and a full list in the
  same run; events already linked are matched by their mapping, so nothing
  is imported twice. Each remote event is created, updated or cancelled here
  through the event services and linked with a core ExternalMapping.
- push (bidirectional, attendance_to_external): our events changed since
  the last push are handed to the outbox, one operation per event and
  calendar integration; `calendar_push_event` is what the handler does.

The mapping remembers, for each link, the version of our event the
calendar holds (`secondary_id`) and the content last seen there (`raw`).
That tells the cases apart: a remote event with the content we last saw is
an echo of our own push (left alone); a changed one is applied unless our
event changed since the calendar last had it (our newer change wins and is
pushed over it); a local event whose version the calendar holds already is
not pushed again.
"""

from __future__ import annotations

import hashlib
import logging
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from apps.core.bulk import content_hash
from apps.core.errors import ServiceError
from apps.core.http import PlatformError
from apps.core.models import Connection, ExternalMapping, OutboundOperation, SyncRun, WebhookEvent
from apps.core.operations import operation_enqueue
from apps.core.sync import (
    SyncRunRecorder,
    cursor_get,
    cursor_reset,
    cursor_set,
    mapping_find_locals,
    mapping_get,
    mapping_upsert,
    sync_run_start,
)
from apps.integrations.calendars import FullSyncRequired, RemoteEvent, adapter_for
from apps.integrations.models import ENTITY_EVENT, Event, Integration

logger = logging.getLogger(__name__)

SYNC_KIND = "integrations.calendar_sync"
PUSH_KIND = "integrations.calendar_push"
BIDIRECTIONAL = "bidirectional"
PUSH_ONLY = "attendance_to_external"
PULL_ONLY = "external_to_attendance"
# A run's `direction` (the core's column holds 10 characters) for each seed
# syncDirection, and back for the API.
RUN_DIRECTIONS = {BIDIRECTIONAL: "both", PUSH_ONLY: "push", PULL_ONLY: "pull"}
SEED_DIRECTIONS = {short: seed for seed, short in RUN_DIRECTIONS.items()}
# The providers whose calendars this engine syncs.
CALENDAR_PROVIDERS = (Integration.Provider.GOOGLE, Integration.Provider.MICROSOFT)
# The stream of the push cursor: when the last push hand-over started.
PUSH_STREAM = "calendar:push"


def _pull_stream(integration: Integration) -> str:
    calendar = str((integration.settings or {}).get("calendarId") or "primary")
    if len(calendar) > 60:
        # An Outlook calendar id (about 150 characters) does not fit the
        # cursor's 80-character stream; its hash names it as well.
        calendar = "sha256:" + hashlib.sha256(calendar.encode()).hexdigest()[:40]
    return f"calendar:events:{calendar}"


def sync_direction(integration: Integration) -> str:
    return str((integration.settings or {}).get("syncDirection") or BIDIRECTIONAL)


def pulls(direction: str) -> bool:
    return direction in (BIDIRECTIONAL, PULL_ONLY)


def pushes(direction: str) -> bool:
    return direction in (BIDIRECTIONAL, PUSH_ONLY)


def calendar_integrations(organization_id: int):
    """The organisation's connected calendar integrations this engine syncs."""
    return Integration.objects.filter(
        organization_id=organization_id, provider__in=CALENDAR_PROVIDERS,
        connection__status=Connection.Status.CONNECTED).select_related("connection")


def calendar_integrations_all():
    """Every connected calendar integration this engine syncs (the beat's round)."""
    return Integration.objects.filter(
        provider__in=CALENDAR_PROVIDERS,
        connection__status=Connection.Status.CONNECTED).select_related("connection")


# The integration whose remote change is being applied here, while it is.
_pulling_from: ContextVar[int | None] = ContextVar("calendar_pulling_from", default=None)


# -- starting a run ----------------------------------------------------------------

def calendar_sync_request(*, integration: Integration, user=None,
                          trigger: str = SyncRun.Trigger.MANUAL,
                          direction: str | None = None, full: bool = False) -> SyncRun:
    """Start a sync of `integration` (or get back the one running); the work goes
    to Celery once the run is committed. `direction`: a seed syncDirection, the
    integration's own by default. `full` (the seed's forceUpdate): the calendar
    is listed from scratch, not from the last cursor."""
    if integration.provider not in CALENDAR_PROVIDERS:
        raise ServiceError("SYNC_FAILED", gettext("This integration has no calendar to sync."),
                           status=400)
    if integration.connection.status != Connection.Status.CONNECTED:
        raise ServiceError("CONNECTION_ERROR", gettext(
            "The integration is not connected; connect it again before syncing."), status=409)
    direction = direction or sync_direction(integration)
    if direction not in RUN_DIRECTIONS:
        raise ServiceError("SYNC_FAILED", gettext("Unknown sync direction %(direction)s.")
                           % {"direction": direction}, status=400)
    run, started = sync_run_start(kind=SYNC_KIND, connection=integration.connection,
                                  trigger=trigger, user=user,
                                  direction=RUN_DIRECTIONS[direction])
    if started and full:
        cursor_reset(connection=integration.connection, stream=_pull_stream(integration))
    if started:
        from apps.integrations.tasks import calendar_sync_task

        transaction.on_commit(lambda: calendar_sync_task.delay(run.pk))
    return run


def calendar_sync_estimate(*, integration: Integration) -> str:
    """How long a sync should take, from the last finished one (the seed's
    `estimatedDuration`, for people: "less than a minute", "3-5 minutes")."""
    last = (SyncRun.objects.filter(kind=SYNC_KIND, connection=integration.connection,
                                   finished_at__isnull=False)
            .exclude(status=SyncRun.Status.RUNNING).order_by("-finished_at").first())
    if last is None:
        return gettext("a few minutes")
    minutes = (last.finished_at - last.started_at).total_seconds() / 60
    if minutes < 1:
        return gettext("less than a minute")
    low = int(minutes)
    return gettext("%(low)d-%(high)d minutes") % {"low": low, "high": low + 2}


def calendar_sync_run(*, run_id: int) -> SyncRun:
    """The work of a run: pull, then push, per the run's direction."""
    run = SyncRun.objects.select_related("connection").get(pk=run_id)
    if run.status != SyncRun.Status.RUNNING:
        return run
    integration = Integration.objects.select_related("connection", "organization").get(
        connection=run.connection)
    direction = SEED_DIRECTIONS.get(run.direction) or sync_direction(integration)
    try:
        with SyncRunRecorder(run) as recorder:
            adapter = adapter_for(integration)
            if pulls(direction):
                _pull(integration, adapter, recorder)
            if pushes(direction):
                _push_changed(integration, recorder)
    except PlatformError as exc:
        # The run is closed as an error with the reason (the recorder did it);
        # a revoked token has put the connection in error too. Nothing to retry
        # here: the next sync starts from the same cursor.
        logger.warning("calendar sync run %s failed: %s", run.pk, exc)
        run.refresh_from_db()
        return run
    now = timezone.now()
    Integration.objects.filter(pk=integration.pk).update(last_sync_at=now, last_activity_at=now)
    if recorder.run.status != SyncRun.Status.ERROR:
        _ensure_push_channel(integration)
    return recorder.run


def _ensure_push_channel(integration: Integration) -> None:
    """After a good sync, the calendar's push channel, if it has none yet."""
    from apps.integrations.push_channels import channel_of, push_channel_open

    if integration.provider == Integration.Provider.MICROSOFT:
        from apps.integrations.graph_subscriptions import subscription_ensure

        try:
            subscription_ensure(integration=integration)
        except PlatformError:
            # The sync itself worked; the hourly renewal subscribes later.
            logger.warning("graph subscription of integration %s not created", integration.pk,
                           exc_info=True)
        return
    if integration.provider != Integration.Provider.GOOGLE or channel_of(integration.connection):
        return
    try:
        push_channel_open(integration=integration)
    except PlatformError:
        # The sync itself worked; the hourly renewal opens the channel later.
        logger.warning("google channel of integration %s not opened", integration.pk,
                       exc_info=True)


# -- pull --------------------------------------------------------------------------

def _pull(integration: Integration, adapter, recorder: SyncRunRecorder) -> None:
    connection, stream = integration.connection, _pull_stream(integration)
    started_from = cursor_get(connection=connection, stream=stream)
    try:
        cursor = _pull_pages(integration, adapter, started_from, recorder)
    except FullSyncRequired:
        logger.info("calendar sync of %s: the provider forgot the cursor, full resync",
                    integration.pk)
        cursor_reset(connection=connection, stream=stream)
        started_from = ""
        cursor = _pull_pages(integration, adapter, "", recorder)
    if cursor:
        cursor_set(connection=connection, stream=stream, value=cursor, expected=started_from)


def _pull_pages(integration: Integration, adapter, cursor: str,
                recorder: SyncRunRecorder) -> str:
    next_cursor = ""
    # A full list shows no deleted events: what it leaves out of what we had
    # linked was deleted meanwhile (while a forgotten cursor hid it, say).
    seen: set[str] | None = None if cursor else set()
    listed_from = timezone.now()
    for page in adapter.changes(cursor):
        linked = mapping_find_locals(connection=integration.connection,
                                     external_ids=[item.external_id for item in page.events],
                                     entity_type=ENTITY_EVENT)
        for remote in page.events:
            if seen is not None:
                seen.add(remote.external_id)
            try:
                with transaction.atomic():
                    outcome = _apply_remote(integration, remote, linked.get(remote.external_id))
            except (ServiceError, PlatformError, ValueError) as exc:
                recorder.error(record=remote.local_id or remote.external_id,
                               message=str(getattr(exc, "message", "") or exc))
                continue
            recorder.count(outcome)
            recorder.advance()
        next_cursor = page.next_cursor or next_cursor
    if seen is not None and next_cursor:
        _cancel_unseen(integration, seen, listed_from, recorder,
                       window=getattr(adapter, "listed_window", None))
    return next_cursor


def _cancel_unseen(integration: Integration, seen: set[str], listed_from: datetime,
                   recorder: SyncRunRecorder,
                   window: tuple[datetime, datetime] | None = None) -> None:
    """Our events linked to calendar events a complete list no longer shows:
    cancelled here as the calendar's deletion (compared in Python: the list
    can hold more ids than a query may carry). Links made since the list
    began (a push that ran meanwhile) are not judged by it."""
    links = ExternalMapping.objects.filter(
        connection=integration.connection, entity_type=ENTITY_EVENT,
        status=ExternalMapping.Status.SYNCED, synced_at__lt=listed_from,
    ).values_list("external_id", "local_id")
    # A list of a window (Graph's calendarView) speaks only for the events in it.
    outside = set() if window is None else {str(pk) for pk in Event.objects.filter(
        organization_id=integration.organization_id).exclude(
        start__lt=window[1], end__gt=window[0]).values_list("pk", flat=True)}
    for external_id, local_id in links.iterator(chunk_size=2000):
        if external_id in seen or local_id in outside:
            continue
        remote = RemoteEvent(external_id=external_id, cancelled=True)
        try:
            with transaction.atomic():
                outcome = _apply_remote(integration, remote, local_id)
        except ServiceError as exc:
            recorder.error(record=local_id, message=str(exc.message or exc))
            continue
        if outcome != "unchanged":
            recorder.count(outcome)


def _apply_remote(integration: Integration, remote: RemoteEvent, local_id: str | None) -> str:
    """One remote event applied here; the counter it counts in."""
    token = _pulling_from.set(integration.pk)
    try:
        return _apply(integration, remote, local_id)
    finally:
        _pulling_from.reset(token)


def _apply(integration: Integration, remote: RemoteEvent, local_id: str | None) -> str:
    # Imported here: the event services import this module (to enqueue pushes).
    from apps.integrations import services

    connection = integration.connection
    # Ours, but its link is gone (a push whose answer was lost): relink it.
    if local_id is None and remote.local_id.isdigit() and Event.objects.filter(
            pk=remote.local_id, organization_id=integration.organization_id).exists():
        local_id = remote.local_id
    if remote.cancelled:
        if local_id is None:
            return "unchanged"  # never imported: nothing to cancel
        event = Event.objects.filter(pk=local_id).first()
        if event is None or event.cancelled_at is not None:
            return "unchanged"
        event = services.event_cancel(event=event, user=None)
        _link(connection, event.pk, remote, version=event.version)
        return "deleted"
    if remote.start is None or remote.end is None or remote.end <= remote.start:
        raise ValueError(gettext("The calendar's event has no usable start and end."))
    if remote.is_private and (integration.settings or {}).get("syncPrivateEvents") is False:
        return "unchanged"
    if local_id is None:
        event = services.event_create(organization=integration.organization, user=None,
                                      data=_fields(integration, remote, linked=False),
                                      attendees=_attendees(remote))
        _link(connection, event.pk, remote, version=event.version)
        return "created"
    event = Event.objects.get(pk=local_id)
    mapping = mapping_get(entity_type=ENTITY_EVENT, local_id=event.pk, connection=connection)
    if mapping is not None and mapping.content_hash == content_hash(remote.content()):
        return "unchanged"  # what we pushed (or imported) last: an echo
    synced_version = _synced_version(mapping)
    if event.cancelled_at is not None or (synced_version is not None
                                          and event.version > synced_version):
        # Our event changed since the calendar last had it: ours is newer, and
        # the push sends it over this one.
        return "unchanged"
    data = _fields(integration, remote, linked=True)
    attendees = _attendees(remote) if _mapping_option(integration, "includeAttendees") else None
    event = services.event_update(event=event, user=None, data=data, attendees=attendees)
    _link(connection, event.pk, remote, version=event.version)
    return "updated"


def _synced_version(mapping: ExternalMapping | None) -> int | None:
    if mapping is None or not mapping.secondary_id.isdigit():
        return None
    return int(mapping.secondary_id)


def _mapping_option(integration: Integration, name: str) -> bool:
    # Google's settings nest the option in eventMapping; Microsoft's are flat.
    options = integration.settings or {}
    return bool((options.get("eventMapping") or {}).get(name, options.get(name, True)))


def _fields(integration: Integration, remote: RemoteEvent, *, linked: bool) -> dict[str, Any]:
    """Our event's fields from the remote event. For an event we push, a field
    the mapping keeps from the calendar is not taken back (it is empty there),
    and the title loses the prefix we put on it."""
    prefix = str(((integration.settings or {}).get("eventMapping") or {}).get("titlePrefix")
                 or "")
    title = remote.title
    if linked and prefix and title.startswith(prefix):
        title = title[len(prefix):]
    data: dict[str, Any] = {"title": (title or gettext("(no title)"))[:255],
                            "start": remote.start, "end": remote.end,
                            "is_private": remote.is_private}
    if remote.time_zone:
        data["time_zone"] = remote.time_zone
    if not linked or _mapping_option(integration, "includeDescription"):
        data["description"] = remote.description
    if not linked or _mapping_option(integration, "includeLocation"):
        data["location"] = remote.location[:255]
    return data


def _attendees(remote: RemoteEvent) -> list[dict[str, str]]:
    return [{"email": attendee.email, "name": attendee.name, "status": attendee.status}
            for attendee in remote.attendees]


def _link(connection: Connection, local_id: int, remote: RemoteEvent, *, version: int) -> None:
    mapping_upsert(entity_type=ENTITY_EVENT, local_id=local_id, connection=connection,
                   external_id=remote.external_id, secondary_id=str(version),
                   raw=remote.content())


# -- push --------------------------------------------------------------------------

def calendar_push_enqueue(*, event: Event) -> list[OutboundOperation]:
    """Hand `event`'s current state to each connected calendar of its organisation
    that receives our events; in the caller's transaction (the change's own).

    The calendar a pull is applying the change from is left out: it holds
    the change already (its other calendars do get it).
    """
    source = _pulling_from.get()
    operations = []
    for integration in calendar_integrations(event.organization_id):
        if integration.pk != source and pushes(sync_direction(integration)):
            operations.append(_enqueue_push(integration, event))
    return operations


def _enqueue_push(integration: Integration, event: Event) -> OutboundOperation:
    connection = integration.connection
    # The entity's older pushes to this calendar that have not started carry
    # an older state: the handler reads the event as it is now, so they go.
    # (The core's `supersedes` would retire other calendars' pushes too: the
    # entity is the event, shared by every calendar.)
    # The same version handed over twice is one operation (its key), not retired.
    key = f"{PUSH_KIND}:{connection.pk}:{event.pk}:v{event.version}"
    now = timezone.now()
    OutboundOperation.objects.filter(
        kind=PUSH_KIND, entity_type=ENTITY_EVENT, entity_id=str(event.pk),
        connection=connection, state=OutboundOperation.State.PENDING, attempts=0,
    ).exclude(idempotency_key=key).update(
        state=OutboundOperation.State.SUPERSEDED, next_attempt_at=None, completed_at=now,
        updated_at=now)
    operation, _created = operation_enqueue(
        platform=integration.provider, kind=PUSH_KIND, connection=connection,
        idempotency_key=key,
        payload={"integration": integration.pk, "version": event.version},
        entity_type=ENTITY_EVENT, entity_id=event.pk, supersedes=False)
    return operation


def _push_changed(integration: Integration, recorder: SyncRunRecorder) -> None:
    """Our events changed since the last hand-over, to the outbox (their pushes
    count in the operations, not in this run)."""
    connection = integration.connection
    since_text = cursor_get(connection=connection, stream=PUSH_STREAM)
    since = parse_datetime(since_text) if since_text else None
    started = timezone.now()
    events = Event.objects.filter(organization_id=integration.organization_id)
    if since is not None:
        events = events.filter(updated_at__gte=since)
    else:
        # The first push: what is still to come, and nothing cancelled before
        # the calendar was ever connected.
        events = events.filter(end__gte=started, cancelled_at__isnull=True)
    # What the calendar already holds (imported or pushed in this version) is not handed over.
    held = dict(ExternalMapping.objects.filter(
        connection=connection, entity_type=ENTITY_EVENT,
        status=ExternalMapping.Status.SYNCED).values_list("local_id", "secondary_id"))
    for event in events.iterator(chunk_size=500):
        if held.get(str(event.pk)) == str(event.version):
            continue
        with transaction.atomic():
            _enqueue_push(integration, event)
    cursor_set(connection=connection, stream=PUSH_STREAM, value=started.isoformat())


def calendar_push_event(*, integration: Integration, event: Event) -> dict[str, Any]:
    """Make the calendar hold `event` as it is now: created (with its idempotent
    id), updated, or deleted when it is cancelled or no longer passes the
    filters; the mapping records what the calendar holds."""
    connection = integration.connection
    if connection.status != Connection.Status.CONNECTED:
        return {"skipped": "not connected"}
    if not pushes(sync_direction(integration)):
        return {"skipped": "direction"}
    adapter = adapter_for(integration)
    mapping = mapping_get(entity_type=ENTITY_EVENT, local_id=event.pk, connection=connection)
    if event.cancelled_at is not None or not adapter.accepts(event):
        if mapping is None or mapping.status == ExternalMapping.Status.PENDING:
            return {"skipped": "not at the calendar"}
        adapter.delete(mapping.external_id)
        # Kept, marked pending: a later change that passes the filters again
        # updates the same event id (Google refuses a new insert of a deleted id).
        mapping_upsert(entity_type=ENTITY_EVENT, local_id=event.pk, connection=connection,
                       external_id=mapping.external_id, secondary_id=str(event.version),
                       raw={"cancelled": True}, status=ExternalMapping.Status.PENDING)
        return {"deleted": mapping.external_id}
    if mapping is not None and mapping.status == ExternalMapping.Status.SYNCED \
            and _synced_version(mapping) == event.version:
        return {"skipped": "in sync", "external_id": mapping.external_id}
    if mapping is None:
        remote = adapter.create(event)
        action = "created"
    else:
        remote = adapter.update(event, mapping.external_id)
        action = "updated"
    _link(connection, event.pk, remote, version=event.version)
    Integration.objects.filter(pk=integration.pk).update(last_activity_at=timezone.now())
    return {action: remote.external_id, "version": event.version}


# How long after a run a notification that arrived during it gets its own
# sync (a short delay gathers the notifications of a burst).
FOLLOW_UP_SECONDS = 30


def calendar_sync_notified(*, connection_id: int | None, source: str) -> str | None:
    """A provider said a watched calendar changed: an incremental sync of its
    integration (the inbox processors' answer: None, or IGNORED)."""
    # Imported here: the tasks module imports this one.
    from apps.integrations.tasks import calendar_sync_later

    if connection_id is None:
        return WebhookEvent.Status.IGNORED
    integration = Integration.objects.select_related("connection").filter(
        connection_id=connection_id).first()
    if integration is None or integration.connection.status != Connection.Status.CONNECTED:
        return WebhookEvent.Status.IGNORED
    # A run already going may have listed past this change: one more after it.
    busy = SyncRun.objects.filter(kind=SYNC_KIND, connection_id=connection_id,
                                  status=SyncRun.Status.RUNNING).exists()
    try:
        calendar_sync_request(integration=integration, trigger=SyncRun.Trigger.AUTOMATIC)
    except ServiceError as exc:
        logger.warning("%s notification: no sync: %s", source, exc)
        return WebhookEvent.Status.IGNORED
    if busy:
        transaction.on_commit(lambda: calendar_sync_later.apply_async(
            (integration.pk,), countdown=FOLLOW_UP_SECONDS))
    return None
