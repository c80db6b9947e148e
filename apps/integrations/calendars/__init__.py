"""The calendar adapters: one provider-neutral protocol the sync engine drives.

An adapter speaks one provider's calendar API for one integration, in our
words both ways: it lists the changes since a cursor (every event when the
cursor is empty) as pages of `RemoteEvent`s with the cursor to keep after
the last page, raising `FullSyncRequired` when the provider has forgotten
the cursor (Google's 410); it creates an event idempotently (the same event
created twice is one event at the provider), updates and deletes it; and it
opens and stops push channels. The engine (apps.integrations.calendar_sync)
decides what to do with them; the adapter only translates and calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from apps.integrations.models import Event, Integration


class FullSyncRequired(Exception):
    """The provider no longer knows the cursor: list everything again from scratch."""


@dataclass(frozen=True)
class RemoteAttendee:
    email: str
    name: str
    # Our Attendance.Status value (invited, accepted, tentative, declined).
    status: str


@dataclass(frozen=True)
class RemoteEvent:
    """An event as the provider holds it, in our words; `raw` is what it sent."""

    external_id: str
    cancelled: bool
    title: str = ""
    description: str = ""
    location: str = ""
    start: datetime | None = None
    end: datetime | None = None
    time_zone: str = ""
    is_private: bool = False
    attendees: tuple[RemoteAttendee, ...] = ()
    # Set on events we pushed: our event's id and the version we pushed,
    # read back from the provider (Google's private extended properties).
    local_id: str = ""
    local_version: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def content(self) -> dict[str, Any]:
        """What the sync compares to tell a change from an echo of our own push:
        the fields we map, not the provider's bookkeeping (etag, updated, sequence)."""
        return {
            "cancelled": self.cancelled, "title": self.title, "description": self.description,
            "location": self.location,
            "start": self.start.isoformat() if self.start else "",
            "end": self.end.isoformat() if self.end else "",
            "is_private": self.is_private,
            "attendees": sorted([attendee.email.lower(), attendee.status]
                                for attendee in self.attendees),
        }


@dataclass(frozen=True)
class ChangesPage:
    events: list[RemoteEvent]
    # The cursor to store once this page is applied: empty on every page
    # but the last (a cursor is only worth keeping once the whole list is in).
    next_cursor: str = ""


@dataclass(frozen=True)
class WatchedChannel:
    """A push channel the provider opened: its id, the resource it watches, its end."""

    channel_id: str
    resource_id: str
    expires_at: datetime | None


class CalendarAdapter(Protocol):
    """One provider's calendar API for one integration."""

    def changes(self, cursor: str) -> Iterator[ChangesPage]:
        """Pages of events changed since `cursor` (all of them when it is empty)."""

    def create(self, event: Event) -> RemoteEvent:
        """Create `event` at the provider; creating it again gives the same event back."""

    def update(self, event: Event, external_id: str) -> RemoteEvent:
        """Write `event` over the provider's event `external_id`."""

    def delete(self, external_id: str) -> None:
        """Delete the provider's event; one already gone is no error."""

    def accepts(self, event: Event) -> bool:
        """Whether the integration's filters let `event` out to this calendar."""

    def watch(self, *, channel_id: str, address: str, token: str,
              ttl_seconds: int) -> WatchedChannel:
        """Ask the provider to notify `address` of changes to the calendar."""

    def stop(self, *, channel_id: str, resource_id: str) -> None:
        """Stop a push channel; one already gone is no error."""


def adapter_for(integration: Integration) -> CalendarAdapter:
    """The calendar adapter of a calendar integration."""
    if integration.provider == Integration.Provider.GOOGLE:
        from apps.integrations.calendars.google import GoogleCalendar

        return GoogleCalendar(integration)
    if integration.provider == Integration.Provider.MICROSOFT:
        from apps.integrations.calendars.microsoft import MicrosoftCalendar

        return MicrosoftCalendar(integration)
    raise ValueError(f"no calendar adapter for {integration.provider}")
