"""The settings an integration takes, per provider, as the seed documents them.

`validate_settings(provider, settings)` checks a provider's `settings`
object (the one stored on `Integration.settings`) and returns it normalised
(defaults are not invented: only what was sent is kept). An unknown key or a
value of the wrong type is refused with a `ValidationError` naming the
field by its dotted path (`eventMapping.colorId`), so the API answers 400
naming it and `connect_start` refuses the same things.

The keys are the seed's, camelCase as a client sends them:

- every provider: `syncDirection`, `autoSync`, `syncInterval` (the seed sends
  them inside `settings` on connect and at the top level on PUT settings;
  both land here);
- Google: `calendarId`, `eventPrefix`, `includeDescription`,
  `syncPrivateEvents`, `eventMapping` {titlePrefix, includeAttendees,
  includeDescription, includeLocation, colorId}, `filters` {eventTypes,
  excludePrivate, minDuration}, `notifications` {reminders, reminderMinutes};
- Microsoft: the same flat calendar keys, `teamsIntegration` {enabled,
  autoCreateMeetings, defaultMeetingSettings {allowAnonymous,
  recordAutomatically, allowTranscription}}, `outlookSettings`
  {categoryColor, importance, showAs};
- Slack: `webhookUrl`, `defaultChannel`, `notificationTypes`, `channels`
  {default, alerts, reports}, `messageTemplates` {eventReminder,
  attendanceAlert, weeklyReport}, `userMentions` {enabled, mentionManagers,
  mentionOrganizers}, `notifications` {eventReminders, attendanceAlerts,
  weeklyReports};
- Zoom: `autoCreateMeetings`, `meetingDefaults` {type, duration, timezone,
  password, waitingRoom, joinBeforeHost, muteUponEntry, recordingSettings
  {autoRecording, recordingAuthentication}}, `attendanceTracking` {enabled,
  syncAttendance, minimumDuration}.

Enumerations are the providers' own values where the seed borrows them
(Graph `importance` low/normal/high and `showAs` free/tentative/busy/oof/
workingElsewhere/unknown; Zoom `auto_recording` local/cloud/none; Google
`colorId` "1".."11"), checked here so a value the provider would refuse is
refused before anything is sent.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.integrations.models import Event, Integration

SYNC_DIRECTIONS = ("bidirectional", "attendance_to_external", "external_to_attendance")
# The seed's example is 300 s and 600 s. A sync more often than every minute
# would spend the providers' quotas on nothing (Google counts per minute per
# user); more than a day apart is no longer a sync.
SYNC_INTERVAL_MIN = 60
SYNC_INTERVAL_MAX = 86_400
SLACK_NOTIFICATION_TYPES = ("event_reminders", "attendance_alerts", "system_notifications",
                            "weekly_reports")
# Google Calendar's event colours are "1" to "11" (GET /colors, `event` palette).
GOOGLE_COLOR_IDS = tuple(str(n) for n in range(1, 12))
# Microsoft Graph event `importance` and `showAs` (freeBusyStatus) values.
GRAPH_IMPORTANCE = ("low", "normal", "high")
GRAPH_SHOW_AS = ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown")
# Outlook's preset category colours are named by the user; the seed's "blue"
# style names are the preset colour families.
OUTLOOK_CATEGORY_COLORS = ("red", "orange", "brown", "yellow", "green", "teal", "olive", "blue",
                           "purple", "cranberry", "steel", "darksteel", "gray", "darkgray",
                           "black", "darkred", "darkorange", "darkbrown", "darkyellow",
                           "darkgreen", "darkteal", "darkolive", "darkblue", "darkpurple",
                           "darkcranberry", "none")
# Zoom meeting `type` by name (2 scheduled, 3 recurring with no fixed time,
# 8 recurring with a fixed time); an instant meeting (1) is never made for an event.
ZOOM_MEETING_TYPES = ("scheduled", "recurring_no_fixed_time", "recurring_fixed_time")
ZOOM_AUTO_RECORDING = ("local", "cloud", "none")
# A Slack channel as configured: "#name" (lower case, digits, - and _, up to
# 80 characters) or a conversation id (C…, G…).
SLACK_CHANNEL = re.compile(r"^(#[a-z0-9][a-z0-9_\-]{0,79}|[CG][A-Z0-9]{6,})$")
# Slack incoming webhooks live on hooks.slack.com.
SLACK_WEBHOOK_PREFIX = "https://hooks.slack.com/"


@dataclass(frozen=True)
class Field:
    """One key: a check of its value (raising ValidationError) or a nested schema."""

    check: Callable[[Any], Any] | None = None
    nested: Mapping[str, Field] | None = None


def _fail(message: str) -> None:
    raise ValidationError(message)


def boolean(value: Any) -> bool:
    # JSON true/false only: "yes" or 1 is a client's mistake we would hide.
    if not isinstance(value, bool):
        _fail(gettext("Must be true or false."))
    return value


def integer(minimum: int, maximum: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(gettext("Must be a whole number."))
        if not minimum <= value <= maximum:
            _fail(gettext("Must be between %(min)d and %(max)d.")
                  % {"min": minimum, "max": maximum})
        return value

    return check


def text(max_length: int, *, blank: bool = True) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            _fail(gettext("Must be a string."))
        if not blank and not value.strip():
            _fail(gettext("May not be blank."))
        if len(value) > max_length:
            _fail(gettext("At most %(max)d characters.") % {"max": max_length})
        return value

    return check


def choice(values: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in values:
            _fail(gettext("Must be one of: %(values)s.") % {"values": ", ".join(values)})
        return value

    return check


def list_of(item: Callable[[Any], Any], *, max_items: int = 50,
            unique: bool = True) -> Callable[[Any], list]:
    def check(value: Any) -> list:
        if not isinstance(value, list):
            _fail(gettext("Must be a list."))
        if len(value) > max_items:
            _fail(gettext("At most %(max)d items.") % {"max": max_items})
        items = []
        for index, element in enumerate(value):
            try:
                items.append(item(element))
            except ValidationError as exc:
                _fail(gettext("Item %(index)d: %(error)s")
                      % {"index": index, "error": " ".join(exc.messages)})
        if unique and len(set(map(repr, items))) != len(items):
            _fail(gettext("Items must not repeat."))
        return items

    return check


def slack_channel(value: Any) -> str:
    value = text(81, blank=False)(value)
    if not SLACK_CHANNEL.match(value):
        _fail(gettext('A channel is "#name" (lower case, digits, - and _) or a channel id.'))
    return value


def slack_webhook_url(value: Any) -> str:
    value = text(500, blank=False)(value)
    URLValidator(schemes=["https"], message=gettext("Must be an https URL."))(value)
    if not value.startswith(SLACK_WEBHOOK_PREFIX):
        _fail(gettext("A Slack incoming webhook URL starts with %(prefix)s.")
              % {"prefix": SLACK_WEBHOOK_PREFIX})
    return value


def time_zone(value: Any) -> str:
    value = text(64, blank=False)(value)
    if value not in zoneinfo.available_timezones():
        _fail(gettext("Not a time zone of the IANA database (Europe/Paris, ...)."))
    return value


def message_template(value: Any) -> str:
    # Slack's chat.postMessage takes up to 40,000 characters; a template is a
    # line or two with placeholders, and a long one is a pasting mistake.
    return text(2000, blank=False)(value)


COMMON = {
    "syncDirection": Field(choice(SYNC_DIRECTIONS)),
    "autoSync": Field(boolean),
    "syncInterval": Field(integer(SYNC_INTERVAL_MIN, SYNC_INTERVAL_MAX)),
}
CALENDAR = {
    **COMMON,
    # "primary" or a calendar's id (an e-mail-like id at Google, an opaque id at Graph).
    "calendarId": Field(text(255, blank=False)),
    "eventPrefix": Field(text(50)),
    "includeDescription": Field(boolean),
    "syncPrivateEvents": Field(boolean),
}
GOOGLE = {
    **CALENDAR,
    "eventMapping": Field(nested={
        "titlePrefix": Field(text(50)),
        "includeAttendees": Field(boolean),
        "includeDescription": Field(boolean),
        "includeLocation": Field(boolean),
        "colorId": Field(choice(GOOGLE_COLOR_IDS)),
    }),
    "filters": Field(nested={
        "eventTypes": Field(list_of(choice(tuple(Event.Type.values)), max_items=10)),
        "excludePrivate": Field(boolean),
        # Minutes; a day is the longest event a filter on length makes sense for.
        "minDuration": Field(integer(0, 1440)),
    }),
    "notifications": Field(nested={
        "reminders": Field(boolean),
        # Google Calendar accepts reminders 0 to 40,320 minutes (4 weeks) ahead, 5 at most.
        "reminderMinutes": Field(list_of(integer(0, 40_320), max_items=5)),
    }),
}
MICROSOFT = {
    **CALENDAR,
    "teamsIntegration": Field(nested={
        "enabled": Field(boolean),
        "autoCreateMeetings": Field(boolean),
        "defaultMeetingSettings": Field(nested={
            "allowAnonymous": Field(boolean),
            "recordAutomatically": Field(boolean),
            "allowTranscription": Field(boolean),
        }),
    }),
    "outlookSettings": Field(nested={
        "categoryColor": Field(choice(OUTLOOK_CATEGORY_COLORS)),
        "importance": Field(choice(GRAPH_IMPORTANCE)),
        "showAs": Field(choice(GRAPH_SHOW_AS)),
    }),
}
SLACK = {
    **COMMON,
    "webhookUrl": Field(slack_webhook_url),
    "defaultChannel": Field(slack_channel),
    "notificationTypes": Field(list_of(choice(SLACK_NOTIFICATION_TYPES), max_items=10)),
    "channels": Field(nested={
        "default": Field(slack_channel),
        "alerts": Field(slack_channel),
        "reports": Field(slack_channel),
    }),
    "messageTemplates": Field(nested={
        "eventReminder": Field(message_template),
        "attendanceAlert": Field(message_template),
        "weeklyReport": Field(message_template),
    }),
    "userMentions": Field(nested={
        "enabled": Field(boolean),
        "mentionManagers": Field(boolean),
        "mentionOrganizers": Field(boolean),
    }),
    # The seed's Slack example sends these inside `settings`.
    "notifications": Field(nested={
        "eventReminders": Field(boolean),
        "attendanceAlerts": Field(boolean),
        "weeklyReports": Field(boolean),
        # When reminders go out before an event (minutes); 15 and 60 when left out.
        "reminderMinutes": Field(list_of(integer(0, 40_320), max_items=5)),
    }),
}
ZOOM = {
    **COMMON,
    "autoCreateMeetings": Field(boolean),
    "meetingDefaults": Field(nested={
        "type": Field(choice(ZOOM_MEETING_TYPES)),
        # Minutes, as Zoom's `duration`; a scheduled meeting of a day at most here.
        "duration": Field(integer(1, 1440)),
        "timezone": Field(time_zone),
        "password": Field(boolean),
        "waitingRoom": Field(boolean),
        "joinBeforeHost": Field(boolean),
        "muteUponEntry": Field(boolean),
        "recordingSettings": Field(nested={
            "autoRecording": Field(choice(ZOOM_AUTO_RECORDING)),
            "recordingAuthentication": Field(boolean),
        }),
    }),
    "attendanceTracking": Field(nested={
        "enabled": Field(boolean),
        "syncAttendance": Field(boolean),
        "minimumDuration": Field(integer(0, 1440)),
    }),
}
SCHEMAS: dict[str, Mapping[str, Field]] = {
    Integration.Provider.GOOGLE: GOOGLE,
    Integration.Provider.MICROSOFT: MICROSOFT,
    Integration.Provider.SLACK: SLACK,
    Integration.Provider.ZOOM: ZOOM,
}

# The seed's notification preferences of PUT settings (any provider).
NOTIFICATIONS = {
    "syncErrors": Field(boolean),
    "syncSuccess": Field(boolean),
    "weeklyReport": Field(boolean),
}


def _validate(schema: Mapping[str, Field], value: Any, path: str,
              errors: dict[str, list[str]]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        errors[path or "settings"] = [gettext("Must be an object.")]
        return {}
    cleaned: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{path}.{key}" if path else str(key)
        field = schema.get(key)
        if field is None:
            errors[name] = [gettext("Unknown setting.")]
            continue
        if field.nested is not None:
            cleaned[key] = _validate(field.nested, item, name, errors)
            continue
        try:
            cleaned[key] = field.check(item)
        except ValidationError as exc:
            errors[name] = list(exc.messages)
    return cleaned


def validate_against(schema: Mapping[str, Field], value: Any, *, path: str = "") -> dict:
    """`value` checked against `schema`; every problem named by its dotted path."""
    errors: dict[str, list[str]] = {}
    cleaned = _validate(schema, value if value is not None else {}, path, errors)
    if errors:
        raise ValidationError({name: messages for name, messages in sorted(errors.items())})
    return cleaned


def validate_settings(provider: str, settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """A provider's settings, checked and normalised (only the keys sent, values
    as the schema reads them). ValidationError (per dotted field) otherwise;
    an unknown provider is the caller's to refuse (PROVIDER_NOT_SUPPORTED)."""
    schema = SCHEMAS.get(provider)
    if schema is None:
        raise ValueError(f"no settings schema for the provider {provider!r}")
    return validate_against(schema, settings)


def validate_notifications(notifications: Mapping[str, Any] | None) -> dict[str, Any]:
    return validate_against(NOTIFICATIONS, notifications, path="notifications")


SETTINGS_HELP = _("The provider's settings (the seed's keys; an unknown key or a wrong type is "
                  "refused with its dotted path as the field).")
