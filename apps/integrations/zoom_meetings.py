"""Zoom meetings for events, and attendance read back from Zoom.

`zoom_meeting_enqueue(event=)`: for each connected Zoom integration of the
event's organisation whose `autoCreateMeetings` is on, an outbox operation
creates the meeting (POST /users/me/meetings) with the integration's
`meetingDefaults` and links it to the event: a core ExternalMapping, entity
the event, external id the meeting's id, secondary id its join URL.

`zoom_attendance_import(event=)`: for each linked Zoom integration whose
`attendanceTracking.enabled` is on, an outbox operation reads the
participants of the meeting that ended (GET /past_meetings/{id}/participants,
every page), adds up each person's sessions (Zoom lists one row per join:
who left and came back is two rows), and records each attendee present
when their minutes reach `attendanceTracking.minimumDuration`, absent
otherwise; attendees who were expected and never joined are absent too.
Participants with no e-mail (guests not signed in) cannot be told apart
and are counted, not recorded. Then `attendanceUpdated` is emitted.

Zoom's `meeting.ended` webhook arrives through the core inbox at
/api/webhooks/zoom/<connection id>/ (the Zoom app's secret token,
ZOOM_WEBHOOK_SECRET, signs every delivery; Zoom's URL validation is the
core verifier's handshake) and starts the import of that meeting's event.

What Zoom does not let us do safely is documented where it matters: a
meeting create is not idempotent and Zoom has no key for it, so a create
whose answer was lost is sent again (a second meeting may exist at Zoom;
the event links the one we heard of).
"""

from __future__ import annotations

import logging
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from typing import Any
from urllib.parse import quote

from django.conf import settings as django_settings

from apps.core.channels import ZOOM as ZOOM_SIGNATURE
from apps.core.channels import Channel, channel_register
from apps.core.models import ExternalMapping, OutboundOperation, WebhookEvent
from apps.core.operations import operation_enqueue
from apps.core.webhooks import webhook_processor
from apps.integrations.models import ENTITY_EVENT, Attendance, Event, Integration
from apps.integrations.providers import ZOOM
from apps.integrations.slack_notify import connected_integrations

logger = logging.getLogger(__name__)

CREATE_KIND = "integrations.zoom.meeting_create"
# The outbox entity of an event's Zoom work: its create and its imports run in
# order, apart from the event's calendar pushes (a dead import must not hold
# those back).
MEETING_ENTITY = "integrations.zoom_meeting"
IMPORT_KIND = "integrations.zoom.attendance_import"
# Zoom's meeting `type` numbers by the seed's names (2 scheduled, 3 recurring
# with no fixed time, 8 recurring with a fixed time).
MEETING_TYPES = {"scheduled": 2, "recurring_no_fixed_time": 3, "recurring_fixed_time": 8}
# A passcode: at most 10 characters of [A-Za-z0-9@-_*] (Zoom's create-meeting
# reference); letters and digits only, so nobody has to type a symbol.
PASSWORD_ALPHABET = string.ascii_letters + string.digits
PASSWORD_LENGTH = 10
# Zoom's largest page of participants.
PARTICIPANTS_PAGE_SIZE = 300
MAX_TOPIC_LENGTH = 200  # Zoom's limit on `topic`
MAX_AGENDA_LENGTH = 2000  # Zoom's limit on `agenda`


# -- meetings -----------------------------------------------------------------

def zoom_meeting_enqueue(*, event: Event) -> list[OutboundOperation]:
    """One meeting create per Zoom integration of the organisation that creates
    meetings automatically; once per event and integration."""
    operations = []
    for integration in connected_integrations(event.organization, ZOOM):
        if not (integration.settings or {}).get("autoCreateMeetings"):
            continue
        operation, _created = operation_enqueue(
            platform=ZOOM, kind=CREATE_KIND, connection=integration.connection,
            idempotency_key=f"zoom:meeting:{integration.pk}:{event.pk}",
            payload={"integration_id": integration.pk, "event_id": event.pk},
            entity_type=MEETING_ENTITY, entity_id=event.pk)
        operations.append(operation)
    return operations


def meeting_body(event: Event, integration: Integration) -> dict[str, Any]:
    """Zoom's create-meeting body for the event, from the integration's meetingDefaults."""
    defaults = (integration.settings or {}).get("meetingDefaults") or {}
    recording = defaults.get("recordingSettings") or {}
    # The event's own length wins over meetingDefaults.duration: an event always
    # ends, and a meeting shorter than its event would mislead the attendees.
    minutes = max(1, round((event.end - event.start).total_seconds() / 60))
    body: dict[str, Any] = {
        "topic": event.title[:MAX_TOPIC_LENGTH],
        "type": MEETING_TYPES[defaults.get("type", "scheduled")],
        # UTC with a Z: Zoom then takes `timezone` only for display.
        "start_time": event.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration": minutes,
        "timezone": defaults.get("timezone") or event.time_zone,
        "agenda": event.description[:MAX_AGENDA_LENGTH],
        "settings": {},
    }
    if defaults.get("password"):
        body["password"] = "".join(secrets.choice(PASSWORD_ALPHABET)
                                   for _ in range(PASSWORD_LENGTH))
    settings = body["settings"]
    for seed_name, zoom_name in (("waitingRoom", "waiting_room"),
                                 ("joinBeforeHost", "join_before_host"),
                                 ("muteUponEntry", "mute_upon_entry")):
        if seed_name in defaults:
            settings[zoom_name] = defaults[seed_name]
    if recording.get("autoRecording"):
        settings["auto_recording"] = recording["autoRecording"]
    return body


def meeting_mapping(event: Event, integration: Integration) -> ExternalMapping | None:
    return ExternalMapping.objects.filter(entity_type=ENTITY_EVENT, local_id=str(event.pk),
                                          connection=integration.connection).first()


def meeting_link(event: Event) -> ExternalMapping | None:
    """The event's Zoom meeting (the first Zoom integration's), or None."""
    return (ExternalMapping.objects.filter(entity_type=ENTITY_EVENT, local_id=str(event.pk),
                                           connection__platform=ZOOM)
            .order_by("pk").first())


# -- attendance ---------------------------------------------------------------

def tracking(integration: Integration) -> dict[str, Any]:
    return (integration.settings or {}).get("attendanceTracking") or {}


def zoom_attendance_import(*, event: Event, instance_uuid: str = ""
                           ) -> list[OutboundOperation]:
    """One import per linked Zoom integration that tracks attendance.

    `instance_uuid`: the ended occurrence (from `meeting.ended`); without it,
    the meeting's last ended occurrence. An occurrence is imported once.
    """
    operations = []
    for integration in connected_integrations(event.organization, ZOOM):
        if not tracking(integration).get("enabled"):
            continue
        mapping = meeting_mapping(event, integration)
        if mapping is None:
            continue
        operation, _created = operation_enqueue(
            platform=ZOOM, kind=IMPORT_KIND, connection=integration.connection,
            idempotency_key=(f"zoom:attendance:{integration.pk}:{event.pk}:"
                             f"{instance_uuid or mapping.external_id}"),
            payload={"integration_id": integration.pk, "event_id": event.pk,
                     "meeting_id": mapping.external_id, "instance_uuid": instance_uuid},
            # After the create, in order: the meeting must exist before its attendance.
            entity_type=MEETING_ENTITY, entity_id=event.pk)
        operations.append(operation)
    return operations


def past_meeting_path(meeting: str) -> str:
    """GET path of a past meeting's participants; a UUID that starts with "/"
    or contains "//" is encoded twice (Zoom's rule), any other once."""
    encoded = quote(meeting, safe="")
    if meeting.startswith("/") or "//" in meeting:
        encoded = quote(encoded, safe="")
    return f"/past_meetings/{encoded}/participants"


@dataclass
class Presence:
    email: str
    name: str
    seconds: int = 0


def presences(rows: Iterable[dict[str, Any]]) -> tuple[dict[str, Presence], int]:
    """Each person's sessions added up, by e-mail (lower case); and how many
    rows had no e-mail (guests who did not sign in)."""
    people: dict[str, Presence] = {}
    anonymous = 0
    for row in rows:
        email = str(row.get("user_email") or "").strip().lower()
        if not email:
            anonymous += 1
            continue
        person = people.setdefault(email, Presence(email=email, name=str(row.get("name") or "")))
        person.seconds += max(int(row.get("duration") or 0), 0)
    return people, anonymous


EXPECTED = (Attendance.Status.INVITED, Attendance.Status.ACCEPTED, Attendance.Status.TENTATIVE)


def expected_absent(event: Event, seen: set[str]) -> list[Attendance]:
    """Attendees who were expected (invited, accepted, tentative) and did not join."""
    return list(Attendance.objects.filter(event=event, status__in=EXPECTED)
                .exclude(email_index__in=seen))


# -- the webhook --------------------------------------------------------------

class ZoomAppChannel(Channel):
    """Zoom signs every event with the app's one secret token, whichever account
    it concerns: the secret is the setting, never a connection's credential."""

    def secret_for(self, connection: Any) -> str:
        return django_settings.ZOOM_WEBHOOK_SECRET


CHANNEL = channel_register(ZoomAppChannel(
    platform=ZOOM, verifier=ZOOM_SIGNATURE,
    # Zoom sends no event id; a redelivery has the same body (and event_ts),
    # so the body's hash is the id the core falls back to.
    event_id_field="", event_type_field="event",
    # x-zm-request-timestamp is signed and checked by the verifier.
    timestamp_field="",
))


@webhook_processor(ZOOM)
def zoom_event_apply(event: WebhookEvent, payload: dict[str, Any]) -> str:
    if payload.get("event") != "meeting.ended":
        return WebhookEvent.Status.IGNORED
    meeting = ((payload.get("payload") or {}).get("object") or {})
    meeting_id = str(meeting.get("id") or "")
    # Meeting ids are Zoom's, unique across accounts: the event is found by its
    # link, whichever connection's URL the app's webhook was set to.
    mapping = (ExternalMapping.objects.filter(entity_type=ENTITY_EVENT, external_id=meeting_id,
                                              connection__platform=ZOOM)
               .order_by("pk").first()) if meeting_id else None
    if mapping is None:
        logger.info("zoom meeting.ended for %s: no event of ours", meeting_id or "(no id)")
        return WebhookEvent.Status.IGNORED
    linked = Event.objects.select_related("organization").filter(pk=mapping.local_id).first()
    if linked is None or linked.cancelled_at is not None:
        return WebhookEvent.Status.IGNORED
    operations = zoom_attendance_import(event=linked, instance_uuid=str(meeting.get("uuid") or ""))
    return WebhookEvent.Status.PROCESSED if operations else WebhookEvent.Status.IGNORED
