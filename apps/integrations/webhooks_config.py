"""An organisation's outgoing webhooks in the seed's shape, on the core's endpoints.

The seed configures webhooks per event type ("eventCreated",
"attendanceUpdated"): enabled, url, headers, retryPolicy and filters. Each
configured type is one core `WebhookEndpoint` of the organisation (its
tenant) subscribed to that type alone; the core signs, sends, retries,
disables and guards the destinations (apps/core/outgoing.py). An endpoint
made in the admin for several types is not one of these: it keeps working
but the API neither shows nor changes it.

Replacing the configuration (`webhooks_configure`) is all or nothing: every
type is checked by the core's services, and the first refusal undoes the
others. A type left out, or sent with `enabled: false`, is disabled rather
than deleted, so its deliveries stay on record. Within a type, a key sent
replaces the stored one and a key left out is kept, as `PUT :id/settings`
merges: disabling with `{"enabled": false}` keeps the URL and headers.

A test (`webhook_test_send`) is a real delivery of an example event, run
by the outbox handler in the request (the attempt on record first, the
address checked when connecting, signed, no redirect followed), marked
`"test": true` in its data. A failed test is retried per the endpoint's
policy like any delivery: it is the receiver's fault the partner must see.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from apps.core import outgoing
from apps.core.errors import ServiceError
from apps.core.fields import MASK, mask
from apps.core.models import WebhookDelivery, WebhookEndpoint
from apps.core.operations import operation_enqueue, operation_run
from apps.integrations.models import ORGANIZATION_TENANT, Attendance, Organization
from apps.integrations.outgoing_events import ATTENDANCE_UPDATED, EVENT_CREATED

# The seed's event types, in its order.
SEED_EVENT_TYPES = (EVENT_CREATED, ATTENDANCE_UPDATED)
WEBHOOK_FAILED = "WEBHOOK_FAILED"
# The core's field names, as the seed's configuration names them.
SEED_FIELDS = {"url": "url", "headers": "headers", "filters": "filters",
               "event_types": "eventType", "secret": "secret",
               "max_retries": "retryPolicy.maxRetries",
               "backoff_multiplier": "retryPolicy.backoffMultiplier"}
# A worker may have taken the test delivery before this request could run it:
# its answer comes within the core's connect and read timeouts.
OUTCOME_WAIT_SECONDS = outgoing.CONNECT_TIMEOUT + outgoing.READ_TIMEOUT + 5.0
OUTCOME_POLL_SECONDS = 0.2


def _tenant_id(organization: Organization) -> str:
    return str(organization.pk)


def organization_endpoints(*, organization: Organization) -> dict[str, WebhookEndpoint]:
    """The endpoint of each seed event type the organisation configured (a selector).

    Of several single-type endpoints (the admin allows it) the oldest is the
    configuration's; the others keep delivering but are not shown here."""
    found: dict[str, WebhookEndpoint] = {}
    endpoints = WebhookEndpoint.objects.filter(
        tenant_type=ORGANIZATION_TENANT, tenant_id=_tenant_id(organization)).order_by("pk")
    for endpoint in endpoints:
        types = endpoint.event_types or []
        if len(types) == 1 and types[0] in SEED_EVENT_TYPES and types[0] not in found:
            found[types[0]] = endpoint
    return found


def organization_deliveries(*, organization: Organization, event_type: str | None = None,
                            status: str | None = None) -> QuerySet:
    """Deliveries to any of the organisation's endpoints, newest first (a selector)."""
    deliveries = (WebhookDelivery.objects
                  .filter(endpoint__tenant_type=ORGANIZATION_TENANT,
                          endpoint__tenant_id=_tenant_id(organization))
                  .select_related("endpoint", "operation").order_by("-created_at", "-pk"))
    if event_type:
        deliveries = deliveries.filter(event_type=event_type)
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries


# -- replacing the configuration ----------------------------------------------------------

def _seed_error(exc: ServiceError, event_type: str) -> ServiceError:
    """The core's refusal with its fields named by their path in the seed's body."""
    details: dict[str, Any] = {}
    for name, value in (exc.details or {}).items():
        if name in SEED_FIELDS:
            details[f"webhooks.{event_type}.{SEED_FIELDS[name]}"] = value
        else:
            # `rule`, `address`: what the refusal is about, kept as they are.
            details[name] = value
    return ServiceError(exc.code, exc.message, details=details, status=exc.status)


def _headers(event_type: str, sent: Mapping[str, str],
             endpoint: WebhookEndpoint | None) -> dict[str, str]:
    """The headers to store: a value sent back as it was shown (masked) keeps the
    stored one, so a client may send back what it read."""
    stored = endpoint.headers() if endpoint is not None else {}
    headers: dict[str, str] = {}
    for name, value in sent.items():
        if MASK in value:
            if name in stored and value == mask(stored[name]):
                headers[name] = stored[name]
                continue
            raise ServiceError("webhook_headers_invalid", gettext(
                "The header %(name)s holds a masked value that is not the stored one: send "
                "its value in full.") % {"name": name},
                details={f"webhooks.{event_type}.headers": [gettext(
                    "A masked value is kept only when it is the one shown.")]})
        headers[name] = value
    return headers


def _secret(sent: str | None, endpoint: WebhookEndpoint | None) -> Any:
    """The secret to give the core: unchanged (left out or sent back masked), or new."""
    if sent is None or (endpoint is not None and sent == mask(endpoint.secret())):
        return None
    return sent


def _configure_one(*, organization: Organization, event_type: str,
                   config: Mapping[str, Any], endpoint: WebhookEndpoint | None,
                   user) -> tuple[WebhookEndpoint | None, bool]:
    """Create or change the type's endpoint; (endpoint, whether its secret is new)."""
    enabled = config.get("enabled", True)
    if endpoint is None and "url" not in config:
        if not enabled:
            # Disabled and never configured: nothing to keep.
            return None, False
        raise ServiceError("webhook_url_invalid", gettext("A webhook URL is required."),
                           details={f"webhooks.{event_type}.url": [
                               gettext("A webhook URL is required.")]})
    # What is sent replaces what is stored; what is left out is kept (a new
    # webhook gets the core's defaults), as PUT :id/settings merges.
    # The URL is checked (resolved) only when sent: disabling a webhook whose
    # host no longer resolves must still work.
    values: dict[str, Any] = {}
    if "url" in config:
        values["url"] = config["url"]
    if "filters" in config:
        values["filters"] = dict(config["filters"] or {})
    if "headers" in config:
        values["headers"] = _headers(event_type, config["headers"] or {}, endpoint)
    policy = config.get("retryPolicy") or {}
    if "maxRetries" in policy:
        values["max_retries"] = policy["maxRetries"]
    if "backoffMultiplier" in policy:
        values["backoff_multiplier"] = policy["backoffMultiplier"]
    secret = _secret(config.get("secret"), endpoint)
    new_secret = False
    if endpoint is None:
        endpoint = outgoing.endpoint_create(
            event_types=[event_type], tenant_type=ORGANIZATION_TENANT,
            tenant_id=_tenant_id(organization), secret=secret or "",
            description=f"{organization.name}: {event_type}"[:200], **values)
        new_secret = not secret
    else:
        if secret is not None:
            values["secret"] = secret
        endpoint = outgoing.endpoint_update(endpoint=endpoint, **values)
    if enabled and not endpoint.is_active:
        endpoint = outgoing.endpoint_enable(endpoint=endpoint)
    elif not enabled and endpoint.is_active:
        endpoint = outgoing.endpoint_disable(
            endpoint=endpoint, reason=f"disabled through the Integrations API by "
                                      f"{user.get_username()}")
    return endpoint, new_secret


@dataclass
class Configured:
    endpoints: dict[str, WebhookEndpoint]
    # Event types whose signing secret was generated by this call: shown once in full.
    new_secrets: set[str]


def webhooks_configure(*, organization: Organization, webhooks: Mapping[str, Any],
                       user) -> Configured:
    """Replace the organisation's configuration by `webhooks` (the seed's shape,
    already checked for its keys and types): each type sent is created,
    changed (the keys sent), enabled or disabled; each type left out is disabled."""
    new_secrets: set[str] = set()
    with transaction.atomic():
        # One change at a time per organisation: two first PUTs must not each
        # create an endpoint for the same type.
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        current = organization_endpoints(organization=organization)
        for event_type in SEED_EVENT_TYPES:
            endpoint = current.get(event_type)
            config = webhooks.get(event_type)
            if config is None:
                if endpoint is not None and endpoint.is_active:
                    outgoing.endpoint_disable(
                        endpoint=endpoint, reason=f"left out of the configuration by "
                                                  f"{user.get_username()}")
                continue
            try:
                _endpoint, new_secret = _configure_one(
                    organization=organization, event_type=event_type, config=config,
                    endpoint=endpoint, user=user)
            except ServiceError as exc:
                raise _seed_error(exc, event_type) from None
            if new_secret:
                new_secrets.add(event_type)
    return Configured(endpoints=organization_endpoints(organization=organization),
                      new_secrets=new_secrets)


# -- testing -------------------------------------------------------------------------------

def example_data(event_type: str) -> dict[str, Any]:
    """An example event in the type's real shape (apps/integrations/outgoing_events.py),
    marked as a test so a receiver can tell it from a real one. Data for a
    partner's system, not text for a person: not translated."""
    start = timezone.now().replace(microsecond=0) + timedelta(days=1)
    if event_type == EVENT_CREATED:
        return {"id": 0, "title": "Webhook test", "eventType": "training",
                "start": start.isoformat().replace("+00:00", "Z"),
                "end": (start + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
                "timeZone": "UTC", "location": "", "isPrivate": False, "organizerId": None,
                "test": True}
    counts = {status: 0 for status in Attendance.Status.values}
    counts.update({Attendance.Status.PRESENT: 8, Attendance.Status.ABSENT: 2, "total": 10})
    return {"eventId": 0, "eventType": "training", "source": "test", "attendanceRate": 0.8,
            "previousAttendanceRate": 0.6, "attendanceChange": 0.2, "counts": counts,
            "test": True}


def _not_configured(event_type: str) -> ServiceError:
    return ServiceError("webhook_not_configured", gettext(
        "No webhook is configured for %(type)s: configure it first.") % {"type": event_type},
        details={"eventType": [gettext("Not configured.")]}, status=404)


def _await_outcome(delivery: WebhookDelivery) -> WebhookDelivery:
    """The delivery once its attempt has an outcome (a worker is sending it)."""
    deadline = time.monotonic() + OUTCOME_WAIT_SECONDS
    delivery.refresh_from_db()
    while delivery.status == WebhookDelivery.Status.PENDING and time.monotonic() < deadline:
        time.sleep(OUTCOME_POLL_SECONDS)
        delivery.refresh_from_db()
    return delivery


def webhook_test_send(*, organization: Organization, event_type: str) -> WebhookDelivery:
    """Send an example `event_type` event to the organisation's endpoint for it now.

    Returns the delivered delivery; a failure is a ServiceError WEBHOOK_FAILED
    (502) with the receiver's status code or the error."""
    endpoint = organization_endpoints(organization=organization).get(event_type)
    if endpoint is None:
        raise _not_configured(event_type)
    if not endpoint.is_active:
        raise ServiceError("webhook_disabled", gettext(
            "The webhook for %(type)s is disabled: enable it first.") % {"type": event_type},
            details={"eventType": [gettext("Disabled.")],
                     "disabledReason": endpoint.disabled_reason}, status=409)
    occurred = timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, event_type=event_type, message_id=outgoing.message_id_new(),
            payload={"type": event_type,
                     "timestamp": occurred.isoformat().replace("+00:00", "Z"),
                     "data": example_data(event_type)},
            created_at=occurred)
        operation, _created = operation_enqueue(
            platform=outgoing.WEBHOOKS_PLATFORM, kind=outgoing.DELIVER_KIND,
            idempotency_key=f"webhook:{delivery.message_id}",
            payload={"delivery_id": delivery.pk}, entity_type=outgoing.DELIVERY_ENTITY,
            entity_id=delivery.pk)
        delivery.operation = operation
        delivery.save(update_fields=["operation"])
    # Committed, so the worker it was handed to may claim it first: then this
    # run does nothing and the outcome is read when the worker has it.
    if operation_run(operation.pk) is None:
        delivery = _await_outcome(delivery)
    else:
        delivery.refresh_from_db()
    if delivery.status == WebhookDelivery.Status.SUCCEEDED:
        return delivery
    next_at = outgoing.next_attempt_at(delivery)
    raise ServiceError(WEBHOOK_FAILED, gettext(
        "The test delivery failed: %(error)s") % {
            "error": delivery.last_error or gettext("no answer yet")},
        details={"deliveryId": delivery.pk, "messageId": delivery.message_id,
                 "status": delivery.status, "statusCode": delivery.last_status_code,
                 "error": delivery.last_error,
                 "nextAttemptAt": next_at.isoformat() if next_at else None},
        status=502)
