"""Outgoing webhooks: events the hub sends to partners' URLs, signed per Standard Webhooks.

A domain registers the event types it emits (`webhook_event_type_register`)
and calls `webhook_emit(event_type=, payload=, tenant_type=, tenant_id=)` in
the transaction of the change: each active endpoint of that tenant that
subscribed to the type, and whose filters match, gets a `WebhookDelivery`
and an outbox operation, both committed with the change.

The outbox handler sends one attempt per run:
  endpoint still active? → audit row "started" (the attempt, before the
  request) → host resolved and every address checked, the socket opened to
  the address that was checked → POST, signed, no redirect followed →
  audit row updated → 2xx delivered; 410 Gone: dead and the endpoint
  disabled (the spec's advice); anything else (3xx included) retried after
  60 s × backoff_multiplier^(n-1) (never sooner than a Retry-After), up to
  the endpoint's max_retries, then dead. Every failure is retried, 4xx too,
  as Svix and the spec's schedule do: a receiver's 404 during a deployment
  is as temporary as its 500. After OUTGOING_WEBHOOKS_DISABLE_AFTER
  consecutive dead deliveries the endpoint is disabled with an attention
  item, which `endpoint_enable` clears.

DNS rebinding: the address is checked at connect time, inside the HTTP
connection itself, and the socket is opened to exactly the address that
passed the check (TLS still verifies the certificate against the host
name). A check before the request followed by requests' own lookup would
let a hostile DNS server answer a public address to the check and
127.0.0.1 to the connection a millisecond later. Environment proxies are
ignored for the same reason: a proxy would resolve the name itself.

Delivery is at least once: an attempt whose answer was lost is sent again
with the same `webhook-id`, which receivers de-duplicate by; nothing is
reconciled, since a receiver has no API to ask.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import random
import re
import secrets
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from apps.core.attention import attention_clear, attention_raise
from apps.core.audit import LogContext, synclog_finish, synclog_start
from apps.core.errors import ServiceError
from apps.core.http import PermanentError, TransientError, parse_retry_after
from apps.core.models import OutboundOperation, SyncLog, WebhookDelivery, WebhookEndpoint
from apps.core.operations import (
    Done,
    RetrySchedule,
    operation_enqueue,
    operation_handler,
    operation_reopen,
)
from apps.core.redaction import DEFAULT_SENSITIVE_KEYS, normalise_key, redact_body, redact_headers
from apps.core.registry_names import refuse_duplicate

# The outbox's platform and kind for deliveries, and the attention kind of a
# disabled endpoint.
WEBHOOKS_PLATFORM = "webhooks"
DELIVER_KIND = "core.webhook.deliver"
ENDPOINT_DISABLED = "webhooks.endpoint_disabled"
DELIVERY_ENTITY = "core.webhookdelivery"

# Retry policy bounds a partner may choose (the seed's default: 3 and 2).
MAX_RETRIES_LIMIT = 10
MIN_BACKOFF_MULTIPLIER = 1.0
MAX_BACKOFF_MULTIPLIER = 10.0
# The first retry waits this long; each next one backoff_multiplier times
# longer. A minute lets a receiver that is restarting come back.
FIRST_RETRY_SECONDS = 60.0
# No wait longer than a day, whatever the multiplier or a Retry-After say.
MAX_RETRY_SECONDS = 86_400.0
# Each wait is lengthened by up to this fraction, never shortened: the
# deliveries one outage failed together do not all come back in one second.
RETRY_JITTER = 0.1
# Standard Webhooks recommends 15-30 s for the answer; connecting is quick or never.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
# Only the start of a receiver's answer is read and kept: it is for a
# manager's eyes, and a hostile receiver must not stream gigabytes at us.
RESPONSE_KEEP_BYTES = 2048
# Secrets: Standard Webhooks asks for 24 to 64 random bytes; ours have 32.
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix, not a secret
SECRET_BYTES = 32
MAX_HEADERS = 20
MAX_HEADER_VALUE_LENGTH = 1000
MAX_URL_LENGTH = 500
USER_AGENT = "workforce-hub-webhooks/1"

# The outbox's own schedule for this kind is only a floor and a backstop:
# the handler passes the endpoint's wait as `retry_after` (the outbox keeps
# the longer of the two) and itself ends the delivery after max_retries.
# The floor slows down a handler that crashes before it can decide.
_FLOOR = RetrySchedule(delays=(5.0,) * MAX_RETRIES_LIMIT, jitter=0)
_rng = random.Random()  # noqa: S311 - jitter, not security


# -- event types a domain emits -------------------------------------------------------

FILTER_KINDS = ("in", "min", "min_abs")


@dataclass(frozen=True)
class WebhookFilter:
    """A filter an endpoint may set on an event type.

    `name` is the key in the endpoint's filters ("eventTypes"), `field` the
    dotted path of the value in the event's payload ("eventType"), and
    `kind` how they compare: "in" (the value is one of a list), "min" (the
    value is at least a number), "min_abs" (its absolute value is). An
    event whose payload lacks the field does not match: the partner asked
    only for the events the filter lets through.
    """

    name: str
    field: str
    kind: str

    def __post_init__(self) -> None:
        if self.kind not in FILTER_KINDS:
            raise ValueError(f"unknown filter kind {self.kind!r}; one of {FILTER_KINDS}")


@dataclass(frozen=True)
class WebhookEventType:
    name: str
    domain: str
    description: str = ""
    filters: tuple[WebhookFilter, ...] = ()

    def filter_named(self, name: str) -> WebhookFilter | None:
        return next((f for f in self.filters if f.name == name), None)


_event_types: dict[str, WebhookEventType] = {}


def webhook_event_type_register(event_type: WebhookEventType) -> WebhookEventType:
    """Declare an event type a domain emits (from its AppConfig or its module).

    The same declaration twice is harmless; another one under a taken name is refused."""
    if _event_types.get(event_type.name) == event_type:
        return _event_types[event_type.name]
    refuse_duplicate(_event_types, event_type.name, event_type)
    _event_types[event_type.name] = event_type
    return event_type


def webhook_event_types() -> list[WebhookEventType]:
    return sorted(_event_types.values(), key=lambda t: t.name)


# -- destinations: public addresses only ---------------------------------------------

# NAT64's well-known prefix (RFC 6052) carries an IPv4 address in its last 32 bits.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class UnsafeDestination(Exception):
    """A webhook host resolves to an address deliveries may not reach.

    Not an OSError on purpose: urllib3 would wrap an OSError into a
    connection error and retry; this one stops the request where it is."""

    def __init__(self, host: str, address: str, rule: str) -> None:
        super().__init__(f"{host} resolves to {address}, a {rule} address: webhooks are "
                         f"delivered only to public addresses")
        self.host, self.address, self.rule = host, address, rule


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, Teredo, NAT64)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_refusal(text: str) -> str:
    """Why an address may not receive webhooks ("loopback", ...), or "" if it may."""
    address = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        # Python before 3.13 does not look inside ::ffff:127.0.0.1.
        if embedded is not None:
            refusal = address_refusal(str(embedded))
            if refusal:
                return refusal
    checks = (("unspecified", address.is_unspecified), ("loopback", address.is_loopback),
              ("link-local", address.is_link_local), ("multicast", address.is_multicast),
              ("private", address.is_private), ("reserved", address.is_reserved))
    for rule, hit in checks:
        if hit:
            return rule
    # Shared address space (100.64.0.0/10) and the like: not private, not global either.
    return "" if address.is_global else "non-public"


def resolve_public(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, refused if any one of them is not public.

    All of them, not the first: a name answering one public and one private
    address would otherwise reach the private one on a later connection."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        rule = address_refusal(address)
        if rule:
            raise UnsafeDestination(host, address, rule)
    return addresses


class _PublicOnly:
    """A urllib3 connection that resolves its host itself, refuses any address
    that is not public, and connects to the address it checked."""

    def _new_conn(self) -> socket.socket:
        if settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE:
            return super()._new_conn()
        host = self._dns_host
        try:
            addresses = resolve_public(host, self.port)
        except socket.gaierror as exc:
            raise NewConnectionError(self, f"Failed to resolve {host}: {exc}") from exc
        last_error: Exception | None = None
        for address in addresses:
            # urllib3 opens the socket to `_dns_host`; TLS (server_hostname,
            # certificate) keeps using `host`, the name in the URL.
            self._dns_host = address
            try:
                return super()._new_conn()
            except (NewConnectionError, ConnectTimeoutError) as exc:
                last_error = exc
            finally:
                self._dns_host = host
        assert last_error is not None  # resolve_public returns at least one address
        raise last_error


class _PublicHTTPConnection(_PublicOnly, HTTPConnection):
    pass


class _PublicHTTPSConnection(_PublicOnly, HTTPSConnection):
    pass


class _PublicHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PublicHTTPConnection


class _PublicHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


class _PublicOnlyAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _PublicHTTPPool,
                                                   "https": _PublicHTTPSPool}


def _session() -> requests.Session:
    """A session for one attempt: its connections are checked when they open,
    and none outlives the attempt (a pooled one would skip the next check)."""
    session = requests.Session()
    # No HTTP(S)_PROXY from the environment: a proxy resolves names itself.
    session.trust_env = False
    adapter = _PublicOnlyAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# -- signing (Standard Webhooks 1.0, symmetric) --------------------------------------

def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,` + base64 HMAC-SHA256 of `{msg_id}.{timestamp}.{body}`, keyed with
    the base64-decoded secret after `whsec_`."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(_secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def message_id_new() -> str:
    # 24 random bytes, base64url without padding: no full stop, ever.
    return "msg_" + base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")


def delivery_body(delivery: WebhookDelivery) -> bytes:
    """The bytes sent and signed: compact JSON, keys sorted (jsonb keeps its own order)."""
    return json.dumps(delivery.payload, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


# -- validation of an endpoint ----------------------------------------------------

def _refuse(code: str, field: str, message: Any, **details: Any) -> ServiceError:
    return ServiceError(code, str(message), details={field: [str(message)], **details})


def _clean_url(url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise _refuse("webhook_url_invalid", "url", _("A webhook URL is required."))
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise _refuse("webhook_url_invalid", "url",
                      _("A webhook URL has at most %(limit)d characters.")
                      % {"limit": MAX_URL_LENGTH})
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise _refuse("webhook_url_invalid", "url",
                      _("This is not a valid URL.")) from None
    if parts.scheme not in ("http", "https"):
        raise _refuse("webhook_url_scheme", "url",
                      _("Webhook URLs must start with http:// or https://."),
                      rule="http_or_https_only")
    if not parts.hostname:
        raise _refuse("webhook_url_invalid", "url", _("The URL has no host name."))
    if parts.username or parts.password:
        raise _refuse("webhook_url_credentials", "url",
                      _("Put credentials in a header, not in the URL: headers are stored "
                        "encrypted, URLs are shown and logged."),
                      rule="no_credentials_in_url")
    if settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE:
        return url
    try:
        resolve_public(parts.hostname, port)
    except UnsafeDestination as exc:
        raise _refuse(
            "webhook_url_not_public", "url",
            _("Rule \"public addresses only\": %(host)s resolves to %(address)s, a %(rule)s "
              "address. Webhooks are delivered only to public Internet addresses.")
            % {"host": exc.host, "address": exc.address, "rule": exc.rule},
            rule="public_addresses_only", address=exc.address) from None
    except (socket.gaierror, UnicodeError):
        raise _refuse("webhook_url_unresolvable", "url",
                      _("The host name %(host)s does not resolve.") % {"host": parts.hostname},
                      rule="host_must_resolve") from None
    return url


def _clean_event_types(event_types: Any) -> list[str]:
    if not isinstance(event_types, list | tuple) or not event_types:
        raise _refuse("webhook_event_types_invalid", "event_types",
                      _("Choose at least one event type."))
    unknown = [str(name) for name in event_types if name not in _event_types]
    if unknown:
        raise _refuse("webhook_event_type_unknown", "event_types",
                      _("Unknown event type(s): %(names)s. Known: %(known)s.")
                      % {"names": ", ".join(unknown),
                         "known": ", ".join(sorted(_event_types)) or "-"})
    return list(dict.fromkeys(event_types))


def _clean_filters(filters: Any, event_types: list[str]) -> dict[str, Any]:
    if filters in (None, ""):
        return {}
    if not isinstance(filters, dict):
        raise _refuse("webhook_filters_invalid", "filters", _("Filters are a JSON object."))
    declared = {f.name: f for name in event_types for f in _event_types[name].filters}
    for name, value in filters.items():
        declared_filter = declared.get(name)
        if declared_filter is None:
            raise _refuse("webhook_filter_unknown", "filters",
                          _("Unknown filter %(name)s for these event types; known: %(known)s.")
                          % {"name": name, "known": ", ".join(sorted(declared)) or "-"})
        if declared_filter.kind == "in":
            if (not isinstance(value, list) or not value
                    or not all(isinstance(item, str) for item in value)):
                raise _refuse("webhook_filter_invalid", "filters",
                              _("Filter %(name)s is a non-empty list of texts.")
                              % {"name": name})
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise _refuse("webhook_filter_invalid", "filters",
                          _("Filter %(name)s is a number.") % {"name": name})
    return dict(filters)


# RFC 9110 token characters.
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Headers the delivery itself sets, or that would break its framing.
_RESERVED_HEADERS = frozenset({
    "webhook-id", "webhook-timestamp", "webhook-signature", "host", "content-length",
    "transfer-encoding", "connection", "te", "trailer", "upgrade", "keep-alive",
    "proxy-authorization", "proxy-connection", "expect",
})


def _clean_headers(headers: Any) -> dict[str, str]:
    if headers in (None, ""):
        return {}
    if not isinstance(headers, dict):
        raise _refuse("webhook_headers_invalid", "headers", _("Headers are a JSON object."))
    if len(headers) > MAX_HEADERS:
        raise _refuse("webhook_headers_invalid", "headers",
                      _("At most %(limit)d headers.") % {"limit": MAX_HEADERS})
    cleaned: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise _refuse("webhook_headers_invalid", "headers",
                          _("%(name)s is not a valid header name.") % {"name": name})
        if name.lower() in _RESERVED_HEADERS:
            raise _refuse("webhook_headers_invalid", "headers",
                          _("The header %(name)s is set by the delivery itself.")
                          % {"name": name})
        if (not isinstance(value, str) or len(value) > MAX_HEADER_VALUE_LENGTH
                or any(c in value for c in "\r\n\0")):
            raise _refuse("webhook_headers_invalid", "headers",
                          _("The value of %(name)s must be one line of text.") % {"name": name})
        if name.lower() == "content-type" and not value.lower().startswith("application/json"):
            raise _refuse("webhook_headers_invalid", "headers",
                          _("The body is JSON: Content-Type can only be application/json."))
        cleaned[name] = value
    return cleaned


def _clean_secret(secret: Any) -> str:
    if not secret:
        return secret_generate()
    try:
        if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
            raise ValueError
        size = len(_secret_key(secret))
    except (ValueError, binascii.Error):
        raise _refuse("webhook_secret_invalid", "secret",
                      _("A signing secret is \"whsec_\" followed by base64.")) from None
    if not 24 <= size <= 64:
        raise _refuse("webhook_secret_invalid", "secret",
                      _("A signing secret holds 24 to 64 random bytes (Standard Webhooks)."))
    return secret


def _clean_policy(max_retries: Any, backoff_multiplier: Any) -> tuple[int, float]:
    if (isinstance(max_retries, bool) or not isinstance(max_retries, int)
            or not 0 <= max_retries <= MAX_RETRIES_LIMIT):
        raise _refuse("webhook_retry_policy_invalid", "max_retries",
                      _("maxRetries is a whole number from 0 to %(limit)d.")
                      % {"limit": MAX_RETRIES_LIMIT})
    if (isinstance(backoff_multiplier, bool) or not isinstance(backoff_multiplier, int | float)
            or not MIN_BACKOFF_MULTIPLIER <= backoff_multiplier <= MAX_BACKOFF_MULTIPLIER):
        raise _refuse("webhook_retry_policy_invalid", "backoff_multiplier",
                      _("backoffMultiplier is a number from %(low)s to %(high)s.")
                      % {"low": MIN_BACKOFF_MULTIPLIER, "high": MAX_BACKOFF_MULTIPLIER})
    return max_retries, float(backoff_multiplier)


# -- endpoints: services -------------------------------------------------------------

_UNSET: Any = object()


def endpoint_check(*, url: str, event_types: list[str], filters: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None, secret: str = "",
                   max_retries: int = 3, backoff_multiplier: float = 2.0) -> dict[str, Any]:
    """Every rule of an endpoint, checked as the services check them (for a form
    that shows the errors before saving); the cleaned values, or ServiceError
    whose details name the field."""
    event_types = _clean_event_types(event_types)
    max_retries, backoff_multiplier = _clean_policy(max_retries, backoff_multiplier)
    return {"url": _clean_url(url), "event_types": event_types,
            "filters": _clean_filters(filters, event_types), "headers": _clean_headers(headers),
            "secret": _clean_secret(secret), "max_retries": max_retries,
            "backoff_multiplier": backoff_multiplier}


def endpoint_create(*, url: str, event_types: list[str], tenant_type: str = "",
                    tenant_id: str = "", description: str = "",
                    filters: dict[str, Any] | None = None,
                    headers: dict[str, str] | None = None, secret: str = "",
                    max_retries: int = 3, backoff_multiplier: float = 2.0) -> WebhookEndpoint:
    """A new endpoint, checked as a whole; an empty `secret` gets a fresh one."""
    values = endpoint_check(url=url, event_types=event_types, filters=filters, headers=headers,
                            secret=secret, max_retries=max_retries,
                            backoff_multiplier=backoff_multiplier)
    endpoint = WebhookEndpoint(
        tenant_type=tenant_type, tenant_id=str(tenant_id), description=description,
        url=values["url"], event_types=values["event_types"], filters=values["filters"],
        max_retries=values["max_retries"], backoff_multiplier=values["backoff_multiplier"])
    endpoint.set_headers(values["headers"])
    endpoint.set_secret(values["secret"])
    endpoint.save()
    return endpoint


def endpoint_update(*, endpoint: WebhookEndpoint, url: str = _UNSET,
                    event_types: list[str] = _UNSET, description: str = _UNSET,
                    filters: dict[str, Any] = _UNSET, headers: dict[str, str] = _UNSET,
                    secret: str = _UNSET, max_retries: int = _UNSET,
                    backoff_multiplier: float = _UNSET) -> WebhookEndpoint:
    """Change what is given; what is left out stays. `headers={}` removes them all,
    `secret=""` generates a new one. Everything is checked before anything is
    changed: a refused update leaves the endpoint (and the caller's copy) as it was."""
    new_url = endpoint.url if url is _UNSET else _clean_url(url)
    new_types = (endpoint.event_types if event_types is _UNSET
                 else _clean_event_types(event_types))
    # Filters are checked against the event types as they will be, whichever changed.
    new_filters = _clean_filters(endpoint.filters if filters is _UNSET else filters, new_types)
    new_retries, new_multiplier = _clean_policy(
        endpoint.max_retries if max_retries is _UNSET else max_retries,
        endpoint.backoff_multiplier if backoff_multiplier is _UNSET else backoff_multiplier)
    new_headers = None if headers is _UNSET else _clean_headers(headers)
    new_secret = None if secret is _UNSET else _clean_secret(secret)
    endpoint.url, endpoint.event_types, endpoint.filters = new_url, new_types, new_filters
    endpoint.max_retries, endpoint.backoff_multiplier = new_retries, new_multiplier
    if description is not _UNSET:
        endpoint.description = description
    if new_headers is not None:
        endpoint.set_headers(new_headers)
    if new_secret is not None:
        endpoint.set_secret(new_secret)
    endpoint.save()
    return endpoint


def endpoint_enable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A manager's "re-enable": deliveries resume, the attention item is settled.

    The URL is checked again: it may resolve elsewhere since it was saved."""
    with transaction.atomic():
        current = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        _clean_url(current.url)
        current.is_active, current.disabled_at, current.disabled_reason = True, None, ""
        current.consecutive_failures = 0
        current.save(update_fields=["is_active", "disabled_at", "disabled_reason",
                                    "consecutive_failures", "updated_at"])
        attention_clear(kind=ENDPOINT_DISABLED, subject=current)
    return current


def endpoint_disable(*, endpoint: WebhookEndpoint, reason: str) -> WebhookEndpoint:
    """Stop deliveries to it (an owner's choice: no attention item)."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
        is_active=False, disabled_at=timezone.now(), disabled_reason=reason[:1000],
        updated_at=timezone.now())
    endpoint.refresh_from_db()
    return endpoint


def _disable_failing(endpoint: WebhookEndpoint, reason: str) -> bool:
    """Disable an endpoint that keeps failing; True if this call disabled it."""
    now = timezone.now()
    disabled = WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
        is_active=False, disabled_at=now, disabled_reason=reason[:1000], updated_at=now)
    if disabled:
        attention_raise(
            domain=WEBHOOKS_PLATFORM, kind=ENDPOINT_DISABLED, subject=endpoint,
            summary=gettext_noop("Webhook endpoint %(url)s disabled: %(reason)s"),
            values={"url": endpoint.url, "reason": reason},
            action_hint=gettext_noop("Have the receiver fixed, then re-enable the endpoint "
                                     "and redeliver what it missed."))
    return bool(disabled)


# -- emitting ---------------------------------------------------------------------

def _field(payload: Any, path: str) -> Any:
    value = payload
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _UNSET
        value = value[part]
    return value


def _filters_match(endpoint: WebhookEndpoint, event_type: WebhookEventType,
                   payload: Mapping[str, Any]) -> bool:
    for name, wanted in (endpoint.filters or {}).items():
        declared = event_type.filter_named(name)
        if declared is None:
            # A filter of another event type this endpoint subscribed to.
            continue
        value = _field(payload, declared.field)
        if value is _UNSET:
            return False
        if declared.kind == "in":
            if str(value) not in wanted:
                return False
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if (abs(value) if declared.kind == "min_abs" else value) < wanted:
            return False
    return True


def webhook_emit(*, event_type: str, payload: dict[str, Any], tenant_type: str,
                 tenant_id: str | int) -> list[WebhookDelivery]:
    """One delivery per active, subscribed, matching endpoint of the tenant, each
    with its outbox operation, in the caller's transaction (nothing is sent if
    it rolls back)."""
    declared = _event_types.get(event_type)
    if declared is None:
        raise ValueError(f"webhook event type {event_type!r} is not registered")
    occurred = timezone.now()
    endpoints = WebhookEndpoint.objects.filter(tenant_type=tenant_type, tenant_id=str(tenant_id),
                                               is_active=True).order_by("pk")
    deliveries = []
    with transaction.atomic():
        for endpoint in endpoints:
            if event_type not in (endpoint.event_types or []):
                continue
            if not _filters_match(endpoint, declared, payload):
                continue
            delivery = WebhookDelivery.objects.create(
                endpoint=endpoint, event_type=event_type, message_id=message_id_new(),
                payload={"type": event_type,
                         "timestamp": occurred.isoformat().replace("+00:00", "Z"),
                         "data": payload},
                created_at=occurred)
            delivery.operation = _enqueue(delivery)
            delivery.save(update_fields=["operation"])
            deliveries.append(delivery)
    return deliveries


def _enqueue(delivery: WebhookDelivery, key_suffix: str = "") -> OutboundOperation:
    operation, _created = operation_enqueue(
        platform=WEBHOOKS_PLATFORM, kind=DELIVER_KIND,
        idempotency_key=f"webhook:{delivery.message_id}{key_suffix}",
        payload={"delivery_id": delivery.pk}, entity_type=DELIVERY_ENTITY,
        entity_id=delivery.pk)
    return operation


def delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send it again with the SAME message id (receivers de-duplicate by it),
    with the endpoint's retry policy afresh."""
    with transaction.atomic():
        current = (WebhookDelivery.objects.select_for_update(of=("self",))
                   .select_related("endpoint").get(pk=delivery.pk))
        if not current.endpoint.is_active:
            raise ServiceError("webhook_endpoint_disabled",
                               str(_("The endpoint is disabled: re-enable it first.")),
                               status=409)
        if current.operation_id is None:
            # Its operation was purged: a new one, under a key of its own.
            current.operation = _enqueue(current, f":{current.attempts}")
        else:
            try:
                operation_reopen(operation=current.operation)
            except ValueError:
                raise ServiceError("webhook_delivery_in_flight",
                                   str(_("The delivery is being sent right now.")),
                                   status=409) from None
        current.status = WebhookDelivery.Status.PENDING
        current.save(update_fields=["status", "operation"])
    return current


# -- sending --------------------------------------------------------------------------

@dataclass
class _Attempt:
    status_code: int | None = None
    error: str = ""
    retry_after: float | None = None
    refused: bool = False

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def retry_delay(endpoint: WebhookEndpoint, retry_number: int) -> float:
    """Seconds before retry number `retry_number` (1 for the first), without jitter."""
    return min(FIRST_RETRY_SECONDS * endpoint.backoff_multiplier ** (retry_number - 1),
               MAX_RETRY_SECONDS)


@operation_handler(DELIVER_KIND, retry_schedule=_FLOOR)
def deliver(operation: OutboundOperation, *, reconcile: bool) -> Done:
    # `reconcile` is not used: a receiver has no API to ask whether it got
    # a message, and resending under the same webhook-id is the contract.
    delivery = (WebhookDelivery.objects.select_related("endpoint")
                .filter(pk=operation.payload.get("delivery_id")).first())
    if delivery is None:
        return Done({"skipped": "delivery deleted"})
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        _delivery_save(delivery, status=WebhookDelivery.Status.DEAD,
                       last_error="endpoint disabled: not sent")
        return Done({"skipped": "endpoint disabled"})

    attempt = _send(delivery, endpoint, operation)
    if attempt.succeeded:
        now = timezone.now()
        _delivery_save(delivery, status=WebhookDelivery.Status.SUCCEEDED,
                       last_status_code=attempt.status_code, last_error="", delivered_at=now)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=0,
                                                               last_success_at=now)
        return Done({"status_code": attempt.status_code, "message_id": delivery.message_id})

    gone = attempt.status_code == 410
    retries_done = operation.failures
    if gone or attempt.refused or retries_done >= endpoint.max_retries:
        why = attempt.error
        if not (gone or attempt.refused):
            why = f"gave up after {delivery.attempts} attempts: {attempt.error}"
        _delivery_save(delivery, status=WebhookDelivery.Status.DEAD,
                       last_status_code=attempt.status_code, last_error=why)
        _count_dead(endpoint, why, gone=gone)
        raise PermanentError(why, platform=WEBHOOKS_PLATFORM, status_code=attempt.status_code)

    delay = retry_delay(endpoint, retries_done + 1)
    delay += _rng.uniform(0, delay * RETRY_JITTER)
    delay = min(max(delay, attempt.retry_after or 0.0), MAX_RETRY_SECONDS)
    _delivery_save(delivery, status=WebhookDelivery.Status.FAILED,
                   last_status_code=attempt.status_code, last_error=attempt.error)
    raise TransientError(attempt.error, platform=WEBHOOKS_PLATFORM,
                         status_code=attempt.status_code, retry_after=delay)


def _delivery_save(delivery: WebhookDelivery, **changes: Any) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**changes)
    for name, value in changes.items():
        setattr(delivery, name, value)


def _count_dead(endpoint: WebhookEndpoint, why: str, *, gone: bool) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        consecutive_failures=F("consecutive_failures") + 1, last_failure_at=timezone.now())
    failures = WebhookEndpoint.objects.values_list("consecutive_failures", flat=True).get(
        pk=endpoint.pk)
    if gone:
        # Standard Webhooks: 410 Gone means the receiver asks us to stop.
        _disable_failing(endpoint, f"the receiver answered 410 Gone: {why}")
    elif failures >= settings.OUTGOING_WEBHOOKS_DISABLE_AFTER:
        _disable_failing(endpoint, f"{failures} deliveries in a row failed; last: {why}")


def _send(delivery: WebhookDelivery, endpoint: WebhookEndpoint,
          operation: OutboundOperation) -> _Attempt:
    """One signed POST, recorded in the audit log before it goes out."""
    secret = endpoint.secret()
    custom = endpoint.headers()
    body = delivery_body(delivery)
    timestamp = int(time.time())
    headers = {
        **custom,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret=secret, msg_id=delivery.message_id,
                                  timestamp=timestamp, body=body),
    }
    # Every custom header may be a credential: all are masked in the audit row.
    keys = DEFAULT_SENSITIVE_KEYS | {normalise_key(name) for name in custom}
    log = LogContext(action=f"webhook.{delivery.event_type}", entity_type=DELIVERY_ENTITY,
                     entity_id=str(delivery.pk), operation_id=operation.pk,
                     context=f"{endpoint.tenant_type}:{endpoint.tenant_id}".strip(":"),
                     secrets=(secret, *custom.values()))
    _delivery_save(delivery, attempts=delivery.attempts + 1, last_attempt_at=timezone.now())
    # On record before the request: a worker killed mid-call leaves it "started".
    entry = synclog_start(
        platform=WEBHOOKS_PLATFORM, log=log, direction=SyncLog.Direction.OUTBOUND,
        http_method="POST", url=endpoint.url, request_headers=redact_headers(headers, keys),
        request_body=redact_body(body.decode("utf-8"), "application/json", sensitive_keys=keys,
                                 secrets=log.secrets),
        attempt=delivery.attempts, sensitive_keys=keys)
    started = time.monotonic()
    try:
        with _session() as session:
            response = session.post(endpoint.url, data=body, headers=headers,
                                    timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                                    allow_redirects=False, stream=True)
            with response:
                head = next(response.iter_content(chunk_size=RESPONSE_KEEP_BYTES), b"")
    except UnsafeDestination as exc:
        _finish(entry, log, keys, started, error=f"refused before connecting: {exc}")
        return _Attempt(error=f"refused before connecting: {exc}", refused=True)
    except (requests.RequestException, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"
        _finish(entry, log, keys, started, error=error)
        return _Attempt(error=error)
    status = response.status_code
    error = ""
    if 300 <= status < 400:
        error = (f"answered {status} redirecting to "
                 f"{response.headers.get('Location') or 'nowhere'}; redirects are never "
                 f"followed: update the endpoint's URL")
    elif not 200 <= status < 300:
        error = f"answered {status} {response.reason or ''}".strip()
    _finish(entry, log, keys, started, response=response, head=head, error=error)
    return _Attempt(status_code=status, error=error,
                    retry_after=parse_retry_after(response.headers.get("Retry-After")))


def _finish(entry: SyncLog, log: LogContext, keys: frozenset[str], started: float, *,
            response: requests.Response | None = None, head: bytes = b"",
            error: str = "") -> None:
    ok = response is not None and 200 <= response.status_code < 300
    synclog_finish(
        entry=entry, log=log,
        status=SyncLog.Status.SUCCESS if ok else SyncLog.Status.FAILED,
        http_status=response.status_code if response is not None else None,
        response_headers=(redact_headers(dict(response.headers), keys)
                          if response is not None else {}),
        response_body=(redact_body(head.decode("utf-8", "replace"),
                                   response.headers.get("Content-Type", ""),
                                   sensitive_keys=keys, secrets=log.secrets)
                       if response is not None else ""),
        error=error, duration_ms=int((time.monotonic() - started) * 1000),
        sensitive_keys=keys)


def delivery_attempts(delivery: WebhookDelivery, limit: int = 50) -> Iterable[SyncLog]:
    """The audit rows of a delivery's attempts, newest first (a selector)."""
    return (SyncLog.objects.filter(entity_type=DELIVERY_ENTITY, entity_id=str(delivery.pk))
            .order_by("-created_at", "-pk")[:limit])


def next_attempt_at(delivery: WebhookDelivery) -> Any:
    """When the outbox runs it next (None when nothing is planned)."""
    operation = delivery.operation
    if operation is None or operation.state not in OutboundOperation.OPEN_STATES:
        return None
    return operation.next_attempt_at


def retry_plan(endpoint: WebhookEndpoint) -> list[timedelta]:
    """The waits before each retry, as the endpoint's policy sets them (no jitter)."""
    return [timedelta(seconds=retry_delay(endpoint, n))
            for n in range(1, endpoint.max_retries + 1)]
