"""Outbound: a reservation's changes pushed to its platforms through the core outbox.

`reservation_push` enqueues one operation per active configuration of the
reservation's restaurant that syncs reservations and is not their master,
in the caller's transaction. Operations of one reservation on one platform
run in order, and a newer change retires a pending one (`supersedes`):
only the newest state needs sending.

The handler sends the reservation as it is when it runs: a create when the
platform has no booking for it yet (with `reconcile`, a look-up by our
reference first, so a lost answer never becomes a second booking), else a
partial update of what changed since the state last agreed on; then the
status: `cancelled` and `no_show` cancel, `seated` checks in, `completed`
checks out (the connector reads a toggle's state before calling it, so a
redelivered operation never undoes it).

What both sides last agreed on lives in the reservation's core
`ExternalMapping.raw` (`sync_state`): the platform's values in our words,
the local version they match, what we last sent, and when the platform's
state was seen. The guest's phone and e-mail are kept there only as keyed
hashes: the mapping table is not encrypted. The mapping's status is what a
manager's "platforms" badge and the API's `sync` list show: `pending` from
the moment a push of ours is queued for that platform until one succeeds
(failing and dead ones included), `synced` once the platform holds ours,
`conflict` until a manager settles it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.core.http import PlatformError
from apps.core.models import Connection, ExternalMapping, OutboundOperation
from apps.core.operations import (
    BLOCKING_STATES,
    Done,
    RetrySchedule,
    operation_enqueue,
    operation_handler,
    operation_run,
)
from apps.core.sync import mapping_find_local, mapping_find_locals, mapping_get, mapping_upsert
from apps.restosync import services
from apps.restosync.connectors import Capability, get_connector
from apps.restosync.mastering import SELF, reservation_master
from apps.restosync.models import (
    ENTITY_OFFER,
    ENTITY_RESERVATION,
    ENTITY_ROOM,
    ENTITY_SERVICE,
    ENTITY_TABLE,
    Customer,
    Reservation,
    SyncPlatformConfig,
)
from apps.restosync.selectors import (
    connector_config,
    platform_configs_active,
    reservation_data,
)
from apps.restosync.types import (
    AuditScope,
    CustomerData,
    RemoteReservation,
    ReservationData,
    ReservationStatus,
)

logger = logging.getLogger(__name__)

PUSH_RESERVATION = "restosync.reservation.push"
# The schedule: 1 min, 5 min, 30 min, 2 h, 8 h, then dead (and an
# attention item, the outbox's own).
PUSH_RETRY = RetrySchedule(delays=(60, 300, 1800, 7200, 28800))
# The outbox's entity of a push: a reservation on one connection, so the
# pushes to two platforms neither wait for nor supersede each other.
PUSH_ENTITY = "restosync.reservation"

Status = ReservationStatus
CANCELLING = frozenset({Status.CANCELLED, Status.NO_SHOW})


# -- what both sides last agreed on ----------------------------------------------------

def contact_digest(phone: str, email: str) -> str:
    """The guest's contact as keyed hashes: a change shows, the values do not."""
    return f"{Customer.phone_index_for(phone)}:{Customer.email_index_for(email)}"


def local_values(reservation: Reservation) -> dict[str, Any]:
    """The reservation in the shape a conflict shows and a resolver applies (JSON)."""
    return {
        "reservation_time": reservation.reservation_time.astimezone(UTC).isoformat(),
        "duration_min": reservation.duration_min,
        "party_size": reservation.party_size,
        "status": reservation.status,
        "notes": reservation.notes,
        "allergies": list(reservation.allergies),
        "customer_name": reservation.customer.name,
        "contact": contact_digest(reservation.customer.phone, reservation.customer.email),
        "service": reservation.service_id,
        "offer": reservation.offer_id,
        "dining_room": reservation.dining_room_id,
        "tables": sorted(table.pk for table in reservation.tables.all()),
    }


def remote_values(*, connection: Connection, remote: RemoteReservation) -> dict[str, Any]:
    """A platform's booking in the same shape, its ids turned into ours.

    A field the platform did not send is None; so is a room, service or
    offer it names that we have no mapping for, and the tables when one of
    them is unmapped (applying only some would drop our others): each is
    logged, and left out of what is applied.
    """
    def local(entity: str, external: str | None) -> int | None:
        if not external:
            return None
        found = mapping_find_local(connection=connection, external_id=external,
                                   entity_type=entity)
        if found is None:
            logger.info("restosync: %s %s of booking %s has no mapping; left out",
                        entity, external, remote.external_id)
        return int(found) if found is not None else None

    tables: list[int] | None = None
    if remote.table_external_ids:
        found = mapping_find_locals(connection=connection,
                                    external_ids=list(remote.table_external_ids),
                                    entity_type=ENTITY_TABLE)
        missing = [ext for ext in remote.table_external_ids if ext not in found]
        if missing:
            logger.info("restosync: tables %s of booking %s have no mapping; tables left out",
                        ", ".join(missing), remote.external_id)
        else:
            tables = sorted(int(found[ext]) for ext in remote.table_external_ids)
    return {
        "reservation_time": (remote.start.astimezone(UTC).isoformat()
                             if remote.start else None),
        "duration_min": remote.duration_minutes,
        "party_size": remote.party_size,
        "status": remote.status,
        "notes": remote.notes,
        "allergies": list(remote.customer.allergies),
        "customer_name": remote.customer.name or None,
        "contact": contact_digest(remote.customer.phone, remote.customer.email),
        "service": local(ENTITY_SERVICE, remote.service_external_id),
        "offer": local(ENTITY_OFFER, remote.offer_external_id),
        "dining_room": local(ENTITY_ROOM, remote.area_external_id),
        "tables": tables,
    }


def _data_json(data: ReservationData) -> dict[str, Any]:
    return {
        "reference": data.reference, "party_size": data.party_size,
        "start": data.start.isoformat(), "status": str(data.status), "adults": data.adults,
        "children": data.children, "duration_minutes": data.duration_minutes,
        "customer_name": data.customer.name,
        "contact": contact_digest(data.customer.phone, data.customer.email),
        "allergies": list(data.customer.allergies), "notes": data.notes,
        "dietary_restrictions": list(data.dietary_restrictions), "occasion": data.occasion,
        "service_external_id": data.service_external_id,
        "offer_external_id": data.offer_external_id,
        "area_external_id": data.area_external_id,
        "table_external_ids": list(data.table_external_ids),
    }


# What a contact we no longer know is compared with: never equal to a real one.
_CHANGED = "\x00changed"


def sent_data(state: dict[str, Any], current: ReservationData) -> ReservationData | None:
    """What we last sent, from the mapping's state; the contact is the current
    one when its hash matches, else a value that differs, so it is sent."""
    sent = state.get("sent")
    if not isinstance(sent, dict):
        return None
    same_contact = sent.get("contact") == contact_digest(current.customer.phone,
                                                         current.customer.email)
    customer = CustomerData(
        name=sent.get("customer_name", ""),
        phone=current.customer.phone if same_contact else _CHANGED,
        email=current.customer.email if same_contact else _CHANGED,
        allergies=tuple(sent.get("allergies") or ()))
    return ReservationData(
        reference=sent["reference"], party_size=sent["party_size"],
        start=parse_datetime(sent["start"]), status=Status(sent["status"]),
        adults=sent.get("adults"), children=sent.get("children"),
        duration_minutes=sent.get("duration_minutes"), customer=customer,
        notes=sent.get("notes", ""),
        dietary_restrictions=tuple(sent.get("dietary_restrictions") or ()),
        occasion=sent.get("occasion", ""),
        service_external_id=sent.get("service_external_id"),
        offer_external_id=sent.get("offer_external_id"),
        area_external_id=sent.get("area_external_id"),
        table_external_ids=tuple(sent.get("table_external_ids") or ()))


def sync_state(mapping: ExternalMapping | None) -> dict[str, Any]:
    return dict(mapping.raw) if mapping is not None and isinstance(mapping.raw, dict) else {}


def push_entity(*, connection_id: int, reservation_id: int) -> str:
    """The outbox's entity of the pushes of one reservation to one connection."""
    return f"{connection_id}:{reservation_id}"


def push_waiting(*, connection_id: int, reservation_id: int,
                 except_operation_id: int | None = None,
                 newer_than: int | None = None) -> bool:
    """Whether a push of this reservation to this connection has not reached
    the platform yet: queued, running, failing, or dead until a manager acts.
    `newer_than`: only one of a later version than that (an older one has
    nothing to send that the platform does not hold)."""
    waiting = (OutboundOperation.objects
               .filter(kind=PUSH_RESERVATION, entity_type=PUSH_ENTITY,
                       entity_id=push_entity(connection_id=connection_id,
                                             reservation_id=reservation_id),
                       state__in=BLOCKING_STATES)
               .exclude(pk=except_operation_id))
    if newer_than is not None:
        waiting = waiting.filter(payload__version__gt=newer_than)
    return waiting.exists()


def sync_state_record(*, connection: Connection, reservation: Reservation, external_id: str,
                      remote: dict[str, Any], seen_at: datetime | None, raw_status: str = "",
                      event_id: str = "",
                      status: str = ExternalMapping.Status.SYNCED,
                      operation_id: int | None = None) -> ExternalMapping:
    """Both sides agree now: the platform's values, the local version they
    match, what the platform holds of ours (the next update's base).

    `operation_id`: the push recording its success. A push of a later
    version still on its way to this platform (changed again while this one
    was sent) keeps the mapping `pending`: the platform does not hold that
    change yet.
    """
    mapping = mapping_get(entity_type=ENTITY_RESERVATION, local_id=reservation.pk,
                          connection=connection)
    if mapping is not None and mapping.status == ExternalMapping.Status.CONFLICT:
        # A conflict opened while our push was on its way stays open: only
        # its resolution closes it.
        status = ExternalMapping.Status.CONFLICT
    elif status == ExternalMapping.Status.SYNCED and push_waiting(
            connection_id=connection.pk, reservation_id=reservation.pk,
            except_operation_id=operation_id, newer_than=reservation.version):
        status = ExternalMapping.Status.PENDING
    previous = sync_state(mapping)
    held = parse_datetime(previous.get("seen_at") or "")
    if seen_at is None or (held is not None and held > seen_at):
        seen_at = held
    state = {
        "remote": remote,
        "remote_status": raw_status,
        "local_version": reservation.version,
        "sent": _data_json(reservation_data(reservation, connection=connection)),
        "seen_at": seen_at.isoformat() if seen_at else None,
        "event_id": event_id,
    }
    return mapping_upsert(entity_type=ENTITY_RESERVATION, local_id=reservation.pk,
                          connection=connection, external_id=external_id, raw=state,
                          status=status)


# -- enqueuing -------------------------------------------------------------------------

def push_targets(*, reservation: Reservation) -> list[SyncPlatformConfig]:
    """The configurations this reservation's changes go to: active, syncing
    reservations, and not their master (a seated, completed or no-show
    reservation is always ours, so it goes to every one)."""
    return [config for config in platform_configs_active(restaurant=reservation.restaurant)
            if ENTITY_RESERVATION in (config.sync_entities or [])
            and reservation_master(local_status=reservation.status, platform=config.platform,
                                   master_for=config.master_for or []) == SELF]


def reservation_push(*, reservation: Reservation, cause: str = "change",
                     full: bool = False,
                     except_connection_id: int | None = None) -> list[OutboundOperation]:
    """Enqueue the push of the reservation's current version to each target
    platform; call it in the transaction that changed the reservation.

    `cause` tells apart pushes of one version (a conflict resolved in our
    favour sends the same version again); `full` sends every field rather
    than what changed since the last agreed state (the platform's own
    changes are then overwritten). `except_connection_id`: the platform the
    change came from, which holds it already.
    """
    operations = []
    for config in push_targets(reservation=reservation):
        if config.connection_id == except_connection_id:
            continue
        operation, _created = operation_enqueue(
            platform=config.platform, kind=PUSH_RESERVATION, connection=config.connection,
            idempotency_key=(f"restosync.push:{config.connection_id}:{reservation.pk}:"
                             f"v{reservation.version}:{cause}"),
            payload={"reservation_id": reservation.pk, "config_id": config.pk,
                     "version": reservation.version, "full": full},
            entity_type=PUSH_ENTITY,
            entity_id=push_entity(connection_id=config.connection_id,
                                  reservation_id=reservation.pk),
            supersedes=True)
        operations.append(operation)
    # Until the push succeeds the platform does not hold this version: its
    # mapping says so (a conflict stays one; a key enqueued again whose push
    # is over changes nothing). One UPDATE for every platform.
    waiting = [operation.connection_id for operation in operations
               if operation.state in OutboundOperation.OPEN_STATES]
    if waiting:
        ExternalMapping.objects.filter(
            entity_type=ENTITY_RESERVATION, local_id=str(reservation.pk),
            connection_id__in=waiting, status=ExternalMapping.Status.SYNCED,
        ).update(status=ExternalMapping.Status.PENDING)
    return operations


# -- sending ---------------------------------------------------------------------------

def _unmapped(reservation: Reservation, data: ReservationData) -> list[str]:
    """Our links the platform has no id for: left out of the request."""
    missing = [name for name, local, external in (
        (ENTITY_SERVICE, reservation.service_id, data.service_external_id),
        (ENTITY_OFFER, reservation.offer_id, data.offer_external_id),
        (ENTITY_ROOM, reservation.dining_room_id, data.area_external_id),
    ) if local is not None and external is None]
    if len(data.table_external_ids) < len(reservation.tables.all()):
        missing.append(ENTITY_TABLE)
    return missing


@operation_handler(PUSH_RESERVATION, retry_schedule=PUSH_RETRY, supersedes=True)
def reservation_push_send(operation: OutboundOperation, *, reconcile: bool) -> Done:
    config = (SyncPlatformConfig.objects.select_related("restaurant", "connection")
              .filter(pk=operation.payload["config_id"]).first())
    reservation = (Reservation.objects.with_links()
                   .filter(pk=operation.payload["reservation_id"]).first())
    if config is None or reservation is None:
        return Done({"skipped": "the reservation or its platform configuration was deleted"})
    connection = config.connection
    if not config.is_active or config not in push_targets(reservation=reservation):
        # Switched off, or the platform became master, since the change:
        # nothing of ours is on its way there any more.
        _settle_skipped(connection=connection, reservation=reservation,
                        operation_id=operation.pk)
        return Done({"skipped": "no longer pushed to this platform"})
    mapping = mapping_get(entity_type=ENTITY_RESERVATION, local_id=reservation.pk,
                          connection=connection)
    if mapping is not None and mapping.status == ExternalMapping.Status.CONFLICT:
        # Sending ours now would decide the conflict before the manager does;
        # its resolution pushes the chosen state.
        return Done({"skipped": "a conflict is open"})
    data = reservation_data(reservation, connection=connection)
    unmapped = _unmapped(reservation, data)
    for entity in unmapped:
        logger.info("restosync: reservation %s: its %s has no %s mapping; left out",
                    reservation.pk, entity, config.platform)
    connector = get_connector(connector_config(config)).audited(AuditScope(
        entity_id=str(reservation.pk), operation_id=operation.pk,
        secrets=(reservation.customer.phone, reservation.customer.email)))
    # A retry may follow an attempt that reached the platform: check first.
    reconcile = reconcile or operation.attempts > 1
    try:
        external_id, remote, action = _send(connector, reservation, data, mapping,
                                            reconcile=reconcile,
                                            full=bool(operation.payload.get("full")))
    except PlatformError as exc:
        services.platform_config_record_sync(config=config, error=str(exc))
        raise
    result: dict[str, Any] = {"external_id": external_id, "action": action,
                              "version": reservation.version, "unmapped": unmapped}
    if external_id:
        # Without an answer (no call was needed, or a cancel's empty one) the
        # platform's values are those last seen; replacing them with ours
        # would make the next read look like a change there.
        values = (remote_values(connection=connection, remote=remote) if remote is not None
                  else sync_state(mapping).get("remote") or local_values(reservation))
        sync_state_record(connection=connection, reservation=reservation,
                          external_id=external_id, remote=values, seen_at=None,
                          raw_status=remote.raw_status if remote is not None else "",
                          operation_id=operation.pk)
    else:
        # Nothing to send (a cancel of a booking the platform never had).
        _settle_skipped(connection=connection, reservation=reservation,
                        operation_id=operation.pk)
    services.platform_config_record_sync(config=config)
    return Done(result)


def _settle_skipped(*, connection: Connection, reservation: Reservation,
                    operation_id: int) -> None:
    """A push that ended without sending anything: its mapping no longer
    waits for it, unless another push of ours does."""
    if push_waiting(connection_id=connection.pk, reservation_id=reservation.pk,
                    except_operation_id=operation_id):
        return
    ExternalMapping.objects.filter(
        entity_type=ENTITY_RESERVATION, local_id=str(reservation.pk), connection=connection,
        status=ExternalMapping.Status.PENDING,
    ).update(status=ExternalMapping.Status.SYNCED)


def _send(connector, reservation: Reservation, data: ReservationData,
          mapping: ExternalMapping | None, *, reconcile: bool, full: bool
          ) -> tuple[str, RemoteReservation | None, str]:
    """Make the platform hold `data`: (its booking id, its booking as answered, what was done)."""
    status = Status(reservation.status)
    external_id = mapping.external_id if mapping is not None else ""
    if status in CANCELLING:
        if not external_id and reconcile and connector.supports(Capability.FIND_BY_REFERENCE):
            found = connector.find_by_reference(data.reference)
            external_id = found.external_id if found is not None else ""
        if not external_id:
            # The platform never had it: nothing to cancel there.
            return "", None, "none"
        previous = sent_data(sync_state(mapping), data)
        if previous is not None and previous.status in CANCELLING and not reconcile:
            return external_id, None, "none"
        connector.cancel_reservation(external_id, reason=status.value)
        return external_id, None, "cancel"
    if not external_id:
        created = connector.create_reservation(data, reconcile=reconcile)
        external_id, remote = created.external_id, created.reservation
        action = "found" if created.existed else "create"
        previous = None
    else:
        previous = None if full else sent_data(sync_state(mapping), data)
        updated = connector.update_reservation(external_id, data, previous=previous)
        remote, action = updated.reservation, "update"
    if previous is not None and previous.status == status and not reconcile:
        # The platform has this status already (it or we set it): no toggle.
        return external_id, remote, action
    toggle = {Status.SEATED: Capability.CHECK_IN,
              Status.COMPLETED: Capability.CHECK_OUT}.get(status)
    if toggle is not None:
        if connector.supports(toggle):
            method = getattr(connector, toggle.method)
            remote = method(external_id, reconcile=reconcile)
            action = f"{action}+{toggle.value}"
        else:
            logger.info("restosync: %s has no %s; reservation %s stays %s there",
                        connector.platform, toggle.value, reservation.pk,
                        previous.status if previous else "as created")
    return external_id, remote, action


# -- "retry now" -----------------------------------------------------------------------

WAITING = (OutboundOperation.State.PENDING, OutboundOperation.State.FAILED,
           OutboundOperation.State.UNKNOWN)


def push_retries_pending() -> int:
    """Pushes not done yet: waiting for their first run or for a retry."""
    return OutboundOperation.objects.filter(kind=PUSH_RESERVATION, state__in=WAITING).count()


def push_retries_run(*, limit: int = 200) -> int:
    """Run the failed pushes now rather than at their scheduled retry (a
    manager's "retry now", once the platform is back); how many ran.

    Each keeps its turn: one waiting for an older push of its reservation is
    left to it (the outbox's claim refuses it).
    """
    waiting = list(OutboundOperation.objects.filter(
        kind=PUSH_RESERVATION, state__in=WAITING[1:]).order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit])
    # Due now: the claim takes only due operations.
    OutboundOperation.objects.filter(pk__in=waiting, state__in=WAITING[1:]).update(
        next_attempt_at=timezone.now())
    return sum(1 for pk in waiting if operation_run(pk) is not None)
