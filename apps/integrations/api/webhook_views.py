"""/api/integrations/webhooks: the organisation's outgoing webhooks, in the seed's
envelope (apps/integrations/api/envelope.py), for Managers and Admins.

The services are apps/integrations/webhooks_config.py, on the core's endpoints
(apps/core/outgoing.py); the organisation is their tenant.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema

from apps.integrations import webhooks_config
from apps.integrations.api import webhook_serializers as ws
from apps.integrations.api.envelope import answer, enveloped
from apps.integrations.api.views import COMMON, EnvelopeView, _page

INVALID = OpenApiResponse(description=_(
    "`unknown_field` or `validation_error`: a key the configuration does not have or a "
    "value of the wrong type; the core's codes (`webhook_url_not_public`, ...) for a rule "
    "an endpoint breaks, with `details.rule` (`public_addresses_only`: the URL resolves to "
    "a private, loopback or link-local address). `details` names the field by its path "
    "(`webhooks.eventCreated.url`)."))
FAILED = OpenApiResponse(description=_(
    "`WEBHOOK_FAILED`: the receiver did not accept the test delivery; `details` has its "
    "status code or the error, and when it will be retried."))
NOT_CONFIGURED = OpenApiResponse(description=_(
    "`webhook_not_configured`: no webhook is configured for this event type."))
DISABLED = OpenApiResponse(description=_(
    "`webhook_disabled`: the webhook is disabled; enable it (PUT) first."))


class WebhooksView(EnvelopeView):
    @extend_schema(operation_id="integrations_webhooks_get", responses={
        200: enveloped(ws.WebhooksOutputSerializer, "Webhooks"), **COMMON})
    def get(self, request):
        """The organisation's webhooks per event type; headers and secrets masked."""
        endpoints = webhooks_config.organization_endpoints(organization=self.organization())
        return answer(ws.WebhooksOutputSerializer.of(endpoints))

    @extend_schema(operation_id="integrations_webhooks_put", request=ws.WebhooksInputSerializer,
                   responses={200: enveloped(ws.WebhooksOutputSerializer, "WebhooksChanged"),
                              400: INVALID, **COMMON})
    def put(self, request):
        """Replace the configuration: each event type sent is created, changed (the keys
        sent; those left out are kept), enabled or disabled; one left out is disabled.
        A generated secret is shown in full in this answer only."""
        data = ws.WebhooksInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        configured = webhooks_config.webhooks_configure(
            organization=self.organization(), webhooks=data.validated_data["webhooks"],
            user=request.user)
        return answer(ws.WebhooksOutputSerializer.of(configured.endpoints,
                                                     configured.new_secrets))


class WebhookTestView(EnvelopeView):
    @extend_schema(operation_id="integrations_webhooks_test",
                   request=ws.WebhookTestInputSerializer, responses={
        200: enveloped(ws.WebhookTestOutputSerializer, "WebhookTest"),
        404: NOT_CONFIGURED, 409: DISABLED, 502: FAILED, **COMMON})
    def post(self, request):
        """Send a signed example event to the webhook now and answer its outcome."""
        data = ws.WebhookTestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        delivery = webhooks_config.webhook_test_send(
            organization=self.organization(), event_type=data.validated_data["eventType"])
        return answer(ws.WebhookTestOutputSerializer(delivery).data)


class WebhookDeliveriesView(EnvelopeView):
    query_serializer_class = ws.DeliveriesQuerySerializer

    @extend_schema(operation_id="integrations_webhooks_deliveries_list",
                   parameters=[ws.DeliveriesQuerySerializer], responses={
        200: enveloped(ws.DeliveryOutputSerializer(many=True), "WebhookDeliveries",
                       paged=True), **COMMON})
    def get(self, request):
        """The organisation's deliveries, newest first, `limit` a page."""
        query = self.query()
        deliveries = webhooks_config.organization_deliveries(
            organization=self.organization(), event_type=query.get("eventType"),
            status=query.get("status"))
        rows, meta = _page(deliveries, page=query["page"], limit=query["limit"])
        return answer(ws.DeliveryOutputSerializer(rows, many=True).data, meta=meta)
