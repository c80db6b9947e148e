"""Input and output serializers of /api/integrations/ and /api/events/ (kept apart).

Names are the seed's, camelCase as its clients send and read them; our
models keep our words. Personal data is masked on the way out: a connected
account's and an attendee's e-mail keep their first letter and domain.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api.strict import StrictInputMixin
from apps.core.fields import mask_email
from apps.core.models import Connection, SyncRun
from apps.integrations.models import Attendance, Event, Integration
from apps.integrations.selectors import (
    PERIODS,
    RunStatistics,
    integration_webhook_url,
    run_error_code,
)
from apps.integrations.services import NOTIFICATIONS_KEY
from apps.integrations.settings_schema import SETTINGS_HELP, SYNC_DIRECTIONS


def duration_text(seconds: float | None) -> str | None:
    """The seed's durations: "2.3s" under a minute, "2m 15s", "1h 5m 0s"."""
    if seconds is None:
        return None
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes}m {secs}s" if hours else f"{minutes}m {secs}s"


def user_name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


# -- integrations -----------------------------------------------------------------------------

class ConnectedBySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.SerializerMethodField()
    email = serializers.SerializerMethodField(
        help_text=_("Masked: the first letter and the domain show."))

    def get_name(self, user) -> str:
        return user_name(user)

    def get_email(self, user) -> str:
        return mask_email(user.email) if user.email else ""


class IntegrationStatisticsSerializer(serializers.Serializer):
    eventsSynced = serializers.IntegerField(
        required=False, help_text=_("Events created, updated and deleted by its syncs."))
    lastSyncDuration = serializers.CharField(
        required=False, allow_null=True, help_text=_("Of the last finished sync; null before."))
    errorCount = serializers.IntegerField(
        required=False, help_text=_("Syncs that ended in error or partly."))
    successRate = serializers.FloatField(
        required=False, allow_null=True,
        help_text=_("Successful syncs / finished syncs; null before the first."))
    messagesSent = serializers.IntegerField(
        required=False, help_text=_("Slack: messages sent, counted in the audit log."))
    channelsConnected = serializers.IntegerField(
        required=False, help_text=_("Slack: distinct channels in its settings."))


ACCOUNT_SCHEMA = {"type": "object", "properties": {"email": {"type": "string"},
                                                  "name": {"type": "string"}}}


class IntegrationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    provider = serializers.ChoiceField(choices=Integration.Provider.choices)
    type = serializers.ChoiceField(choices=Integration.Type.choices)
    name = serializers.CharField()
    status = serializers.CharField(source="connection.status", help_text=_(
        "The connection's: connected, disconnected or error."))
    statusReason = serializers.CharField(
        source="connection.status_reason",
        help_text=_("Why it is in error, in words a manager reads; empty otherwise."))
    connectedAt = serializers.DateTimeField(
        source="connection.connected_at", allow_null=True)
    lastSync = serializers.SerializerMethodField()
    lastActivity = serializers.DateTimeField(
        source="last_activity_at", allow_null=True)
    settings = serializers.SerializerMethodField()
    notifications = serializers.SerializerMethodField()
    permissions = serializers.ListField(child=serializers.CharField())
    account = serializers.SerializerMethodField(
        help_text=_("The account at the provider; its e-mail masked."))
    statistics = serializers.SerializerMethodField()
    connectedBy = serializers.SerializerMethodField()
    webhookUrl = serializers.SerializerMethodField(help_text=_(
        "Where the provider sends its notifications to the hub (Zoom's event "
        "subscription is set to it by hand; Google's channels and Microsoft's "
        "subscriptions use it themselves); null for a provider that sends none."))

    @extend_schema_field(OpenApiTypes.URI)
    def get_webhookUrl(self, integration: Integration) -> str | None:
        return integration_webhook_url(integration)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_lastSync(self, integration: Integration) -> datetime | None:
        last = integration.last_sync_at or getattr(integration, "last_run_finished", None)
        return serializers.DateTimeField().to_representation(last) if last else None

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_settings(self, integration: Integration) -> dict[str, Any]:
        return {key: value for key, value in integration.settings.items()
                if key != NOTIFICATIONS_KEY}

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_notifications(self, integration: Integration) -> dict[str, Any]:
        return dict(integration.settings.get(NOTIFICATIONS_KEY) or {})

    @extend_schema_field(ACCOUNT_SCHEMA)
    def get_account(self, integration: Integration) -> dict[str, str]:
        email = integration.account_email
        return {"email": mask_email(email) if email else "", "name": integration.account_name}

    @extend_schema_field(IntegrationStatisticsSerializer)
    def get_statistics(self, integration: Integration) -> dict[str, Any]:
        if integration.provider == Integration.Provider.SLACK:
            sent = self.context.get("messages_sent", {}).get(integration.connection_id, 0)
            return {"messagesSent": sent, "channelsConnected": slack_channels(integration)}
        stats: RunStatistics = self.context.get("run_statistics", {}).get(
            integration.connection_id, RunStatistics())
        last = None
        started = getattr(integration, "last_run_started", None)
        finished = getattr(integration, "last_run_finished", None)
        if started and finished:
            last = duration_text((finished - started).total_seconds())
        return {"eventsSynced": stats.events_synced, "lastSyncDuration": last,
                "errorCount": stats.failed, "successRate": stats.success_rate}

    @extend_schema_field(ConnectedBySerializer(allow_null=True))
    def get_connectedBy(self, integration: Integration) -> dict[str, Any] | None:
        user = integration.connection.connected_by
        return ConnectedBySerializer(user).data if user is not None else None


def slack_channels(integration: Integration) -> int:
    settings = integration.settings
    channels = set((settings.get("channels") or {}).values())
    if settings.get("defaultChannel"):
        channels.add(settings["defaultChannel"])
    return len(channels)


class IntegrationListQuerySerializer(StrictInputMixin, serializers.Serializer):
    provider = serializers.ChoiceField(choices=Integration.Provider.choices, required=False)
    status = serializers.ChoiceField(choices=Connection.Status.choices, required=False,
                                     help_text=_("The connection's status."))
    type = serializers.ChoiceField(choices=Integration.Type.choices, required=False)


class ConnectInputSerializer(StrictInputMixin, serializers.Serializer):
    scopes = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, allow_empty=False,
        max_length=20, help_text=_("The seed's scope names (calendar.read, ...); the "
                                   "provider's defaults when left out."))
    settings = serializers.DictField(required=False, help_text=SETTINGS_HELP)
    redirectUri = serializers.URLField(
        max_length=500, help_text=_("Where the provider sends the user back with the code."))


class ConnectStartOutputSerializer(serializers.Serializer):
    authUrl = serializers.CharField(source="auth_url")
    state = serializers.CharField()
    expiresAt = serializers.DateTimeField(source="expires_at")
    provider = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())


class CallbackInputSerializer(StrictInputMixin, serializers.Serializer):
    code = serializers.CharField(max_length=2000)
    state = serializers.CharField(max_length=200)


class UserInfoSerializer(serializers.Serializer):
    email = serializers.CharField(allow_blank=True)
    name = serializers.CharField(allow_blank=True)
    avatar = serializers.CharField(allow_blank=True, allow_null=True, required=False)


class InitialSyncSerializer(serializers.Serializer):
    status = serializers.CharField()
    estimatedDuration = serializers.CharField(required=False)


class ConnectResultOutputSerializer(serializers.Serializer):
    integrationId = serializers.IntegerField()
    provider = serializers.CharField()
    status = serializers.CharField()
    connectedAt = serializers.DateTimeField(allow_null=True)
    permissions = serializers.ListField(child=serializers.CharField())
    userInfo = UserInfoSerializer()
    initialSync = InitialSyncSerializer(allow_null=True)

    @classmethod
    def of(cls, result) -> dict[str, Any]:
        integration = result.integration
        connection = integration.connection
        return cls({
            "integrationId": integration.pk, "provider": integration.provider,
            "status": connection.status, "connectedAt": connection.connected_at,
            "permissions": list(result.permissions), "userInfo": dict(result.user_info),
            "initialSync": result.initial_sync,
        }).data


class SettingsInputSerializer(StrictInputMixin, serializers.Serializer):
    syncDirection = serializers.ChoiceField(
        choices=[(value, value) for value in SYNC_DIRECTIONS], required=False)
    autoSync = serializers.BooleanField(required=False)
    syncInterval = serializers.IntegerField(
        required=False, help_text=_("Seconds between automatic syncs (60 to 86,400)."))
    settings = serializers.JSONField(required=False, help_text=SETTINGS_HELP)
    notifications = serializers.JSONField(
        required=False, help_text=_("syncErrors, syncSuccess, weeklyReport (true or false)."))

    def validate_autoSync(self, value):
        # JSON true/false only, as the schema of the settings wants it.
        if not isinstance(self.initial_data.get("autoSync"), bool):
            raise serializers.ValidationError(gettext("Must be true or false."))
        return value


class CleanupSerializer(serializers.Serializer):
    eventsRemoved = serializers.IntegerField(source="events_removed")
    webhooksDisabled = serializers.IntegerField(source="webhooks_disabled")
    tokensRevoked = serializers.BooleanField(source="tokens_revoked")


class DisconnectOutputSerializer(serializers.Serializer):
    integrationId = serializers.IntegerField()
    status = serializers.CharField()
    disconnectedAt = serializers.DateTimeField(allow_null=True)
    cleanupStatus = CleanupSerializer()


class ApiLimitsSerializer(serializers.Serializer):
    remaining = serializers.IntegerField(allow_null=True)
    resetAt = serializers.DateTimeField(allow_null=True)
    dailyLimit = serializers.IntegerField(allow_null=True)


class TestOutputSerializer(serializers.Serializer):
    connectionStatus = serializers.ChoiceField(
        choices=[("healthy", "healthy"), ("degraded", "degraded"), ("error", "error")])
    responseTime = serializers.CharField(allow_null=True)
    permissions = serializers.DictField(child=serializers.BooleanField())
    apiLimits = ApiLimitsSerializer(allow_null=True)
    lastError = serializers.CharField(allow_null=True)
    recommendations = serializers.ListField(child=serializers.CharField())

    @classmethod
    def of(cls, result) -> dict[str, Any]:
        # The connect service's limits as last seen in the provider's headers:
        # {"limit", "remaining", "reset_at", "window", "seen_at"}.
        seen = result.api_limits
        limits = None if seen is None else {"remaining": seen.get("remaining"),
                                            "resetAt": seen.get("reset_at"),
                                            "dailyLimit": seen.get("limit")}
        millis = result.response_time_ms
        return cls({
            "connectionStatus": result.connection_status,
            "responseTime": f"{round(millis)}ms" if millis is not None else None,
            "permissions": dict(result.permissions), "apiLimits": limits,
            "lastError": result.last_error or None,
            "recommendations": [str(text) for text in result.recommendations],
        }).data


# -- history and sync status -----------------------------------------------------------------

RUN_STATUSES = SyncRun.Status.choices


class HistoryQuerySerializer(StrictInputMixin, serializers.Serializer):
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=500)
    page = serializers.IntegerField(required=False, default=1, min_value=1)
    status = serializers.ChoiceField(choices=RUN_STATUSES, required=False)
    startDate = serializers.DateTimeField(
        required=False, help_text=_("Syncs started at or after (ISO 8601)."))
    endDate = serializers.DateTimeField(
        required=False, help_text=_("Syncs started at or before (ISO 8601)."))

    def validate(self, attrs):
        start, end = attrs.get("startDate"), attrs.get("endDate")
        if start and end and end < start:
            raise serializers.ValidationError({"endDate": [gettext(
                "Must not be before startDate.")]})
        return attrs


class RunStatisticsSerializer(serializers.Serializer):
    eventsProcessed = serializers.IntegerField()
    eventsCreated = serializers.IntegerField(source="created")
    eventsUpdated = serializers.IntegerField(source="updated")
    eventsDeleted = serializers.IntegerField(source="deleted")
    errors = serializers.IntegerField()


class RunErrorSerializer(serializers.Serializer):
    eventId = serializers.CharField(allow_blank=True)
    error = serializers.CharField(allow_blank=True)
    code = serializers.CharField()


TRIGGERED_BY_SCHEMA = {"oneOf": [
    {"type": "string", "enum": ["scheduled_sync"]},
    {"type": "object", "properties": {"userId": {"type": "integer", "nullable": True},
                                      "name": {"type": "string"}}},
]}


# The core's SyncRun.direction holds 10 characters: the sync engine stores these
# short words, shown with the seed's names.
RUN_DIRECTIONS = {"both": "bidirectional", "push": "attendance_to_external",
                  "pull": "external_to_attendance"}


def run_statistics_of(run: SyncRun) -> dict[str, int]:
    failed = run.errors + run.invalid
    return {"eventsProcessed": run.created + run.updated + run.unchanged + run.deleted + failed,
            "created": run.created, "updated": run.updated, "deleted": run.deleted,
            "errors": failed}


def run_errors_of(run: SyncRun) -> list[dict[str, str]]:
    return [{"eventId": str(sample.get("record", "")), "error": str(sample.get("message", "")),
             "code": str(sample.get("code") or run_error_code(run))}
            for sample in run.error_samples or () if isinstance(sample, dict)]


class HistoryItemSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    startedAt = serializers.DateTimeField(source="started_at")
    completedAt = serializers.DateTimeField(source="finished_at", allow_null=True)
    status = serializers.ChoiceField(choices=RUN_STATUSES)
    type = serializers.ChoiceField(source="trigger", choices=SyncRun.Trigger.choices)
    direction = serializers.SerializerMethodField()
    statistics = serializers.SerializerMethodField()
    errors = serializers.SerializerMethodField()
    duration = serializers.SerializerMethodField()
    triggeredBy = serializers.SerializerMethodField()

    def get_direction(self, run: SyncRun) -> str | None:
        return RUN_DIRECTIONS.get(run.direction, run.direction) or None

    @extend_schema_field(RunStatisticsSerializer)
    def get_statistics(self, run: SyncRun) -> dict[str, int]:
        return RunStatisticsSerializer(run_statistics_of(run)).data

    @extend_schema_field(RunErrorSerializer(many=True))
    def get_errors(self, run: SyncRun) -> list[dict[str, str]]:
        return run_errors_of(run)

    def get_duration(self, run: SyncRun) -> str | None:
        if run.finished_at is None:
            return None
        return duration_text((run.finished_at - run.started_at).total_seconds())

    @extend_schema_field(TRIGGERED_BY_SCHEMA)
    def get_triggeredBy(self, run: SyncRun) -> Any:
        if run.trigger == SyncRun.Trigger.AUTOMATIC:
            return "scheduled_sync"
        user = run.triggered_by
        return {"userId": user.pk if user else None, "name": user_name(user)}


# How the core's run statuses read to the seed's client, which polls until "completed".
SEED_SYNC_STATUS = {SyncRun.Status.SUCCESS: "completed", SyncRun.Status.PARTIAL: "completed",
                    SyncRun.Status.ERROR: "failed"}


def seed_sync_status(run: SyncRun) -> str:
    """running with nothing done yet: started; running: running; success or partial:
    completed (`result` tells them apart); error: failed."""
    if run.status == SyncRun.Status.RUNNING:
        return "started" if run.progress_done == 0 else "running"
    return SEED_SYNC_STATUS[run.status]


class SyncStatusSerializer(serializers.Serializer):
    syncId = serializers.IntegerField(source="pk")
    status = serializers.SerializerMethodField(help_text=_(
        "started, running, completed or failed: poll until completed or failed."))
    result = serializers.SerializerMethodField(help_text=_(
        "The run's own outcome: success, partial or error; null while it runs."))
    startedAt = serializers.DateTimeField(source="started_at")
    completedAt = serializers.DateTimeField(source="finished_at", allow_null=True)
    progress = serializers.SerializerMethodField()
    statistics = serializers.SerializerMethodField()
    errors = serializers.SerializerMethodField()

    @extend_schema_field({"type": "string",
                          "enum": ["started", "running", "completed", "failed"]})
    def get_status(self, run: SyncRun) -> str:
        return seed_sync_status(run)

    @extend_schema_field({"type": "string", "enum": ["success", "partial", "error"],
                          "nullable": True})
    def get_result(self, run: SyncRun) -> str | None:
        return None if run.status == SyncRun.Status.RUNNING else run.status

    @extend_schema_field({"type": "object", "properties": {
        "done": {"type": "integer"}, "total": {"type": "integer", "nullable": True}}})
    def get_progress(self, run: SyncRun) -> dict[str, int | None]:
        return {"done": run.progress_done, "total": run.progress_total}

    @extend_schema_field(RunStatisticsSerializer)
    def get_statistics(self, run: SyncRun) -> dict[str, int]:
        return RunStatisticsSerializer(run_statistics_of(run)).data

    @extend_schema_field(RunErrorSerializer(many=True))
    def get_errors(self, run: SyncRun) -> list[dict[str, str]]:
        return run_errors_of(run)


# -- analytics --------------------------------------------------------------------------------

class MetricsQuerySerializer(StrictInputMixin, serializers.Serializer):
    period = serializers.ChoiceField(choices=[(name, name) for name in PERIODS],
                                     required=False, default="month")
    providers = serializers.CharField(
        required=False, max_length=200,
        help_text=_("Comma-separated: google, microsoft, slack, zoom."))

    def validate_providers(self, value: str) -> list[str]:
        names = [name.strip() for name in value.split(",") if name.strip()]
        unknown = sorted(set(names) - set(Integration.Provider.values))
        if unknown:
            raise DjangoValidationError(gettext("Not supported: %(names)s.")
                                        % {"names": ", ".join(unknown)})
        return names


class OverviewSerializer(serializers.Serializer):
    totalIntegrations = serializers.IntegerField()
    activeIntegrations = serializers.IntegerField(help_text=_("Their connection is connected."))
    totalSyncs = serializers.IntegerField(help_text=_(
        "Syncs started in the period and finished (a running one has no outcome yet)."))
    successRate = serializers.FloatField(allow_null=True)
    averageResponseTime = serializers.CharField(allow_null=True, help_text=_(
        "The mean duration of the exchanges with the providers in the period."))


class ProviderMetricsSerializer(serializers.Serializer):
    integrations = serializers.IntegerField()
    syncs = serializers.IntegerField()
    successRate = serializers.FloatField(allow_null=True)
    averageResponseTime = serializers.CharField(allow_null=True)
    messagesSent = serializers.IntegerField(required=False, help_text=_("Slack only."))


class VolumeSerializer(serializers.Serializer):
    date = serializers.DateField()
    syncs = serializers.IntegerField()
    errors = serializers.IntegerField(help_text=_("Syncs that ended in error or partly."))


class ResponseTimeSerializer(serializers.Serializer):
    date = serializers.DateField()
    averageTime = serializers.CharField(allow_null=True)


class TrendsSerializer(serializers.Serializer):
    syncVolume = VolumeSerializer(many=True)
    responseTime = ResponseTimeSerializer(many=True)


class CommonErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text=_(
        "The code of the run's first error (SYNC_FAILED when it gave none)."))
    count = serializers.IntegerField()
    percentage = serializers.FloatField(allow_null=True)


class ErrorsSerializer(serializers.Serializer):
    totalErrors = serializers.IntegerField()
    errorRate = serializers.FloatField(allow_null=True)
    commonErrors = CommonErrorSerializer(many=True)


class MetricsOutputSerializer(serializers.Serializer):
    overview = OverviewSerializer()
    byProvider = serializers.DictField(child=ProviderMetricsSerializer())
    trends = TrendsSerializer()
    errors = ErrorsSerializer()


# -- events -----------------------------------------------------------------------------------

class AttendeeInputSerializer(StrictInputMixin, serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=Attendance.Status.choices, required=False)


class AttendeeOutputSerializer(serializers.Serializer):
    email = serializers.SerializerMethodField(
        help_text=_("Masked: the first letter and the domain show."))
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=Attendance.Status.choices)

    def get_email(self, attendance: Attendance) -> str:
        return mask_email(attendance.email)


class OrganizerSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return user_name(user)


class EventOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    type = serializers.ChoiceField(choices=Event.Type.choices)
    title = serializers.CharField()
    description = serializers.CharField()
    location = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    timeZone = serializers.CharField(source="time_zone")
    isPrivate = serializers.BooleanField(source="is_private")
    organizer = OrganizerSerializer(allow_null=True)
    attendees = AttendeeOutputSerializer(source="attendances", many=True)
    version = serializers.IntegerField()
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


def _time_zone(value: str) -> str:
    if value not in zoneinfo.available_timezones():
        raise serializers.ValidationError(gettext(
            "Not a time zone of the IANA database (Europe/Brussels, ...)."))
    return value


class EventInputSerializer(StrictInputMixin, serializers.Serializer):
    """An event as a client writes it; `version`, when sent on a change, must be
    the one it read (409 otherwise)."""

    validates_partial_data = True
    output_serializer_class = EventOutputSerializer

    type = serializers.ChoiceField(choices=Event.Type.choices, required=False)
    title = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    location = serializers.CharField(required=False, allow_blank=True, max_length=255)
    start = serializers.DateTimeField(help_text=_("ISO 8601 with its offset."))
    end = serializers.DateTimeField(help_text=_("ISO 8601 with its offset; after the start."))
    timeZone = serializers.CharField(
        source="time_zone", required=False, max_length=64, validators=[_time_zone])
    isPrivate = serializers.BooleanField(source="is_private", required=False)
    attendees = AttendeeInputSerializer(many=True, required=False, max_length=500)
    version = serializers.IntegerField(required=False, min_value=1)

    def validate(self, attrs):
        start, end = attrs.get("start"), attrs.get("end")
        if start is not None and end is not None and end <= start:
            raise serializers.ValidationError({"end": [gettext("Must be after the start.")]})
        return attrs


class EventCancelledSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    cancelledAt = serializers.DateTimeField(source="cancelled_at")
    version = serializers.IntegerField()


class AttendanceOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    email = serializers.SerializerMethodField(
        help_text=_("Masked: the first letter and the domain show."))
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=Attendance.Status.choices)
    minutesPresent = serializers.IntegerField(source="minutes_present")
    source = serializers.ChoiceField(choices=Attendance.Source.choices)
    updatedAt = serializers.DateTimeField(source="updated_at")

    def get_email(self, attendance: Attendance) -> str:
        return mask_email(attendance.email)


class PageQuerySerializer(StrictInputMixin, serializers.Serializer):
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=500)
    page = serializers.IntegerField(required=False, default=1, min_value=1)


# -- manual sync -------------------------------------------------------------------------------

class SyncOptionsSerializer(StrictInputMixin, serializers.Serializer):
    forceUpdate = serializers.BooleanField(required=False, default=False, help_text=_(
        "true: the calendar is listed from scratch, not from where the last sync stopped."))


class SyncInputSerializer(StrictInputMixin, serializers.Serializer):
    direction = serializers.ChoiceField(
        choices=[(value, value) for value in SYNC_DIRECTIONS],
        required=False, help_text=_("The integration's syncDirection when left out."))
    options = SyncOptionsSerializer(required=False)


class IntegrationSyncStartedSerializer(serializers.Serializer):
    syncId = serializers.IntegerField()
    status = serializers.CharField(help_text=_("started, or running when one already was."))
    startedAt = serializers.DateTimeField()
    estimatedDuration = serializers.CharField()
    statusUrl = serializers.CharField()
