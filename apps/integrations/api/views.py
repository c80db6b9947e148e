"""The Integrations and Events APIs: validate input, call one service or selector,
serialise the result, in the seed's envelope (apps/integrations/api/envelope.py).

Every view acts for the user's organisation (their membership's, else the
default one); an integration or event of another organisation does not
exist for them (404). Connecting, the callback, disconnecting and the test
are the services of apps/integrations/connect.py.
"""

from __future__ import annotations

import math
from typing import Any

from django.core.paginator import EmptyPage, Paginator
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework.views import APIView

from apps.core.api.permissions import IsAdmin
from apps.core.api.strict import StrictQueryParamsMixin, no_input
from apps.core.errors import ServiceError
from apps.integrations import calendar_sync, connect, selectors, services
from apps.integrations.api import serializers as s
from apps.integrations.api.envelope import (
    INTEGRATION_NOT_FOUND,
    PROVIDER_NOT_SUPPORTED,
    EnvelopeAutoSchema,
    EnvelopeRenderer,
    answer,
    envelope_exception_handler,
    enveloped,
)
from apps.integrations.models import Event, Integration, Organization

# -- what every view of these two APIs shares --------------------------------------------------


class EnvelopeView(StrictQueryParamsMixin, APIView):
    renderer_classes = [EnvelopeRenderer]
    schema = EnvelopeAutoSchema()
    # The query parameters this view reads (a StrictInputMixin serializer).
    query_serializer_class: type[drf_serializers.Serializer] | None = None

    def get_exception_handler(self):
        return envelope_exception_handler

    def allowed_query_params(self) -> set[str]:
        names = {"format"}
        if self.query_serializer_class is not None:
            names |= set(self.query_serializer_class().fields)
        return names

    def query(self) -> dict[str, Any]:
        data = self.query_serializer_class(data=self.request.query_params.dict())
        data.is_valid(raise_exception=True)
        return data.validated_data

    def organization(self) -> Organization:
        return selectors.organization_for_user(self.request.user)


def _provider(provider: str) -> str:
    if provider not in Integration.Provider.values:
        raise ServiceError(PROVIDER_NOT_SUPPORTED, gettext(
            "The provider %(provider)s is not supported; use one of: %(providers)s.") % {
                "provider": provider, "providers": ", ".join(Integration.Provider.values)},
            details={"provider": provider})
    return provider


def _integration(view: EnvelopeView, integration_id: int) -> Integration:
    integration = selectors.integration_get(organization=view.organization(),
                                            integration_id=integration_id)
    if integration is None:
        raise ServiceError(INTEGRATION_NOT_FOUND,
                           gettext("Your organisation has no integration with this id."),
                           details={"id": integration_id}, status=404)
    return integration


def _integration_data(integration: Integration) -> dict[str, Any]:
    return _integrations_data([integration])[0]


def _integrations_data(integrations: list[Integration]) -> list[dict[str, Any]]:
    connection_ids = [integration.connection_id for integration in integrations]
    slack = [integration.connection_id for integration in integrations
             if integration.provider == Integration.Provider.SLACK]
    context = {"run_statistics": selectors.run_statistics(connection_ids),
               "messages_sent": selectors.messages_sent(slack) if slack else {}}
    return s.IntegrationOutputSerializer(integrations, many=True, context=context).data


def _page(queryset: QuerySet, *, page: int, limit: int) -> tuple[list, dict[str, int]]:
    """The seed's page: the rows and `meta` {page, limit, total, totalPages}; a page
    past the last one is empty (the total says how many there are)."""
    paginator = Paginator(queryset, limit)
    try:
        rows = list(paginator.page(page).object_list)
    except EmptyPage:
        rows = []
    total = paginator.count
    return rows, {"page": page, "limit": limit, "total": total,
                  "totalPages": math.ceil(total / limit) if total else 0}


# Why each of the seed's codes may be answered, per status, as the schema says it.
NOT_FOUND = OpenApiResponse(description=_(
    "`INTEGRATION_NOT_FOUND`: your organisation has no integration with this id (another "
    "organisation's does not exist for you)."))
FORBIDDEN = OpenApiResponse(description=_(
    "`PERMISSION_DENIED`: only members of the Manager or Admin group may use this endpoint."))
FORBIDDEN_ADMIN = OpenApiResponse(description=_(
    "`PERMISSION_DENIED`: only members of the Admin group may use this endpoint."))
THROTTLED = OpenApiResponse(description=_(
    "`RATE_LIMIT_EXCEEDED`: too many requests; `Retry-After` says when to try again."))
PROVIDER_DOWN = {
    502: OpenApiResponse(description=_(
        "`INVALID_CREDENTIALS`: the provider refused the stored credentials (or they can no "
        "longer be read); connect again.")),
    503: OpenApiResponse(description=_(
        "`CONNECTION_ERROR`: the provider did not answer; `API_QUOTA_EXCEEDED`: the "
        "provider's quota is spent. Try again later.")),
}
COMMON = {403: FORBIDDEN, 429: THROTTLED}


# -- integrations -----------------------------------------------------------------------------

class IntegrationListView(EnvelopeView):
    query_serializer_class = s.IntegrationListQuerySerializer

    @extend_schema(operation_id="integrations_list", parameters=[
        s.IntegrationListQuerySerializer], responses={
        200: enveloped(s.IntegrationOutputSerializer(many=True), "IntegrationList"), **COMMON})
    def get(self, request):
        """The organisation's integrations, with their statistics from their syncs."""
        filters = self.query()
        integrations = list(selectors.integrations_of(organization=self.organization(),
                                                      **filters))
        return answer(_integrations_data(integrations))


class ConnectView(EnvelopeView):
    @extend_schema(request=s.ConnectInputSerializer, responses={
        200: enveloped(s.ConnectStartOutputSerializer, "ConnectStart"),
        400: OpenApiResponse(description=_(
            "`PROVIDER_NOT_SUPPORTED`: an unknown provider; `validation_error`: a scope or a "
            "setting is not one the provider takes (`details` names it).")),
        **COMMON})
    def post(self, request, provider: str):
        """Start connecting a provider: the URL to send the user to, with a
        single-use state valid 10 minutes, bound to this user."""
        _provider(provider)
        data = s.ConnectInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        started = connect.connect_start(
            organization=self.organization(), provider=provider, user=request.user,
            scopes=values.get("scopes"), settings=values.get("settings"),
            redirect_uri=values["redirectUri"])
        return answer(s.ConnectStartOutputSerializer(started).data)


class CallbackView(EnvelopeView):
    @extend_schema(request=s.CallbackInputSerializer, responses={
        200: enveloped(s.ConnectResultOutputSerializer, "ConnectResult"),
        400: OpenApiResponse(description=_(
            "`OAUTH_ERROR`: the state is unknown, used, expired, another user's or another "
            "provider's, or the provider refused the code; nothing is stored. "
            "`PROVIDER_NOT_SUPPORTED`: an unknown provider.")),
        **COMMON, **PROVIDER_DOWN})
    def post(self, request, provider: str):
        """Finish connecting: the code is exchanged for tokens (stored encrypted)
        and the account's identity read from the provider."""
        _provider(provider)
        data = s.CallbackInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = connect.connect_finish(
            organization=self.organization(), provider=provider, user=request.user,
            code=data.validated_data["code"], state=data.validated_data["state"])
        return answer(s.ConnectResultOutputSerializer.of(result))


class IntegrationDetailView(EnvelopeView):
    @extend_schema(responses={
        200: enveloped(s.DisconnectOutputSerializer, "Disconnected"), 404: NOT_FOUND,
        **COMMON, **PROVIDER_DOWN})
    def delete(self, request, integration_id: int):
        """Disconnect: tokens revoked at the provider where it has a revoke endpoint,
        then forgotten; the cleanup counts what really happened."""
        integration = _integration(self, integration_id)
        cleanup = connect.integration_disconnect(integration=integration,
                                                           user=request.user)
        integration.refresh_from_db()
        integration.connection.refresh_from_db()
        return answer(s.DisconnectOutputSerializer({
            "integrationId": integration.pk, "status": integration.connection.status,
            "disconnectedAt": integration.disconnected_at,
            "cleanupStatus": cleanup}).data)


class SettingsView(EnvelopeView):
    @extend_schema(request=s.SettingsInputSerializer, responses={
        200: enveloped(s.IntegrationOutputSerializer, "IntegrationSettings"), 404: NOT_FOUND,
        400: OpenApiResponse(description=_(
            "`validation_error`: a setting is unknown to the provider or of the wrong type; "
            "`details` names it by its path (`settings.eventMapping.colorId`).")),
        **COMMON})
    def put(self, request, integration_id: int):
        """Change the settings: the keys sent are merged over those stored."""
        integration = _integration(self, integration_id)
        data = s.SettingsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        common = {name: request.data[name] for name in ("syncDirection", "autoSync",
                                                         "syncInterval")
                  if name in values}
        services.integration_settings_update(
            integration=integration, user=request.user, common=common,
            settings=values.get("settings"), notifications=values.get("notifications"))
        return answer(_integration_data(_integration(self, integration_id)))


class HistoryView(EnvelopeView):
    query_serializer_class = s.HistoryQuerySerializer

    @extend_schema(parameters=[s.HistoryQuerySerializer], responses={
        200: enveloped(s.HistoryItemSerializer(many=True), "SyncHistory", paged=True),
        404: NOT_FOUND, **COMMON})
    def get(self, request, integration_id: int):
        """The integration's syncs, newest first, `limit` a page."""
        integration = _integration(self, integration_id)
        query = self.query()
        runs = selectors.sync_runs_of(integration=integration, status=query.get("status"),
                                      start=query.get("startDate"), end=query.get("endDate"))
        rows, meta = _page(runs, page=query["page"], limit=query["limit"])
        return answer(s.HistoryItemSerializer(rows, many=True).data, meta=meta)


class TestView(EnvelopeView):
    @extend_schema(request=None, responses={
        200: enveloped(s.TestOutputSerializer, "ConnectionTest"), 404: NOT_FOUND,
        **COMMON, **PROVIDER_DOWN})
    def post(self, request, integration_id: int):
        """Call the provider now: health, measured response time, permissions as
        granted, API limits as last seen, what to do."""
        integration = _integration(self, integration_id)
        no_input(request)
        result = connect.integration_test(integration=integration)
        return answer(s.TestOutputSerializer.of(result))


class SyncStatusView(EnvelopeView):
    @extend_schema(responses={
        200: enveloped(s.SyncStatusSerializer, "SyncStatus"),
        404: OpenApiResponse(description=_(
            "`INTEGRATION_NOT_FOUND`: no such integration in your organisation, or no sync "
            "of it with this id.")),
        **COMMON})
    def get(self, request, integration_id: int, sync_id: int):
        """A sync's status, for polling: started, running, then completed or failed."""
        integration = _integration(self, integration_id)
        run = selectors.sync_run_get(integration=integration, run_id=sync_id)
        if run is None:
            raise ServiceError(INTEGRATION_NOT_FOUND,
                               gettext("This integration has no sync with this id."),
                               details={"syncId": sync_id}, status=404)
        return answer(s.SyncStatusSerializer(run).data)


def _seconds(millis: float | None) -> str | None:
    return None if millis is None else f"{millis / 1000:.1f}s"


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class MetricsView(EnvelopeView):
    permission_classes = [IsAdmin]
    query_serializer_class = s.MetricsQuerySerializer

    @extend_schema(parameters=[s.MetricsQuerySerializer], responses={
        200: enveloped(s.MetricsOutputSerializer, "IntegrationMetrics"),
        403: FORBIDDEN_ADMIN, 429: THROTTLED})
    def get(self, request):
        """Usage of the organisation's integrations over the period, computed from
        its syncs and its exchanges with the providers (docs/integrations.md)."""
        query = self.query()
        metrics = selectors.integration_metrics(organization=self.organization(),
                                                period=query["period"],
                                                providers=query.get("providers"))
        by_provider = {}
        for provider, figures in metrics.by_provider.items():
            by_provider[provider] = {
                "integrations": figures.integrations, "syncs": figures.syncs,
                "successRate": _rate(figures.succeeded, figures.syncs),
                "averageResponseTime": _seconds(figures.average_ms)}
            if figures.messages_sent is not None:
                by_provider[provider]["messagesSent"] = figures.messages_sent
        return answer(s.MetricsOutputSerializer({
            "overview": {"totalIntegrations": metrics.total_integrations,
                         "activeIntegrations": metrics.active_integrations,
                         "totalSyncs": metrics.total_syncs,
                         "successRate": _rate(metrics.succeeded, metrics.total_syncs),
                         "averageResponseTime": _seconds(metrics.average_ms)},
            "byProvider": by_provider,
            "trends": {
                "syncVolume": [{"date": day.isoformat(), "syncs": syncs, "errors": errors}
                               for day, syncs, errors in metrics.sync_volume],
                "responseTime": [{"date": day.isoformat(), "averageTime": _seconds(mean)}
                                 for day, mean in metrics.response_time]},
            "errors": {"totalErrors": metrics.total_errors,
                       "errorRate": _rate(metrics.total_errors, metrics.total_syncs),
                       "commonErrors": [{"error": code, "count": count,
                                         "percentage": _rate(count, metrics.total_errors)}
                                        for code, count in metrics.common_errors]},
        }).data)


# -- events -----------------------------------------------------------------------------------

EVENT_NOT_FOUND = OpenApiResponse(description=_(
    "`not_found`: your organisation has no event with this id (a cancelled one included)."))


def _event(view: EnvelopeView, event_id: int) -> Event:
    event = selectors.event_get(organization=view.organization(), event_id=event_id)
    if event is None:
        raise ServiceError("not_found", gettext("Your organisation has no event with this id."),
                           details={"id": event_id}, status=404)
    return event


def _event_data(event: Event) -> dict[str, Any]:
    fresh = selectors.events_of(organization=event.organization).get(pk=event.pk)
    return s.EventOutputSerializer(fresh).data


def _event_values(validated: dict[str, Any]) -> tuple[dict[str, Any], list | None]:
    values = dict(validated)
    attendees = values.pop("attendees", None)
    values.pop("version", None)
    return values, attendees


class EventListView(EnvelopeView):
    query_serializer_class = s.PageQuerySerializer

    def allowed_query_params(self) -> set[str]:
        # A create reads no query parameter.
        return super().allowed_query_params() if self.request.method == "GET" else {"format"}

    @extend_schema(operation_id="events_list", parameters=[s.PageQuerySerializer], responses={
        200: enveloped(s.EventOutputSerializer(many=True), "EventList", paged=True), **COMMON})
    def get(self, request):
        """The organisation's events (cancelled ones left out), latest start first."""
        query = self.query()
        rows, meta = _page(selectors.events_of(organization=self.organization()),
                           page=query["page"], limit=query["limit"])
        return answer(s.EventOutputSerializer(rows, many=True).data, meta=meta)

    @extend_schema(request=s.EventInputSerializer, responses={
        201: enveloped(s.EventOutputSerializer, "EventCreated"), **COMMON})
    def post(self, request):
        """Create an event of the organisation, organised by the caller."""
        data = s.EventInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values, attendees = _event_values(data.validated_data)
        event = services.event_create(organization=self.organization(), user=request.user,
                                      data=values, attendees=attendees or ())
        return answer(_event_data(event), status=201)


class EventDetailView(EnvelopeView):
    @extend_schema(responses={200: enveloped(s.EventOutputSerializer, "Event"),
                              404: EVENT_NOT_FOUND, **COMMON})
    def get(self, request, event_id: int):
        return answer(s.EventOutputSerializer(_event(self, event_id)).data)

    def _change(self, request, event_id: int, *, partial: bool):
        event = _event(self, event_id)
        data = s.EventInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        values, attendees = _event_values(data.validated_data)
        event = services.event_update(event=event, user=request.user, data=values,
                                      attendees=attendees,
                                      expected_version=data.validated_data.get("version"))
        return answer(_event_data(event))

    CHANGE_RESPONSES = {
        200: enveloped(s.EventOutputSerializer, "EventChanged"), 404: EVENT_NOT_FOUND,
        409: OpenApiResponse(description=_(
            "`version_conflict`: the event changed since the `version` sent; read it again.")),
        **COMMON}

    @extend_schema(request=s.EventInputSerializer, responses=CHANGE_RESPONSES)
    def put(self, request, event_id: int):
        """Replace an event's fields (and its attendees, when sent)."""
        return self._change(request, event_id, partial=False)

    @extend_schema(request=s.EventInputSerializer, responses=CHANGE_RESPONSES)
    def patch(self, request, event_id: int):
        """Change the fields sent (attendees, when sent, replace the list)."""
        return self._change(request, event_id, partial=True)

    @extend_schema(responses={
        200: enveloped(s.EventCancelledSerializer, "EventCancelled"), 404: EVENT_NOT_FOUND,
        **COMMON})
    def delete(self, request, event_id: int):
        """Cancel the event: it leaves the lists; its calendar links are cleaned up by
        the sync."""
        event = services.event_cancel(event=_event(self, event_id), user=request.user)
        return answer(s.EventCancelledSerializer(event).data)


class AttendanceListView(EnvelopeView):
    query_serializer_class = s.PageQuerySerializer

    @extend_schema(parameters=[s.PageQuerySerializer], responses={
        200: enveloped(s.AttendanceOutputSerializer(many=True), "AttendanceList", paged=True),
        404: EVENT_NOT_FOUND, **COMMON})
    def get(self, request, event_id: int):
        """An event's attendees, their answers and presence; e-mails masked."""
        event = _event(self, event_id)
        query = self.query()
        rows, meta = _page(selectors.attendances_of(event=event), page=query["page"],
                           limit=query["limit"])
        return answer(s.AttendanceOutputSerializer(rows, many=True).data, meta=meta)


class SyncView(EnvelopeView):
    @extend_schema(request=s.SyncInputSerializer, responses={
        202: enveloped(s.IntegrationSyncStartedSerializer, "IntegrationSyncStarted"),
        404: NOT_FOUND,
        409: OpenApiResponse(description=_(
            "`CONNECTION_ERROR`: the integration is not connected.")),
        **COMMON})
    def post(self, request, integration_id: int):
        """Start a sync now (or get the one running): poll its `statusUrl`."""
        integration = _integration(self, integration_id)
        data = s.SyncInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        run = calendar_sync.calendar_sync_request(
            integration=integration, user=request.user, direction=values.get("direction"),
            full=(values.get("options") or {}).get("forceUpdate", False))
        status_url = reverse("integrations-sync-status",
                             kwargs={"integration_id": integration.pk, "sync_id": run.pk})
        return answer(s.IntegrationSyncStartedSerializer({
            "syncId": run.pk, "status": s.seed_sync_status(run), "startedAt": run.started_at,
            "estimatedDuration": calendar_sync.calendar_sync_estimate(integration=integration),
            "statusUrl": status_url}).data, status=202)
