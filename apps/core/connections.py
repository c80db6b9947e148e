"""Connections: the services that write them, and one platform client per connection.

A domain gets the client of a connection with `client_for(connection,
platform=...)`. The client's breaker, per-connection rate limits and token
cache are keyed by the connection (`connection_scope_key`), its audit rows
carry the connection,
and the connection's secrets are scrubbed from them. A limit the platform
counts per application (`RateLimit.per_application`) is shared by all
connections of the platform.

How a connection authenticates is the platform's business: a domain
registers an auth builder (`register_auth_builder`) that turns the
connection's credentials, or the environment's for a default connection
whose credentials are empty, into an `AuthProvider` (raising
CredentialsUnreadable, with a reason a manager reads, for credentials it
cannot use). A connection may name
another builder in `settings["auth"]` (an OAuth authorization-code
connection names the OAuth one); without any, an API key is sent as
`X-Api-Key` (or the header named in `settings["api_key_header"]`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from apps.core.attention import attention_clear, attention_raise
from apps.core.auth import ApiKeyAuth, AuthProvider
from apps.core.errors import ServiceError
from apps.core.http import PermanentError, Platform, PlatformClient
from apps.core.models import Connection, Credentials, CredentialsUnreadable
from apps.core.registry_names import refuse_duplicate

BROKEN_KIND = "connection.broken"
Status = Connection.Status
# Last success is written at most this often per connection and process: a
# write per call would double the queries of a busy outbox for a timestamp
# a manager reads to the minute.
SUCCESS_WRITE_INTERVAL = 60.0
# What `settings` of a connection may override in its platform's policy.
TIMEOUT_SETTINGS = ("connect_timeout", "read_timeout")


# -- auth builders ----------------------------------------------------------------

@dataclass(frozen=True)
class AuthContext:
    """What an auth builder knows about the connection it authenticates."""

    connection: Connection
    credentials: Credentials
    # The platform's policy as this connection uses it (its base URL, its timeouts).
    platform: Platform
    # Where its tokens are cached: per connection and credentials version, so
    # new credentials never use a token the old ones obtained.
    token_cache_key: str


AuthBuilder = Callable[[AuthContext], AuthProvider | None]


@dataclass(frozen=True)
class _AuthEntry:
    builder: AuthBuilder
    settings_names: tuple[str, ...]


_auth_builders: dict[str, _AuthEntry] = {}


def register_auth_builder(name: str, builder: AuthBuilder, *,
                          settings_names: tuple[str, ...] = ()) -> None:
    """How connections of platform `name` (or naming `name` in settings["auth"]) authenticate.

    `settings_names` are the Django settings the builder reads for a default
    connection: a change of any of them builds a new client.
    """
    refuse_duplicate({key: entry.builder for key, entry in _auth_builders.items()}, name,
                     builder)
    _auth_builders[name] = _AuthEntry(builder, settings_names)


def _api_key_auth(context: AuthContext) -> AuthProvider | None:
    if not context.credentials.api_key:
        return None
    header = str(context.connection.settings.get("api_key_header") or "X-Api-Key")
    return ApiKeyAuth(context.credentials.api_key, header=header)


def _auth_entry(connection: Connection) -> _AuthEntry:
    named = connection.settings.get("auth") if isinstance(connection.settings, dict) else None
    return (_auth_builders.get(str(named)) if named else None) \
        or _auth_builders.get(connection.platform) or _AuthEntry(_api_key_auth, ())


# -- services ---------------------------------------------------------------------

def connection_create(*, platform: str, name: str, tenant_type: str = "", tenant_id: str = "",
                      credentials: Credentials | None = None, settings: dict | None = None,
                      base_url: str = "", is_default: bool = False, connected_by=None
                      ) -> Connection:
    _refuse_second_default(platform, is_default)
    connection = Connection(platform=platform, name=name, tenant_type=tenant_type,
                            tenant_id=str(tenant_id), settings=settings or {},
                            base_url=base_url, is_default=is_default,
                            connected_by=connected_by,
                            connected_at=timezone.now() if connected_by else None)
    try:
        connection.full_clean(exclude=["encrypted_credentials"])
    except ValidationError as exc:
        raise ServiceError("invalid_connection", _("The connection is not valid."),
                           details=exc.message_dict) from exc
    if credentials is not None:
        connection.set_credentials(credentials)
    try:
        with transaction.atomic():
            connection.save()
    except IntegrityError as exc:
        raise ServiceError(
            "duplicate_default",
            _("%(platform)s already has a default connection.") % {"platform": platform},
            details={"is_default": [_("Only one default connection per platform.")]},
        ) from exc
    return connection


EDITABLE_FIELDS = ("name", "tenant_type", "tenant_id", "base_url", "settings", "is_default")


def _refuse_second_default(platform: str, is_default: bool, *, pk: int | None = None) -> None:
    if is_default and Connection.objects.for_platform(platform).filter(
            is_default=True).exclude(pk=pk).exists():
        raise ServiceError(
            "duplicate_default",
            _("%(platform)s already has a default connection.") % {"platform": platform},
            details={"is_default": [_("Only one default connection per platform.")]})


def connection_update(*, connection: Connection, **changes: Any) -> Connection:
    """Change what a manager may change (EDITABLE_FIELDS); credentials have their own service."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable here: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        current = Connection.objects.locked().get(pk=connection.pk)
        _refuse_second_default(current.platform, changes.get("is_default", False),
                               pk=current.pk)
        for name, value in changes.items():
            setattr(current, name, value)
        try:
            current.full_clean(exclude=["encrypted_credentials"])
        except ValidationError as exc:
            raise ServiceError("invalid_connection", _("The connection is not valid."),
                               details=exc.message_dict) from exc
        current.save(update_fields=[*changes, "updated_at"])
    return current


def connection_set_credentials(*, connection: Connection, credentials: Credentials | None = None,
                               changes: Mapping[str, str] | None = None, by=None) -> Connection:
    """Replace the credentials (`credentials`), or change some of them (`changes`).

    `changes` names Credentials fields; any other name goes to `extra`. An
    empty value keeps what is stored. Credentials that can no longer be read
    are replaced by the changes alone. New credentials reconnect a
    connection in error.
    """
    with transaction.atomic():
        current = Connection.objects.locked().get(pk=connection.pk)
        if credentials is None:
            try:
                stored = current.credentials()
            except CredentialsUnreadable:
                stored = Credentials()
            credentials = _merged(stored, changes or {})
        current.set_credentials(credentials)
        current.status, current.status_reason = Status.CONNECTED, ""
        if by is not None:
            current.connected_by, current.connected_at = by, timezone.now()
        current.save(update_fields=["encrypted_credentials", "credentials_version", "status",
                                    "status_reason", "connected_by", "connected_at",
                                    "updated_at"])
        attention_clear(kind=BROKEN_KIND, subject=current, by=by)
    _forget_success(current.pk)
    return current


def _merged(stored: Credentials, changes: Mapping[str, str]) -> Credentials:
    names = {f.name for f in fields(Credentials)} - {"extra"}
    typed = {key: value for key, value in changes.items() if value}
    extra = {**stored.extra, **{k: v for k, v in typed.items() if k not in names}}
    return stored.updated(**{k: v for k, v in typed.items() if k in names}, extra=extra)


_success_written: dict[int, float] = {}


def _forget_success(connection_id: int) -> None:
    _success_written.pop(connection_id, None)


def connection_record_success(*, connection_id: int) -> None:
    """A call through the connection worked: last success, and out of error."""
    now = time.monotonic()
    if now - _success_written.get(connection_id, -SUCCESS_WRITE_INTERVAL) \
            < SUCCESS_WRITE_INTERVAL:
        return
    _success_written[connection_id] = now
    was_broken = Connection.objects.filter(pk=connection_id, status=Status.ERROR).update(
        status=Status.CONNECTED, status_reason="", last_success_at=timezone.now())
    if was_broken:
        connection = Connection.objects.filter(pk=connection_id).first()
        if connection is not None:
            attention_clear(kind=BROKEN_KIND, subject=connection)
        return
    Connection.objects.filter(pk=connection_id).update(last_success_at=timezone.now())


def connection_record_error(*, connection: Connection, reason: str) -> Connection:
    """The connection cannot be used: status error, and a manager is told why."""
    now = timezone.now()
    Connection.objects.filter(pk=connection.pk).update(
        status=Status.ERROR, status_reason=reason[:2000], last_error=reason[:4000],
        last_error_at=now, updated_at=now)
    connection.status, connection.status_reason = Status.ERROR, reason[:2000]
    connection.last_error, connection.last_error_at = reason[:4000], now
    _forget_success(connection.pk)
    attention_raise(
        domain=connection.platform, kind=BROKEN_KIND, subject=connection,
        summary=gettext_noop("Connection %(connection)s is broken: %(reason)s"),
        values={"connection": connection, "reason": reason},
        action_hint=gettext_noop("Enter its credentials again in Connections, or reconnect it."))
    return connection


def connection_default(*, platform: str) -> Connection:
    """The deployment's own connection of `platform`, created on first use.

    Its credentials are left empty: the domain's auth builder then takes
    them from the environment, as before connections existed.
    """
    connection = Connection.objects.default_for(platform)
    if connection is not None:
        return connection
    try:
        with transaction.atomic():
            return Connection.objects.create(
                platform=platform, is_default=True,
                name=_("%(platform)s (configured in the environment)") % {"platform": platform})
    except IntegrityError:
        # Another worker created it at the same moment.
        return Connection.objects.get(platform=platform, is_default=True)


def connection_or_default(connection: Connection | None, *, platform: str) -> Connection:
    return connection if connection is not None else connection_default(platform=platform)


# -- clients ----------------------------------------------------------------------

class _Health:
    """What the platform client reports about its connection."""

    def __init__(self, connection_id: int) -> None:
        self.connection_id = connection_id

    def succeeded(self) -> None:
        connection_record_success(connection_id=self.connection_id)

    def refused(self, reason: str) -> None:
        connection = Connection.objects.filter(pk=self.connection_id).first()
        if connection is not None:
            connection_record_error(connection=connection, reason=reason)


_clients: dict[tuple[Any, ...], PlatformClient] = {}
_clients_lock = threading.Lock()


def client_cache_clear() -> None:
    with _clients_lock:
        _clients.clear()
    _success_written.clear()


def connection_scope_key(connection: Connection) -> str:
    """What the breaker, the per-connection limits and the token cache are keyed by.

    The default connection is the platform's one account of the deployment,
    so it is named as such rather than by its row id: the key stays the same
    if its row is ever created again.
    """
    return f"{connection.platform}:default" if connection.is_default else connection.key


def platform_for(connection: Connection, platform: Platform) -> Platform:
    """The platform's policy with what the connection overrides (base URL, timeouts)."""
    overrides: dict[str, Any] = {}
    if connection.base_url:
        overrides["base_url"] = connection.base_url
    conf = connection.settings if isinstance(connection.settings, dict) else {}
    for name in TIMEOUT_SETTINGS:
        if isinstance(conf.get(name), int | float) and conf[name] > 0:
            overrides[name] = float(conf[name])
    return replace(platform, **overrides) if overrides else platform


def client_for(connection: Connection, *, platform: Platform,
               client_class: Callable[..., PlatformClient] = PlatformClient) -> PlatformClient:
    """The platform client of this connection, one per process and credentials version.

    Raises PermanentError when the connection cannot be used (disconnected,
    credentials unreadable); the latter also puts it in error for a manager.
    """
    if connection.status == Status.DISCONNECTED:
        raise PermanentError(_("%(connection)s is disconnected.") % {"connection": connection},
                             platform=connection.platform)
    entry = _auth_entry(connection)
    platform = platform_for(connection, platform)
    key = (connection.pk, connection.credentials_version,
           json.dumps(connection.settings, sort_keys=True, default=str), platform, client_class,
           entry.builder, tuple(repr(getattr(django_settings, name, None))
                                for name in entry.settings_names))
    with _clients_lock:
        client = _clients.get(key)
    if client is not None:
        return client
    scope = connection_scope_key(connection)
    try:
        credentials = connection.credentials()
        # A builder refuses credentials it cannot use (missing, malformed) the same way.
        auth = entry.builder(AuthContext(
            connection=connection, credentials=credentials, platform=platform,
            token_cache_key=f"{scope}:v{connection.credentials_version}"))
    except CredentialsUnreadable as exc:
        connection_record_error(connection=connection, reason=str(exc))
        raise PermanentError(str(exc), platform=connection.platform) from exc
    client = client_class(platform, auth=auth, key=scope, connection_id=connection.pk,
                          secrets=credentials.secrets(), health=_Health(connection.pk))
    with _clients_lock:
        # Clients of older credentials versions or settings are dropped.
        for stale in [k for k in _clients if k[0] == connection.pk]:
            del _clients[stale]
        _clients[key] = client
    return client
