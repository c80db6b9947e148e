"""What users do with the organisation's events and its integrations' settings.

Keyword-only functions that write; the API and the admin call them alike.
Every change to an event bumps its `version` (a push or an import compares
versions to tell which side is newer). Attendees are kept one row per
person, found by the blind index of their e-mail, which is stored encrypted.

Pushing a changed event to the connected calendars is the sync engine's
(it will enqueue its outbox operations here, in the same transaction): this
module sends nothing yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from apps.core.errors import ServiceError
from apps.core.fields import blind_index
from apps.integrations.calendar_sync import calendar_push_enqueue
from apps.integrations.models import Attendance, Event, Integration, Organization
from apps.integrations.outgoing_events import emit_event_created
from apps.integrations.settings_schema import (
    COMMON,
    validate_against,
    validate_notifications,
    validate_settings,
)
from apps.integrations.zoom_meetings import zoom_meeting_enqueue

# The purpose of the attendees' e-mail blind index: a hash of its own, so the
# same address hashes differently in any other column.
EMAIL_INDEX_PURPOSE = "integrations.attendance.email"
# Fields of an event a client sets (the seed's names are the API's business).
EVENT_FIELDS = ("type", "title", "description", "location", "start", "end", "time_zone",
                "is_private")
# Where the settings PUT keeps the seed's notification preferences (syncErrors,
# ...): beside the provider's settings, under a key no provider's schema has
# (Google's and Slack's settings have a `notifications` object of their own).
NOTIFICATIONS_KEY = "syncNotifications"


def email_index(email: str) -> str:
    """The look-up key of an attendee's e-mail: case and spaces do not make two people."""
    return blind_index(email.strip().lower(), purpose=EMAIL_INDEX_PURPOSE)


def _check_period(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ServiceError("invalid_period", gettext("An event ends after it starts."),
                           details={"end": [gettext("Must be after the start.")]})


def _check_open(event: Event) -> None:
    if event.cancelled_at is not None:
        raise ServiceError("event_cancelled",
                           gettext("This event is cancelled; it can no longer be changed."),
                           status=409)


def _attendees_upsert(*, event: Event, attendees: Iterable[Mapping[str, Any]],
                      replace: bool) -> None:
    """One row per e-mail (the last given wins); with `replace`, those not given go."""
    wanted: dict[str, Mapping[str, Any]] = {}
    for attendee in attendees:
        wanted[email_index(attendee["email"])] = attendee
    existing = {row.email_index: row for row in event.attendances.all()}
    now = timezone.now()
    for key, attendee in wanted.items():
        row = existing.get(key)
        if row is None:
            Attendance.objects.create(
                event=event, email=attendee["email"].strip(), email_index=key,
                name=attendee.get("name", ""),
                status=attendee.get("status") or Attendance.Status.INVITED, updated_at=now)
            continue
        changes = {"name": attendee.get("name", row.name),
                   "status": attendee.get("status") or row.status}
        if any(getattr(row, name) != value for name, value in changes.items()):
            for name, value in changes.items():
                setattr(row, name, value)
            row.updated_at = now
            row.save(update_fields=[*changes, "updated_at"])
    if replace:
        gone = [row.pk for key, row in existing.items() if key not in wanted]
        if gone:
            Attendance.objects.filter(pk__in=gone).delete()


@transaction.atomic
def event_create(*, organization: Organization, user, data: Mapping[str, Any],
                 attendees: Iterable[Mapping[str, Any]] = ()) -> Event:
    """A new event of the organisation, organised by `user`, with its attendees."""
    values = {name: data[name] for name in EVENT_FIELDS if name in data}
    _check_period(values["start"], values["end"])
    now = timezone.now()
    event = Event.objects.create(organization=organization, organizer=user, version=1,
                                 created_at=now, updated_at=now, **values)
    _attendees_upsert(event=event, attendees=attendees, replace=True)
    calendar_push_enqueue(event=event)
    zoom_meeting_enqueue(event=event)
    emit_event_created(event=event)
    return event


@transaction.atomic
def event_update(*, event: Event, user, data: Mapping[str, Any],
                 attendees: Iterable[Mapping[str, Any]] | None = None,
                 expected_version: int | None = None) -> Event:
    """Change an event (the fields given); attendees, when given, replace the list.

    `expected_version`: the version the client last read; another one means
    someone changed the event since (409, nothing written).
    """
    current = Event.objects.select_for_update().get(pk=event.pk)
    _check_open(current)
    if expected_version is not None and expected_version != current.version:
        raise ServiceError("version_conflict", gettext(
            "The event was changed since you read it (version %(current)d, not %(sent)d); "
            "read it again.") % {"current": current.version, "sent": expected_version},
            details={"version": current.version}, status=409)
    values = {name: data[name] for name in EVENT_FIELDS if name in data}
    _check_period(values.get("start", current.start), values.get("end", current.end))
    for name, value in values.items():
        setattr(current, name, value)
    if attendees is not None:
        _attendees_upsert(event=current, attendees=attendees, replace=True)
    # Bumped on every accepted change, attendees included: a calendar holds them too.
    current.version = F("version") + 1
    current.updated_at = timezone.now()
    current.save(update_fields=[*values, "version", "updated_at"])
    current.refresh_from_db()
    calendar_push_enqueue(event=current)
    return current


@transaction.atomic
def event_cancel(*, event: Event, user) -> Event:
    """Cancel (the API's DELETE): the row stays, so its links at every connected
    calendar can be cleaned up before it goes; it can no longer be changed."""
    current = Event.objects.select_for_update().get(pk=event.pk)
    _check_open(current)
    now = timezone.now()
    current.cancelled_at = now
    current.updated_at = now
    current.version = F("version") + 1
    current.save(update_fields=["cancelled_at", "updated_at", "version"])
    current.refresh_from_db()
    calendar_push_enqueue(event=current)
    return current


@transaction.atomic
def attendance_record(*, event: Event, email: str, name: str = "", status: str,
                      minutes_present: int | None = None,
                      source: str = Attendance.Source.MANUAL) -> Attendance:
    """One attendee's answer or presence, created or updated by e-mail."""
    current = Event.objects.select_for_update().get(pk=event.pk)
    _check_open(current)
    key = email_index(email)
    row = current.attendances.filter(email_index=key).first()
    now = timezone.now()
    if row is None:
        row = Attendance(event=current, email=email.strip(), email_index=key)
    wanted = {"name": name or row.name, "status": status, "source": source,
              "minutes_present": row.minutes_present if minutes_present is None
              else minutes_present}
    if row.pk is not None and all(getattr(row, field) == value
                                  for field, value in wanted.items()):
        # A re-import of the same answer changes nothing, so the calendars
        # are not sent the event again for it.
        return row
    for field, value in wanted.items():
        setattr(row, field, value)
    row.updated_at = now
    row.save()
    Event.objects.filter(pk=current.pk).update(version=F("version") + 1, updated_at=now)
    # The calendars hold each attendee's answer too.
    current.refresh_from_db()
    calendar_push_enqueue(event=current)
    return row


@transaction.atomic
def integration_settings_update(*, integration: Integration, user,
                                common: Mapping[str, Any] | None = None,
                                settings: Mapping[str, Any] | None = None,
                                notifications: Mapping[str, Any] | None = None) -> Integration:
    """The seed's PUT settings: `syncDirection`, `autoSync`, `syncInterval` (given
    at the top level), the provider's `settings` and the `notifications`
    preferences, each merged over what is stored (a key not sent is kept).

    Everything is checked before anything is written: a ValidationError names
    each wrong field by its path (`settings.eventMapping.colorId`).
    """
    current = Integration.objects.select_for_update().get(pk=integration.pk)
    errors: dict[str, Any] = {}
    checked_common: dict[str, Any] = {}
    checked_settings: dict[str, Any] = {}
    checked_notifications: dict[str, Any] = {}
    try:
        checked_common = validate_against(COMMON, common or {})
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        checked_settings = validate_settings(current.provider, settings or {})
    except ValidationError as exc:
        errors.update({f"settings.{name}": messages
                       for name, messages in exc.message_dict.items()})
    try:
        checked_notifications = validate_notifications(notifications or {})
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    merged = _merge(dict(current.settings), {**checked_settings, **checked_common})
    if checked_notifications:
        merged[NOTIFICATIONS_KEY] = _merge(dict(current.settings.get(NOTIFICATIONS_KEY) or {}),
                                           checked_notifications)
    current.settings = merged
    current.save(update_fields=["settings"])
    return current


def _merge(into: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Nested objects merged key by key; any other value (a list too) replaced."""
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), Mapping):
            into[key] = _merge(dict(into[key]), value)
        else:
            into[key] = value
    return into
