"""The interface every platform connector offers the sync engine.

Required operations are what the engine cannot work without (the seed's
`PlatformConnector`): authenticate, create, update and cancel a
reservation, read availability, the generic `sync_entity` and
`parse_webhook`. Everything else is optional and declared as a
`Capability`: the engine asks `connector.supports(...)` before relying on
one, and calling one the platform lacks raises `NotSupported` naming the
platform and the capability, never an AttributeError, because the
protocol's own bodies stand in for the missing methods.

Connectors subclass `PlatformConnector` explicitly (so they inherit those
bodies); a required operation left out makes the class abstract, so it
cannot even be built, and `get_connector` checks that each declared
capability has its method, so a declaration cannot promise what the code
does not do.
"""

from __future__ import annotations

import copy
from abc import abstractmethod
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

from django.utils.translation import gettext

from apps.core.http import PermanentError
from apps.restosync.types import (
    AuditScope,
    AvailabilitySlot,
    ChangedReservations,
    PlatformEvent,
    RemoteArea,
    RemoteReservation,
    RemoteTable,
    ReservationData,
    SyncResult,
)


class Capability(StrEnum):
    """An optional operation, and the method that performs it."""

    GET_RESERVATION = "get_reservation"
    FIND_BY_REFERENCE = "find_by_reference"
    LIST_CHANGED = "list_changed"
    CHECK_IN = "check_in"
    CHECK_OUT = "check_out"
    TABLES = "list_tables"
    AREAS = "list_areas"

    @property
    def method(self) -> str:
        return self.value


class NotSupported(PermanentError):
    """The platform has no such operation: asking again will not help."""

    def __init__(self, platform: str, capability: str) -> None:
        super().__init__(
            gettext("%(platform)s does not support %(capability)s.")
            % {"platform": platform, "capability": capability},
            platform=platform)
        self.capability = capability


class ToggleStateUnknown(PermanentError):
    """A toggle (check-in, check-out) whose current state cannot be read after
    a call of unknown outcome: calling it again might undo it, so a manager
    looks on the platform instead."""


@runtime_checkable
class PlatformConnector(Protocol):
    platform: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def audited(self, scope: AuditScope) -> Self:
        """This connector with the engine's audit context on every exchange it
        makes (the connector itself is left as it was)."""
        clone = copy.copy(self)
        clone.audit_scope = scope
        return clone

    # -- required -------------------------------------------------------------------
    @abstractmethod
    def authenticate(self) -> None:
        """Prove the credentials work (one cheap authenticated call); raises
        PermanentError when the platform refuses them."""
        ...

    @abstractmethod
    def create_reservation(self, data: ReservationData, *, reconcile: bool = False
                           ) -> SyncResult:
        """Create the booking. With `reconcile` (a retry after an unknown
        outcome) a connector that can find a booking by our reference looks
        it up first and returns it (`existed=True`) instead of creating a
        second one."""
        ...

    @abstractmethod
    def update_reservation(self, external_id: str, data: ReservationData, *,
                           previous: ReservationData | None = None) -> SyncResult:
        """Send what changed since `previous` (all of `data` when None)."""
        ...

    @abstractmethod
    def cancel_reservation(self, external_id: str, *, reason: str = "") -> None: ...

    @abstractmethod
    def get_availability(self, *, day: date, party_size: int,
                         offer_external_id: str | None = None) -> list[AvailabilitySlot]: ...

    @abstractmethod
    def sync_entity(self, entity_type: str, data: Any, *, external_id: str | None = None
                    ) -> SyncResult:
        """The generic fallback: push one entity of `entity_type`; NotSupported
        for a type the platform does not take."""
        ...

    @abstractmethod
    def parse_webhook(self, *, headers: Mapping[str, str], payload: dict[str, Any]
                      ) -> PlatformEvent:
        """Read an event the inbox has already verified and stored."""
        ...

    # -- optional (Capability) --------------------------------------------------------
    def get_reservation(self, external_id: str) -> RemoteReservation:
        raise NotSupported(self.platform, Capability.GET_RESERVATION)

    def find_by_reference(self, reference: str) -> RemoteReservation | None:
        raise NotSupported(self.platform, Capability.FIND_BY_REFERENCE)

    def list_changed(self, *, since: datetime | None = None,
                     lookback: timedelta = timedelta(0)) -> ChangedReservations:
        raise NotSupported(self.platform, Capability.LIST_CHANGED)

    def check_in(self, external_id: str, *, reconcile: bool = False) -> RemoteReservation:
        raise NotSupported(self.platform, Capability.CHECK_IN)

    def check_out(self, external_id: str, *, reconcile: bool = False) -> RemoteReservation:
        raise NotSupported(self.platform, Capability.CHECK_OUT)

    def list_tables(self) -> list[RemoteTable]:
        raise NotSupported(self.platform, Capability.TABLES)

    def list_areas(self) -> list[RemoteArea]:
        raise NotSupported(self.platform, Capability.AREAS)


def capabilities_without_method(connector: PlatformConnector) -> list[str]:
    """Capabilities declared without their method (the protocol's stand-in)."""
    return [capability.value for capability in connector.capabilities
            if getattr(type(connector), capability.method)
            is getattr(PlatformConnector, capability.method)]
