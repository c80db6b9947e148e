"""Inbound channels: how each platform proves that a webhook is its own.

A `Channel` is one platform's way in: a `Verifier` (the proof it sends),
where the event id, type and send time are read, how long a delivery stays
fresh, the retry schedule of its failed events, and for thin webhooks the
fetch of the resource they only name. The inbox (`apps.core.webhooks`)
reads the body, asks the verifier for the signed content, stores, and
processes; it never knows which scheme it is running.

Every verifier has one interface: `verify(inbound, secret)` returns what the
proof covers (`Verified.content`, the content de-duplication key hashes it)
and the sender's time and event id when the scheme signs them, or raises
`WebhookRejected` with a machine-readable code. A verifier may answer a
handshake: `challenge(inbound)` before any verification (Microsoft Graph's
`validationToken`, which carries no proof), `handshake(payload, secret)`
after it (Zoom's `endpoint.url_validation`, Slack's `url_verification`).

Secrets come from the connection's credentials (`webhook_secret`, or the
credential the channel names); the deployment's default connection, whose
credentials are left empty, and a channel used without any connection read
the channel's `secret` callable instead (Symphonics: its setting).

Evidence for each platform's facts is marked as in ../shared/reference:
[V] verified in a primary source, [V2] in a secondary one, [I] inferred.
Everything inferred is a constructor argument, so a correction is a
setting of the preset, not a new verifier.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.core.registry_names import refuse_duplicate

logger = logging.getLogger(__name__)


class WebhookRejected(Exception):
    """A delivery refused, with the code and status its sender is answered."""

    def __init__(self, code: str, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


# Codes saying "this may be a forgery": such deliveries are throttled per
# source address (the others came with a valid proof).
FORGERY_CODES = frozenset({"invalid_signature", "invalid_token"})


def _forged(message: str = "The webhook signature is invalid.") -> WebhookRejected:
    return WebhookRejected("invalid_signature", message)


@dataclass(frozen=True)
class Inbound:
    """What a verifier may look at: the raw body, headers (case-insensitive), query."""

    body: bytes
    headers: Mapping[str, str]
    query: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Verified:
    """What the proof covers, and what the scheme itself signs besides the body.

    `payload`: the event, for schemes whose deliveries have no JSON body
    (Google's push channels say everything in headers); the inbox then
    processes and stores it instead of parsing the body.
    """

    content: bytes
    sent_at: datetime | None = None
    event_id: str = ""
    payload: dict[str, Any] | None = None


class Verifier(ABC):
    """One way of proving a delivery comes from the platform."""

    @abstractmethod
    def verify(self, inbound: Inbound, secret: str) -> Verified:
        """The proven content, or WebhookRejected with a machine-readable code."""

    def challenge(self, inbound: Inbound) -> HttpResponse | None:
        """An answer due before any verification (the request carries no proof)."""
        return None

    def handshake(self, payload: dict[str, Any], secret: str) -> HttpResponse | None:
        """An answer to a verified request that is a handshake, not an event."""
        return None


# -- helpers ------------------------------------------------------------------

ENCODINGS = ("hex", "base64", "base64url")


def _mac(key: bytes, content: bytes, algorithm: str = "sha256") -> bytes:
    return hmac.new(key, content, getattr(hashlib, algorithm)).digest()


def _encoded(mac: bytes, encoding: str) -> str:
    if encoding == "hex":
        return mac.hex()
    if encoding == "base64":
        return base64.b64encode(mac).decode()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def _same(expected: str, given: str, encoding: str = "") -> bool:
    """Constant-time comparison of two encoded signatures."""
    if encoding == "hex":
        given = given.lower()
    elif encoding == "base64url":
        given = given.rstrip("=")
    # As bytes: compare_digest refuses str holding non-ASCII characters,
    # which a forged header may well hold.
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def unix_time(value: str | None) -> datetime | None:
    """Integer Unix seconds from a header, or None if unreadable."""
    if not value or not value.strip().isdigit():
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _checked_encoding(encoding: str) -> None:
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown signature encoding {encoding!r}; one of {ENCODINGS}")


# -- verifiers ------------------------------------------------------------------

@dataclass(frozen=True)
class BodyHmac(Verifier):
    """An HMAC of the raw body in one header, hex or base64, with an optional prefix."""

    header: str
    prefix: str = ""
    # False: the prefix may be left out (Symphonics sends either form).
    prefix_required: bool = False
    encoding: str = "hex"
    algorithm: str = "sha256"

    def __post_init__(self) -> None:
        _checked_encoding(self.encoding)

    def verify(self, inbound: Inbound, secret: str) -> Verified:
        given = inbound.headers.get(self.header, "").strip()
        if self.prefix and given.startswith(self.prefix):
            given = given[len(self.prefix):]
        elif self.prefix and self.prefix_required:
            raise _forged()
        if not secret or not given:
            raise _forged()
        expected = _encoded(_mac(secret.encode(), inbound.body, self.algorithm), self.encoding)
        if not _same(expected, given, self.encoding):
            raise _forged()
        return Verified(content=inbound.body)


@dataclass(frozen=True)
class HeaderHmac(Verifier):
    """An HMAC of a header's value, a separator and the body (Deliveroo's sequence GUID).

    The signed header is the event id when `id_from_header` (it is unique per
    event for Deliveroo); otherwise only part of what is signed.
    """

    signature_header: str
    signed_header: str
    separator: bytes = b" "
    prefix: str = ""
    encoding: str = "hex"
    algorithm: str = "sha256"
    id_from_header: bool = True

    def __post_init__(self) -> None:
        _checked_encoding(self.encoding)

    def verify(self, inbound: Inbound, secret: str) -> Verified:
        given = inbound.headers.get(self.signature_header, "").strip()
        if self.prefix and given.startswith(self.prefix):
            given = given[len(self.prefix):]
        signed_value = inbound.headers.get(self.signed_header, "")
        if not secret or not given or not signed_value:
            raise _forged()
        content = signed_value.encode() + self.separator + inbound.body
        expected = _encoded(_mac(secret.encode(), content, self.algorithm), self.encoding)
        if not _same(expected, given, self.encoding):
            raise _forged()
        return Verified(content=content,
                        event_id=signed_value[:200] if self.id_from_header else "")


@dataclass(frozen=True)
class TimestampedHmac(Verifier):
    """`<version>=hex(HMAC(secret, "<version>:<timestamp>:<body>"))` (Slack, Zoom).

    The timestamp header is signed with the body, so its freshness is checked
    by the inbox against the channel's tolerance.
    """

    signature_header: str
    timestamp_header: str
    version: str = "v0"

    def verify(self, inbound: Inbound, secret: str) -> Verified:
        given = inbound.headers.get(self.signature_header, "").strip()
        stamp = inbound.headers.get(self.timestamp_header, "").strip()
        prefix = f"{self.version}="
        if not secret or not stamp or not given.startswith(prefix):
            raise _forged()
        content = f"{self.version}:{stamp}:".encode() + inbound.body
        if not _same(prefix + _mac(secret.encode(), content).hex(), given, "hex"):
            raise _forged()
        sent_at = unix_time(stamp)
        if sent_at is None:
            raise WebhookRejected("missing_timestamp", "The request timestamp is unreadable.", 400)
        return Verified(content=content, sent_at=sent_at)


@dataclass(frozen=True)
class SlackSignature(TimestampedHmac):
    """Slack's signing secret; answers the Events API's `url_verification` challenge."""

    signature_header: str = "X-Slack-Signature"  # [V] slack_sdk signature verifier
    timestamp_header: str = "X-Slack-Request-Timestamp"  # [V]

    def handshake(self, payload: dict[str, Any], secret: str) -> HttpResponse | None:
        # [V2] {"type": "url_verification", "challenge": ...}, answered with the
        # challenge; signed like any event, so verified before this is reached.
        if payload.get("type") != "url_verification":
            return None
        challenge = payload.get("challenge")
        if not isinstance(challenge, str) or len(challenge) > 512:
            raise WebhookRejected("invalid_body", "The challenge is missing or too long.", 400)
        return HttpResponse(challenge, content_type="text/plain; charset=utf-8")


# Zoom's plainToken is a short random string; anything else is refused, so
# the answer can never be a signature of attacker-chosen content (the
# encryptedToken is an HMAC with the same secret as the event signatures).
_ZOOM_PLAIN_TOKEN = re.compile(r"[A-Za-z0-9_\-]{1,128}")


@dataclass(frozen=True)
class ZoomSignature(TimestampedHmac):
    """Zoom's secret token: Slack's scheme under x-zm-* headers, plus URL validation."""

    signature_header: str = "x-zm-signature"  # [V2] hookdeck skill, Zoom changelog
    timestamp_header: str = "x-zm-request-timestamp"  # [V2]
    validation_event: str = "endpoint.url_validation"  # [V] Zoom changelog

    def handshake(self, payload: dict[str, Any], secret: str) -> HttpResponse | None:
        # [V] reply {plainToken, encryptedToken: hex(HMAC-SHA256(secret, plainToken))}
        # within 3 s. [I] the validation request is signed like events (Zoom's
        # sample app checks it first); it is verified before this is reached.
        if payload.get("event") != self.validation_event:
            return None
        inner = payload.get("payload")
        plain = inner.get("plainToken") if isinstance(inner, dict) else None
        if not isinstance(plain, str) or not _ZOOM_PLAIN_TOKEN.fullmatch(plain):
            raise WebhookRejected("invalid_body", "The plainToken is missing or malformed.", 400)
        encrypted = _mac(secret.encode(), plain.encode()).hex()
        return JsonResponse({"plainToken": plain, "encryptedToken": encrypted})


@dataclass(frozen=True)
class StandardWebhooks(Verifier):
    """The Standard Webhooks scheme (and Svix's, under `svix-` headers).

    [V] spec 1.0.0: base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`, key the
    base64 after `whsec_`, a space-separated list of `v1,<sig>` (several
    during a secret rotation; any one matching passes), the id an
    idempotency key kept across retries, the timestamp that of this attempt.
    """

    header_prefix: str = "webhook-"
    secret_prefix: str = "whsec_"  # noqa: S105 - the prefix, not a secret

    def verify(self, inbound: Inbound, secret: str) -> Verified:
        headers = inbound.headers
        msg_id = headers.get(f"{self.header_prefix}id", "")
        stamp = headers.get(f"{self.header_prefix}timestamp", "")
        signatures = headers.get(f"{self.header_prefix}signature", "")
        if not secret or not msg_id or not stamp or not signatures:
            raise _forged()
        try:
            key = base64.b64decode(secret.removeprefix(self.secret_prefix), validate=True)
        except (binascii.Error, ValueError):
            logger.error("A Standard Webhooks secret is not base64: every delivery is refused")
            raise _forged() from None
        content = f"{msg_id}.{stamp}.".encode() + inbound.body
        expected = base64.b64encode(_mac(key, content)).decode()
        # Every entry is compared, so the time taken does not tell which matched.
        matches = [version == "v1" and _same(expected, value)
                   for version, _, value in (entry.partition(",") for entry in signatures.split())]
        if not any(matches):
            raise _forged()
        sent_at = unix_time(stamp)
        if sent_at is None:
            raise WebhookRejected("missing_timestamp", "The webhook timestamp is unreadable.", 400)
        return Verified(content=content, sent_at=sent_at, event_id=msg_id[:200])


@dataclass(frozen=True)
class SharedToken(Verifier):
    """A secret token the platform sends back as given: in the URL we registered
    (TheFork) or in a header (Google's channel token). Nothing is signed, so the
    body is the content, and a thin payload should be trusted no further than
    the fetch it triggers."""

    query_parameter: str = ""
    header: str = ""

    def __post_init__(self) -> None:
        if bool(self.query_parameter) == bool(self.header):
            raise ValueError("a SharedToken reads either a query parameter or a header")

    def verify(self, inbound: Inbound, secret: str) -> Verified:
        if self.query_parameter:
            given = inbound.query.get(self.query_parameter, "")
        else:
            given = inbound.headers.get(self.header, "")
        if not secret or not given or not _same(secret, given):
            raise WebhookRejected("invalid_token", "The webhook token is invalid.")
        return Verified(content=inbound.body)


@dataclass(frozen=True)
class GoogleChannelToken(SharedToken):
    """Google Calendar push: a bodiless POST whose headers name the channel, the
    resource and the message number, with our channel token echoed back.

    [V] developers.google.com/workspace/calendar/api/guides/push: X-Goog-Channel-ID,
    X-Goog-Channel-Token, X-Goog-Channel-Expiration, X-Goog-Resource-ID,
    X-Goog-Resource-URI, X-Goog-Resource-State (sync, exists, not_exists) and
    X-Goog-Message-Number (1 for the first "sync" message, then increasing).
    The event is those headers; its id is "<channel id>:<message number>",
    so a redelivered notification is a duplicate and the next one is not.
    """

    header: str = "X-Goog-Channel-Token"
    # Header -> the payload's field.
    fields: tuple[tuple[str, str], ...] = (
        ("X-Goog-Channel-ID", "channelId"), ("X-Goog-Channel-Expiration", "expiration"),
        ("X-Goog-Resource-ID", "resourceId"), ("X-Goog-Resource-URI", "resourceUri"),
        ("X-Goog-Resource-State", "event"), ("X-Goog-Message-Number", "messageNumber"))

    def verify(self, inbound: Inbound, secret: str) -> Verified:
        super().verify(inbound, secret)
        payload = {name: inbound.headers.get(header, "")[:500] for header, name in self.fields}
        if not payload["channelId"] or not payload["messageNumber"].isdigit():
            raise WebhookRejected("invalid_body",
                                  "The notification has no channel id or message number.", 400)
        content = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        return Verified(content=content, payload=payload,
                        event_id=f"{payload['channelId']}:{payload['messageNumber']}"[:200])


@dataclass(frozen=True)
class Unsigned(Verifier):
    """No proof at all: only for thin webhooks whose channel fetches the resource
    with the connection's own credentials, so a forgery costs one read."""

    def verify(self, inbound: Inbound, secret: str) -> Verified:
        return Verified(content=inbound.body)


# A validation token is echoed; a longer one is no token Graph would send.
_GRAPH_TOKEN_MAX = 1024


@dataclass(frozen=True)
class GraphNotifications(Verifier):
    """Microsoft Graph change notifications.

    [V] A new subscription is validated with a POST carrying `validationToken`
    in the query, echoed as text/plain with 200 within 10 s; each notification
    in `value` carries the `clientState` given at subscription (≤ 128
    characters), compared here with the secret. Notifications are thin (the
    resource's id only): pair this with a channel `fetch`.
    """

    validation_parameter: str = "validationToken"
    client_state_field: str = "clientState"

    def challenge(self, inbound: Inbound) -> HttpResponse | None:
        token = inbound.query.get(self.validation_parameter)
        if token is None:
            return None
        if not token or len(token) > _GRAPH_TOKEN_MAX:
            raise WebhookRejected("invalid_token", "The validation token is malformed.", 400)
        return HttpResponse(token, content_type="text/plain; charset=utf-8")

    def verify(self, inbound: Inbound, secret: str) -> Verified:
        try:
            payload = json.loads(inbound.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise WebhookRejected("invalid_token", "The notification carries no clientState.") \
                from None
        items = payload.get("value") if isinstance(payload, dict) else None
        if not secret or not isinstance(items, list) or not items:
            raise WebhookRejected("invalid_token", "The notification carries no clientState.")
        for item in items:
            state = item.get(self.client_state_field) if isinstance(item, dict) else None
            if not isinstance(state, str) or not _same(secret, state):
                raise WebhookRejected("invalid_token", "A notification's clientState is wrong.")
        return Verified(content=inbound.body)


# -- presets ------------------------------------------------------------------
# The schemes of the platforms the next domains connect. A domain builds its
# Channel around one of these; what is marked [I] is a guess to confirm with
# the platform before going live.

SLACK = SlackSignature()  # [V] v0 basestring, 5-minute window (the channel's tolerance)
ZOOM = ZoomSignature()
STANDARD_WEBHOOKS = StandardWebhooks()
SVIX = StandardWebhooks(header_prefix="svix-")  # [V] svix-* unless white-labelled
# [V] lowercase hex HMAC-SHA256 of the raw body, keyed with the app's client
# secret (so the channel's credential is "client_secret"), no prefix.
UBER_EATS = BodyHmac(header="X-Uber-Signature")
# [V] hex HMAC-SHA256 of "<sequence guid> <raw body>"; legacy POS events use
# " \n " as the separator instead.
DELIVEROO = HeaderHmac(signature_header="X-Deliveroo-Hmac-Sha256",
                       signed_header="X-Deliveroo-Sequence-Guid")
DELIVEROO_LEGACY_POS = HeaderHmac(signature_header="X-Deliveroo-Hmac-Sha256",
                                  signed_header="X-Deliveroo-Sequence-Guid", separator=b" \n ")
# [V-ish] thin webhooks authenticated by a token in the URL we register; the
# parameter's name is ours to choose [I: "token", as in the reference].
THEFORK = SharedToken(query_parameter="token")
# [V] Google Calendar push: our channel token echoed in X-Goog-Channel-Token.
GOOGLE_PUSH = SharedToken(header="X-Goog-Channel-Token")
# The same token check, with the event read from the other X-Goog-* headers
# (the notification has no body): what a Google channel of the inbox uses.
GOOGLE_CALENDAR_PUSH = GoogleChannelToken()
MICROSOFT_GRAPH = GraphNotifications()
# [V] Nango: hex HMAC-SHA256 of the body. [V] Merge: base64url of the same.
NANGO = BodyHmac(header="X-Nango-Hmac-Sha256")
MERGE = BodyHmac(header="X-Merge-Webhook-Signature", encoding="base64url")


# -- channels -----------------------------------------------------------------

# Failed events are processed again after these delays, then are dead.
WEBHOOK_RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))

# fetch(event=..., payload=...) -> the payload handed to the processor.
Fetch = Callable[..., dict[str, Any]]
# acknowledge(event_id, duplicate) -> the answer a platform expects.
Acknowledge = Callable[[str, bool], HttpResponse]


@dataclass(frozen=True)
class Channel:
    """One platform's way into the inbox."""

    platform: str
    verifier: Verifier
    # The secret when no connection holds one: the deployment's default
    # connection configured from the environment, or a channel served
    # without connections. Read at each delivery, so a rotated setting needs
    # no restart.
    secret: Callable[[], str] | None = None
    # Which credential of the connection holds the secret.
    credential: str = "webhook_secret"
    event_id_header: str = ""
    event_id_field: str = "id"
    event_type_field: str = "event"
    # A send time in the JSON body, required when named (for schemes that do
    # not sign one in a header).
    timestamp_field: str = ""
    tolerance: timedelta = timedelta(minutes=5)
    # A platform sending the same body for distinct changes with neither an
    # id nor a time (thin webhooks): deliveries of one body within this
    # window are one event, later ones a new change.
    repeat_window: timedelta | None = None
    fetch: Fetch | None = None
    retry_delays: tuple[timedelta, ...] = WEBHOOK_RETRY_DELAYS
    acknowledge: Acknowledge | None = None

    def event_id(self, headers: Mapping[str, str], payload: dict[str, Any], body: bytes,
                 received_at: datetime) -> str:
        if self.event_id_header and headers.get(self.event_id_header):
            return headers[self.event_id_header][:200]
        if self.event_id_field and payload.get(self.event_id_field):
            return str(payload[self.event_id_field])[:200]
        # No id from the platform: an identical body is the same event.
        return "sha256:" + hashlib.sha256(body).hexdigest() + self.repeat_suffix(received_at)

    def repeat_suffix(self, received_at: datetime) -> str:
        if self.repeat_window is None:
            return ""
        return f"@{int(received_at.timestamp() // self.repeat_window.total_seconds())}"

    def timestamp(self, payload: dict[str, Any]) -> datetime | None:
        """When the platform sent the event (aware), from the JSON; None if unreadable."""
        value = payload.get(self.timestamp_field)
        try:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return datetime.fromtimestamp(value, tz=UTC)
            if isinstance(value, str):
                sent_at = parse_datetime(value)
                if sent_at is not None and timezone.is_naive(sent_at):
                    # ISO 8601 without an offset: platforms mean UTC.
                    sent_at = sent_at.replace(tzinfo=UTC)
                return sent_at
        except (ValueError, OverflowError, OSError):
            # An impossible date, or epoch milliseconds read as seconds.
            return None
        return None

    def secret_for(self, connection: Any) -> str:
        """The secret that proves deliveries to `connection` (None: no connection).

        Raises CredentialsUnreadable when the connection's credentials cannot
        be decrypted.
        """
        if connection is not None:
            value = getattr(connection.credentials(), self.credential, "")
            if value or not connection.is_default:
                return value or ""
        return self.secret() if self.secret is not None else ""

    def key_prefix(self, connection: Any) -> str:
        return dedupe_prefix(self.platform, connection)


def dedupe_prefix(platform: str, connection: Any) -> str:
    """What de-duplication keys start with: events of two connections of one
    platform never clash; the default connection keeps the keys the inbox
    used before connections existed, so a delivery repeated across the
    upgrade is still a duplicate."""
    if connection is None or connection.is_default:
        return platform
    return f"{platform}:{connection.pk}"


_channels: dict[str, Channel] = {}


def channel_register(channel: Channel) -> Channel:
    """Serve `channel` at /api/webhooks/<platform>/<connection id>/ (one per platform)."""
    if _channels.get(channel.platform) != channel:
        refuse_duplicate(_channels, channel.platform, channel)
    _channels[channel.platform] = channel
    return channel


def channel_for(platform: str) -> Channel | None:
    return _channels.get(platform)
