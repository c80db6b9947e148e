"""Graph change-notification subscriptions on the mailbox's events.

    POST   /v1.0/subscriptions        validated, then 201 with the subscription
    GET    /v1.0/subscriptions        the calling application's subscriptions
    GET    /v1.0/subscriptions/{id}
    PATCH  /v1.0/subscriptions/{id}   {"expirationDateTime"}: renewal
    DELETE /v1.0/subscriptions/{id}   204

Create [V: resources/subscription, webhooks]: changeType (created, updated,
deleted, comma-separated), notificationUrl, resource (`me/events`,
`me/calendar/events`, `me/calendars/{id}/events`, `users/{id}/events`),
expirationDateTime, clientState (at most 128 characters). Before answering,
Graph POSTs `<notificationUrl>?validationToken=<token>` (text/plain, no
body) and wants the token back, 200 text/plain, within 10 seconds;
otherwise 400 InvalidRequest "Subscription validation request failed. …"
[V2: messages quoted by implementers]. The longest life of an Outlook event
subscription: 4230 minutes in the documentation this simulator was checked
against, 10070 minutes in what the live service answers today ("Subscription
expiration can only be 10070 minutes in the future.", code ExtensionError
[V2: several implementers]); `max_subscription_minutes`, 10070 by default.
An expired subscription is gone: it notifies nothing and renewing it is 404.

Notifications [V: webhooks]: POST to notificationUrl, `{"value": [{
subscriptionId, subscriptionExpirationDateTime, changeType, resource
("Users/<user id>/Events/<event id>"), resourceData {@odata.type,
@odata.id, @odata.etag, id}, clientState, tenantId}]}`, unsigned (the
clientState is the proof), retried on failure (Graph for up to 4 hours;
here `notification_max_attempts` times, doubling from
`notification_retry_seconds`). Every change is notified, the app's own
included, so a hub must recognise its own writes. Lifecycle notifications
are not simulated.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

from apps.core.simulator_kit.webhooks import WebhookSender

from .microsoft_calendar import Event, GraphError, Mailbox, graph_timestamp

CHANGE_TYPES = ("created", "updated", "deleted")
MAX_CLIENT_STATE = 128


class Unsigned:
    """Graph signs nothing: the clientState inside the body is the proof."""

    def headers(self, body: bytes, *, event_id: str, timestamp: int) -> dict[str, str]:
        return {}


def invalid(message: str) -> GraphError:
    return GraphError(400, "InvalidRequest", message)


@dataclass
class Subscription:
    id: str
    application_id: str
    resource: str
    calendar_id: str | None  # None: every calendar of the mailbox
    change_types: tuple[str, ...]
    notification_url: str
    client_state: str | None
    expires_at: dt.datetime
    sender: WebhookSender

    def view(self, mailbox: Mailbox) -> dict[str, Any]:
        return {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
            "id": self.id, "resource": self.resource, "applicationId": self.application_id,
            "changeType": ",".join(self.change_types), "clientState": self.client_state,
            "notificationUrl": self.notification_url, "notificationQueryOptions": None,
            "lifecycleNotificationUrl": None,
            "expirationDateTime": graph_timestamp(self.expires_at),
            "creatorId": mailbox.user_id, "includeResourceData": False,
            "latestSupportedTlsVersion": "v1_2", "encryptionCertificate": None,
            "encryptionCertificateId": None, "notificationUrlAppId": None,
        }


@dataclass(frozen=True)
class SubscriptionRequest:
    resource: str
    calendar_id: str | None
    change_types: tuple[str, ...]
    notification_url: str
    client_state: str | None
    expires_at: dt.datetime


def parse_create(body: Any, *, mailbox: Mailbox, now: dt.datetime, max_minutes: int,
                 require_https: bool) -> SubscriptionRequest:
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
    for name in ("changeType", "notificationUrl", "resource", "expirationDateTime"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise invalid(f"'{name}' is a required property for subscription creation.")
    change_types = tuple(t.strip() for t in body["changeType"].split(","))
    if not change_types or any(t not in CHANGE_TYPES for t in change_types):
        raise invalid(f"Invalid 'changeType' attribute: '{body['changeType']}'.")
    url = body["notificationUrl"]
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https") or (require_https and scheme != "https"):
        raise invalid("The Notification Url must be a valid https url.")
    client_state = body.get("clientState")
    if client_state is not None and (not isinstance(client_state, str)
                                     or len(client_state) > MAX_CLIENT_STATE):
        raise invalid(f"clientState must be a string of at most {MAX_CLIENT_STATE} characters.")
    resource = body["resource"].strip("/")
    calendar_id = _calendar_of(resource, mailbox)
    expires_at = parse_expiration(body["expirationDateTime"], now=now, max_minutes=max_minutes)
    return SubscriptionRequest(resource=body["resource"], calendar_id=calendar_id,
                               change_types=change_types, notification_url=url,
                               client_state=client_state, expires_at=expires_at)


def parse_expiration(value: Any, *, now: dt.datetime, max_minutes: int) -> dt.datetime:
    if not isinstance(value, str):
        raise invalid("'expirationDateTime' must be a date and time.")
    text = re.sub(r"(\.\d{6})\d+", r"\1", value).replace("Z", "+00:00")
    try:
        expires_at = dt.datetime.fromisoformat(text)
    except ValueError:
        raise invalid(f"The value '{value}' of 'expirationDateTime' is invalid.") from None
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=dt.UTC)
    if expires_at <= now:
        raise invalid("Subscription expiration must be in the future.")
    if expires_at - now > dt.timedelta(minutes=max_minutes):
        raise GraphError(400, "ExtensionError",
                         f"Subscription expiration can only be {max_minutes} minutes in the "
                         "future.")
    return expires_at


def _calendar_of(resource: str, mailbox: Mailbox) -> str | None:
    lowered = resource.lower()
    if lowered in ("me/events", f"users/{mailbox.user_id}/events".lower(),
                   f"users/{mailbox.mail}/events".lower()):
        return None
    if lowered == "me/calendar/events":
        return mailbox.default_calendar_id
    match = re.fullmatch(r"me/calendars/([^/]+)/events", resource, flags=re.IGNORECASE)
    if match:
        return mailbox.calendar(match.group(1)).id
    raise invalid(f"Resource '{resource}' is not supported for subscriptions on this mailbox.")


def validate_endpoint(url: str, *, timeout: float) -> None:
    """Graph's validation request; returns when the endpoint echoed the token."""
    # Graph's token is a sentence (not a secret) that the endpoint must echo.
    token = f"Validation: Testing client application reachability for subscription " \
            f"Request-Id: {uuid.uuid4()}"
    separator = "&" if "?" in url else "?"
    try:
        response = requests.post(f"{url}{separator}{urlencode({'validationToken': token})}",
                                 data=b"", headers={"Content-Type": "text/plain; charset=utf-8"},
                                 timeout=timeout, allow_redirects=False)
    except requests.Timeout:
        raise invalid("Subscription validation request timed out.") from None
    except requests.RequestException:
        raise invalid("Subscription validation request failed. The remote endpoint could not "
                      "be reached.") from None
    if response.status_code != 200:
        raise invalid("Subscription validation request failed. Notification endpoint must "
                      "respond with 200 OK to validation request.")
    content_type = response.headers.get("Content-Type", "")
    if response.text != token or not content_type.startswith("text/plain"):
        raise invalid("Subscription validation request failed. Response must exactly match "
                      "validationToken query parameter.")


def notification_body(subscription: Subscription, mailbox: Mailbox, *, change_type: str,
                      event_id: str, change_key: str) -> bytes:
    resource = f"Users/{mailbox.user_id}/Events/{event_id}"
    item: dict[str, Any] = {
        "subscriptionId": subscription.id,
        "subscriptionExpirationDateTime": graph_timestamp(subscription.expires_at),
        "changeType": change_type,
        "resource": resource,
        "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "@odata.id": resource,
                         "@odata.etag": f'W/"{change_key}"', "id": event_id},
        "tenantId": mailbox.tenant_id,
    }
    if subscription.client_state is not None:
        item["clientState"] = subscription.client_state
    return json.dumps({"value": [item]}).encode("utf-8")


class Subscriptions:
    """The mailbox's subscriptions; `notify` queues what a change sends."""

    def __init__(self, *, max_attempts: int, retry_seconds: float, clock) -> None:
        self.max_attempts = max_attempts
        self.retry_seconds = retry_seconds
        self.clock = clock
        self.clear()

    def clear(self) -> None:
        self.items: dict[str, Subscription] = {}
        self.expired: list[str] = []
        self.deleted: list[str] = []
        self.sent: list[dict[str, Any]] = []  # every notification queued, for /_sim/state

    def add(self, request: SubscriptionRequest, *, application_id: str) -> Subscription:
        subscription = Subscription(
            id=str(uuid.uuid4()), application_id=application_id, resource=request.resource,
            calendar_id=request.calendar_id, change_types=request.change_types,
            notification_url=request.notification_url, client_state=request.client_state,
            expires_at=request.expires_at,
            sender=WebhookSender(request.notification_url, Unsigned(),
                                 max_attempts=self.max_attempts,
                                 retry_seconds=self.retry_seconds, clock=self.clock))
        self.items[subscription.id] = subscription
        return subscription

    def drop_expired(self, now: dt.datetime) -> None:
        for subscription in list(self.items.values()):
            if subscription.expires_at <= now:
                del self.items[subscription.id]
                self.expired.append(subscription.id)

    def get(self, subscription_id: str, application_id: str, now: dt.datetime) -> Subscription:
        self.drop_expired(now)
        found = self.items.get(subscription_id)
        if found is None or found.application_id != application_id:
            raise GraphError(404, "ResourceNotFound", "The object was not found.")
        return found

    def delete(self, subscription: Subscription) -> None:
        del self.items[subscription.id]
        self.deleted.append(subscription.id)

    def notify(self, mailbox: Mailbox, event: Event, change_type: str,
               now: dt.datetime) -> int:
        """Queue the notification of one change on every subscription it matches."""
        self.drop_expired(now)
        queued = 0
        for subscription in self.items.values():
            if change_type not in subscription.change_types:
                continue
            if subscription.calendar_id not in (None, event.calendar_id):
                continue
            body = notification_body(subscription, mailbox, change_type=change_type,
                                     event_id=event.id, change_key=event.change_key)
            notification_id = secrets.token_hex(12)
            subscription.sender.submit(notification_id, change_type, body)
            self.sent.append({"subscriptionId": subscription.id, "changeType": change_type,
                              "eventId": event.id})
            queued += 1
        return queued

    def senders(self) -> list[WebhookSender]:
        return [s.sender for s in self.items.values()]

    def state(self, mailbox: Mailbox) -> dict[str, Any]:
        return {"active": [{**s.view(mailbox), **s.sender.counts()}
                           for s in self.items.values()],
                "expired": list(self.expired), "deleted": list(self.deleted),
                "notifications": list(self.sent)}
