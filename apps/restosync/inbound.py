"""Inbound: a platform's booking applied to our reservations.

One entry, `remote_reservation_apply`, for the webhook processor and the
poll alike, so a change seen both ways is applied once (the second finds
nothing new). In order:

1. a status we do not know is flagged for a manager and nothing changes
   (never mapped to a default);
2. the reservation is found by the booking's mapping, else by the booking's
   `reference` (our id, which we sent as Zenchef's `externalReferenceId`);
   none: the booking is imported (a cancelled one we never had is not);
3. a state older than the one we hold (its time against the `seen_at` kept
   in the mapping) is skipped and logged `skipped`;
4. only what the platform changed since the last agreed state is applied,
   through `services.reservation_update` (which bumps the version); a
   cancel once the floor has taken over (seated, completed, no-show) is
   skipped; allergies are never dropped (the union of both sides);
5. when ours changed too since that state, nothing is applied: a core
   `Conflict` is opened with both sides and the mastering's proposal, and
   the resolver below applies the manager's choice.

`services.reservation_create` / `reservation_update` do the writing (they
upsert the customer and bump the version), called with `check_rules=False`:
the platform has already accepted the booking, whatever our hours say.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_noop

from apps.core.attention import attention_raise
from apps.core.audit import LogContext, synclog_record
from apps.core.conflicts import conflict_open, register_conflict_resolver
from apps.core.errors import ServiceError
from apps.core.models import Conflict, ExternalMapping, SyncLog
from apps.core.sync import mapping_upsert
from apps.restosync import services
from apps.restosync.mastering import (
    allergies_union,
    merged_reservation,
    platform_may_cancel,
    reservation_master,
)
from apps.restosync.models import (
    ENTITY_RESERVATION,
    DiningRoom,
    DiningService,
    DiningTable,
    Offer,
    Reservation,
    SyncPlatformConfig,
)
from apps.restosync.operations import (
    local_values,
    remote_values,
    reservation_push,
    sync_state,
    sync_state_record,
)
from apps.restosync.types import RemoteReservation, ReservationStatus

logger = logging.getLogger(__name__)

DOMAIN = "restosync"
UNKNOWN_STATUS = "restosync.unknown_status"

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"
SKIPPED = "skipped"
CONFLICT = "conflict"
FLAGGED = "flagged"
IGNORED = "ignored"

Status = Reservation.Status
# Not shown in a conflict: the contact is only a keyed hash in these values.
HIDDEN_IN_CONFLICT = ("contact",)


def _log(config: SyncPlatformConfig, *, outcome: str, status: str, external_id: str,
         reservation_id: int | None = None, reason: str = "") -> None:
    """One audit row per applied or refused booking state (not per unchanged one)."""
    synclog_record(
        platform=config.platform,
        log=LogContext(action=f"{config.platform}.inbound.{outcome}",
                       entity_type=ENTITY_RESERVATION,
                       entity_id=str(reservation_id or ""), context=external_id,
                       connection_id=config.connection_id),
        direction=SyncLog.Direction.INBOUND, status=status, error=reason)


def _remember_remote(mapping: ExternalMapping, values: dict[str, Any],
                     seen_at: datetime | None) -> None:
    """Note the platform's state as seen without claiming both sides agree
    (the local version and what we sent stay as they were)."""
    state = sync_state(mapping)
    state["remote"] = values
    if seen_at is not None:
        state["seen_at"] = seen_at.isoformat()
    mapping_upsert(entity_type=ENTITY_RESERVATION, local_id=mapping.local_id,
                   connection=mapping.connection, external_id=mapping.external_id, raw=state,
                   status=mapping.status)


def _flag_unknown_status(config: SyncPlatformConfig, remote: RemoteReservation,
                         reservation: Reservation | None) -> None:
    attention_raise(
        domain=DOMAIN, kind=UNKNOWN_STATUS, subject=reservation,
        key=f"{UNKNOWN_STATUS}:{config.connection_id}:{remote.external_id}",
        summary=gettext_noop("%(platform)s booking %(booking)s has the status %(status)s, "
                             "which the hub does not know: nothing was changed."),
        values={"platform": config.get_platform_display(), "booking": remote.external_id,
                "status": remote.raw_status or "?"},
        action_hint=gettext_noop("Check the booking on the platform and bring the reservation "
                                 "up to date by hand; report the new status to the developers."))


def _status_steps(current: str, target: str) -> list[str]:
    """The statuses to go through from `current` to `target` by the allowed
    transitions (a booking checked in and out on the platform between two
    reads is seated, then completed); empty when there is no way."""
    if target == current:
        return []
    allowed = services.TRANSITIONS.get(current, set())
    if target in allowed:
        return [target]
    if target == Status.COMPLETED and Status.SEATED in allowed:
        return [Status.SEATED, Status.COMPLETED]
    return []


def _links(restaurant_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Our service, offer, room and tables named by id in `values`, as objects
    of the restaurant (an id of another restaurant is dropped)."""
    found: dict[str, Any] = {}
    for name, model in (("service", DiningService), ("offer", Offer),
                        ("dining_room", DiningRoom)):
        if values.get(name) is not None:
            obj = model.objects.filter(pk=values[name], restaurant_id=restaurant_id).first()
            if obj is not None:
                found[name] = obj
    if values.get("tables") is not None:
        found["tables"] = list(DiningTable.objects.filter(pk__in=values["tables"],
                                                          restaurant_id=restaurant_id))
    return found


def _apply_values(reservation: Reservation, changes: dict[str, Any], *,
                  remote: RemoteReservation | None = None) -> Reservation:
    """Write `changes` (our field names, as `local_values` gives them) through
    the reservation services; the status through the allowed transitions."""
    fields: dict[str, Any] = {}
    for name in ("party_size", "duration_min", "notes"):
        if name in changes:
            fields[name] = changes[name]
    if "reservation_time" in changes:
        fields["reservation_time"] = parse_datetime(changes["reservation_time"])
    if "allergies" in changes:
        # A guest's allergy is never dropped by a sync, whichever side sent it.
        fields["allergies"] = allergies_union(reservation.allergies, changes["allergies"])
    links = _links(reservation.restaurant_id, changes)
    tables = links.pop("tables", None)
    fields.update(links)
    contact: dict[str, Any] = {}
    if changes.get("customer_name"):
        contact["customer_name"] = changes["customer_name"]
    if "contact" in changes and remote is not None:
        if remote.customer.phone:
            contact["customer_phone"] = remote.customer.phone
        if remote.customer.email:
            contact["customer_email"] = remote.customer.email
    steps = _status_steps(reservation.status, changes["status"]) if "status" in changes else []
    if "status" in changes and changes["status"] != reservation.status and not steps:
        logger.info("restosync: reservation %s cannot go from %s to %s; status left as is",
                    reservation.pk, reservation.status, changes["status"])
    if steps:
        # The other fields go with the first step; the version goes up once per step.
        fields["status"] = steps[0]
    # The caller pushes: the platform the change came from holds it already.
    reservation = services.reservation_update(reservation=reservation, tables=tables,
                                              check_rules=False, push=False, **contact,
                                              **fields)
    for status in steps[1:]:
        reservation = services.reservation_update(reservation=reservation, status=status,
                                                  check_rules=False, push=False)
    return reservation


def _import(config: SyncPlatformConfig, remote: RemoteReservation,
            values: dict[str, Any]) -> Reservation:
    links = _links(config.restaurant_id, values)
    return services.reservation_create(
        restaurant=config.restaurant, customer_name=remote.customer.name,
        customer_phone=remote.customer.phone, customer_email=remote.customer.email,
        party_size=remote.party_size, reservation_time=remote.start,
        duration_min=remote.duration_minutes, status=remote.status,
        source=config.platform if config.platform in Reservation.Source.values
        else Reservation.Source.STAFF,
        notes=remote.notes, allergies=list(remote.customer.allergies),
        service=links.get("service"), offer=links.get("offer"),
        dining_room=links.get("dining_room"), tables=links.get("tables", ()),
        check_rules=False, push=False)


def _find(config: SyncPlatformConfig, remote: RemoteReservation
          ) -> tuple[Reservation | None, ExternalMapping | None]:
    """Our reservation of this booking, locked, by mapping or by our reference."""
    # Only the rows themselves are locked (`of`), not the restaurant's or the
    # connection's: events of other reservations go on meanwhile.
    mapping = (ExternalMapping.objects.select_for_update(of=("self",))
               .select_related("connection")
               .filter(connection_id=config.connection_id, entity_type=ENTITY_RESERVATION,
                       external_id=remote.external_id).first())
    reservations = Reservation.objects.select_for_update(of=("self",)).select_related(
        "restaurant", "customer")
    if mapping is not None:
        return reservations.filter(pk=mapping.local_id).first(), mapping
    if remote.reference and remote.reference.isdigit():
        reservation = reservations.filter(pk=int(remote.reference),
                                          restaurant_id=config.restaurant_id).first()
        if reservation is not None:
            # Ours, created here, whose create answer has not been recorded yet.
            mapping = (ExternalMapping.objects.select_related("connection")
                       .filter(connection_id=config.connection_id,
                               entity_type=ENTITY_RESERVATION,
                               local_id=str(reservation.pk)).first())
            return reservation, mapping
    return None, None


def remote_reservation_apply(*, config: SyncPlatformConfig, remote: RemoteReservation,
                             event_id: str = "", seen_at: datetime | None = None) -> str:
    """Apply one booking state of `config`'s platform; returns the outcome
    (CREATED, UPDATED, UNCHANGED, SKIPPED, CONFLICT, FLAGGED or IGNORED).

    `seen_at`: when the platform said the booking was in this state (the
    event's time, the booking's update time, or when a poll read it): a
    state older than the one held is skipped.
    """
    seen_at = seen_at or remote.updated_at
    connection = config.connection
    with transaction.atomic():
        reservation, mapping = _find(config, remote)
        if not remote.status_known:
            _flag_unknown_status(config, remote, reservation)
            _log(config, outcome=FLAGGED, status=SyncLog.Status.SKIPPED,
                 external_id=remote.external_id,
                 reservation_id=reservation.pk if reservation else None,
                 reason=f"unknown status {remote.raw_status!r}")
            return FLAGGED
        values = remote_values(connection=connection, remote=remote)
        if reservation is None:
            if remote.status == ReservationStatus.CANCELLED:
                logger.info("restosync: booking %s is cancelled and was never ours; not "
                            "imported", remote.external_id)
                return IGNORED
            reservation = _import(config, remote, values)
            reservation_push(reservation=reservation, except_connection_id=config.connection_id)
            sync_state_record(connection=connection, reservation=reservation,
                              external_id=remote.external_id, remote=values, seen_at=seen_at,
                              raw_status=remote.raw_status, event_id=event_id)
            _log(config, outcome=CREATED, status=SyncLog.Status.SUCCESS,
                 external_id=remote.external_id, reservation_id=reservation.pk)
            return CREATED
        state = sync_state(mapping)
        held = parse_datetime(state.get("seen_at") or "")
        if seen_at is not None and held is not None and seen_at < held:
            _log(config, outcome=SKIPPED, status=SyncLog.Status.SKIPPED,
                 external_id=remote.external_id, reservation_id=reservation.pk,
                 reason=f"older than the state held ({seen_at.isoformat()} < "
                        f"{held.isoformat()})")
            return SKIPPED
        before = state.get("remote") or {}
        changes = {name: value for name, value in values.items()
                   if value is not None and value != before.get(name)}
        if not changes:
            return UNCHANGED
        if changes.get("status") == Status.CANCELLED and not platform_may_cancel(
                local_status=reservation.status):
            if mapping is not None:
                _remember_remote(mapping, values, seen_at)
            _log(config, outcome=SKIPPED, status=SyncLog.Status.SKIPPED,
                 external_id=remote.external_id, reservation_id=reservation.pk,
                 reason=f"platform cancel ignored: the reservation is {reservation.status}")
            return SKIPPED
        if mapping is not None and state and state.get("local_version") != reservation.version:
            ours = local_values(reservation)
            if all(ours.get(name) == value for name, value in changes.items()):
                # Both sides made the same change (the floor seated the guest,
                # the platform shows the check-in): nothing to decide. Our
                # push still records when the platform holds all of ours.
                _remember_remote(mapping, values, seen_at)
                return UNCHANGED
            _open_conflict(config, reservation, mapping, values, seen_at)
            _log(config, outcome=CONFLICT, status=SyncLog.Status.CONFLICT,
                 external_id=remote.external_id, reservation_id=reservation.pk,
                 reason="changed on both sides since the last sync")
            return CONFLICT
        version = reservation.version
        try:
            reservation = _apply_values(reservation, changes, remote=remote)
            reservation_push(reservation=reservation, except_connection_id=config.connection_id)
        except ServiceError as exc:
            # A change our rules refuse on this reservation (one cancelled
            # here takes no new time): ours stands, the refusal is logged.
            if mapping is not None:
                _remember_remote(mapping, values, seen_at)
            _log(config, outcome=SKIPPED, status=SyncLog.Status.SKIPPED,
                 external_id=remote.external_id, reservation_id=reservation.pk,
                 reason=str(exc))
            return SKIPPED
        sync_state_record(connection=connection, reservation=reservation,
                          external_id=remote.external_id, remote=values, seen_at=seen_at,
                          raw_status=remote.raw_status, event_id=event_id)
        if reservation.version == version:
            # Said differently, the same (the allergies we already had): nothing to log.
            return UNCHANGED
        _log(config, outcome=UPDATED, status=SyncLog.Status.SUCCESS,
             external_id=remote.external_id, reservation_id=reservation.pk)
        return UPDATED


def _shown(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items()
            if name not in HIDDEN_IN_CONFLICT and value is not None}


def _open_conflict(config: SyncPlatformConfig, reservation: Reservation,
                   mapping: ExternalMapping, values: dict[str, Any],
                   seen_at: datetime | None) -> Conflict:
    _remember_remote(mapping, values, seen_at)
    local = _shown(local_values(reservation))
    remote = _shown(values)
    master = reservation_master(local_status=reservation.status, platform=config.platform,
                                master_for=config.master_for or [])
    return conflict_open(domain=DOMAIN, entity_type=ENTITY_RESERVATION,
                         local_id=reservation.pk, connection=config.connection,
                         local_value=local, remote_value=remote,
                         proposed_value=merged_reservation(local=local, remote=remote,
                                                           master=master))


def reservation_conflict_resolve(conflict: Conflict, value: dict[str, Any]) -> None:
    """Apply the manager's choice (ours, theirs or the merge) to the reservation,
    then make the platform hold it: a full push unless theirs was taken."""
    config = SyncPlatformConfig.objects.select_related("restaurant", "connection").get(
        connection_id=conflict.connection_id)
    reservation = Reservation.objects.select_related("restaurant", "customer").get(
        pk=conflict.local_id)
    current = local_values(reservation)
    changes = {name: chosen for name, chosen in value.items()
               if name in current and chosen is not None and chosen != current[name]}
    if changes:
        reservation = _apply_values(reservation, changes)
    mapping = ExternalMapping.objects.select_related("connection").get(
        connection_id=conflict.connection_id, entity_type=ENTITY_RESERVATION,
        local_id=conflict.local_id)
    took_theirs = value == conflict.remote_value
    state = sync_state(mapping)
    sync_state_record(connection=config.connection, reservation=reservation,
                      external_id=mapping.external_id, remote=state.get("remote") or {},
                      seen_at=None,
                      status=ExternalMapping.Status.SYNCED if took_theirs
                      else ExternalMapping.Status.PENDING)
    if took_theirs:
        # The platform holds it already; the other platforms get it.
        reservation_push(reservation=reservation, except_connection_id=config.connection_id)
    else:
        reservation_push(reservation=reservation, cause=f"conflict-{conflict.pk}", full=True)


register_conflict_resolver(ENTITY_RESERVATION, reservation_conflict_resolve)
