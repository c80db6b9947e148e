"""Connecting an organisation's Google, Microsoft 365, Slack or Zoom account,
testing it and disconnecting it: the services the API calls.

The account is a core `Connection` owned by the organisation (tenant
ORGANIZATION_TENANT, its id) with an `Integration` on top. The OAuth flow is
the core's (apps.core.oauth): a single-use state bound to the user, valid
ten minutes, PKCE where the provider takes it, the code exchanged through the
platform client and the tokens stored encrypted on the connection. This
module adds what the organisation sees: which provider, which seed scopes
and settings, who the account is, the permissions granted.
"""

from __future__ import annotations

import email.utils
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from apps.core.auth import TokenError
from apps.core.connections import connection_create
from apps.core.http import PlatformError
from apps.core.models import Connection, Credentials, CredentialsUnreadable, SyncLog, SyncRun
from apps.core.oauth import oauth_begin, oauth_complete, oauth_disconnect_revoking
from apps.integrations.calendar_sync import (
    CALENDAR_PROVIDERS,
    calendar_sync_estimate,
    calendar_sync_request,
)
from apps.integrations.client import AccountInfo, account_info
from apps.integrations.graph_subscriptions import subscription_close
from apps.integrations.models import ORGANIZATION_TENANT, Integration
from apps.integrations.providers import (
    PERMISSION_LABELS,
    client_credentials,
    permission_names,
    permissions_granted,
    provider_scopes,
    provider_spec,
)
from apps.integrations.push_channels import push_channel_close
from apps.integrations.settings_schema import validate_settings

logger = logging.getLogger(__name__)

HEALTHY, DEGRADED, ERROR = "healthy", "degraded", "error"
# Slower than this, a connection test reports the provider as degraded: a
# sync makes hundreds of such calls.
SLOW_RESPONSE_MS = 2000
# Fewer requests left than this share of the limit last seen: degraded.
LOW_QUOTA_SHARE = 0.1
# How many of the connection's latest audit rows are searched for the
# provider's rate-limit headers (calls that carry none come in between).
RATE_LIMIT_ROWS = 50


# -- connect -------------------------------------------------------------------------
@dataclass(frozen=True)
class ConnectStart:
    auth_url: str
    state: str
    expires_at: datetime
    provider: str
    # The seed's scope names asked for.
    scopes: list[str]


def connect_start(*, organization, provider: str, user, scopes: list[str] | None,
                  settings: dict | None, redirect_uri: str) -> ConnectStart:
    """The provider's authorization URL for `user` to connect the organisation's account.

    The integration is created (or the organisation's one of this provider
    that is not connected is reused) with its connection disconnected until
    the callback; `settings` replace its settings when given.
    """
    spec = provider_spec(provider)
    seed_scopes = list(spec.default_seed_scopes if scopes is None else scopes)
    asked = provider_scopes(provider, seed_scopes)
    cleaned = _validated_settings(provider, settings) if settings is not None else None
    client_id, client_secret = client_credentials(provider)
    with transaction.atomic():
        integration = _reusable_integration(organization, provider)
        if integration is None:
            integration = _integration_create(organization=organization, spec=spec, user=user,
                                              settings=cleaned or {}, client_id=client_id,
                                              client_secret=client_secret)
        else:
            _app_credentials_refresh(integration.connection, client_id, client_secret)
            if cleaned is not None:
                integration.settings = cleaned
                integration.save(update_fields=["settings"])
        begin = oauth_begin(connection=integration.connection, user=user,
                            redirect_uri=redirect_uri,
                            scopes=asked if spec.sends_scopes else ())
    return ConnectStart(auth_url=begin.url, state=begin.state, expires_at=begin.expires_at,
                        provider=provider, scopes=seed_scopes)


def _validated_settings(provider: str, settings: dict) -> dict:
    """Checked by the provider's schema; a wrong one is a 400 naming the field
    by its path under `settings`, as the settings endpoint names it."""
    try:
        return validate_settings(provider, settings)
    except ValidationError as exc:
        raise ValidationError({f"settings.{name}": messages
                               for name, messages in exc.message_dict.items()}) from exc


def _reusable_integration(organization, provider: str) -> Integration | None:
    """The organisation's integration of `provider` that is not connected, if any."""
    return (Integration.objects.select_for_update().select_related("connection")
            .filter(organization=organization, provider=provider)
            .exclude(connection__status=Connection.Status.CONNECTED)
            .order_by("-created_at", "-pk").first())


def _integration_create(*, organization, spec, user, settings: dict, client_id: str,
                        client_secret: str) -> Integration:
    connection = connection_create(
        platform=spec.name, name=f"{organization.name}: {spec.display_name}"[:120],
        tenant_type=ORGANIZATION_TENANT, tenant_id=str(organization.pk),
        credentials=Credentials(client_id=client_id, client_secret=client_secret))
    # Not usable before the callback stores its tokens.
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.DISCONNECTED)
    connection.status = Connection.Status.DISCONNECTED
    return Integration.objects.create(
        organization=organization, connection=connection, provider=spec.name,
        type=spec.integration_type, name=spec.display_name, settings=settings)


def _app_credentials_refresh(connection: Connection, client_id: str, client_secret: str) -> None:
    """The hub's client id and secret as configured now (they may have been rotated)."""
    row = Connection.objects.locked().get(pk=connection.pk)
    try:
        stored = row.credentials()
    except CredentialsUnreadable:
        stored = Credentials()
    if (stored.client_id, stored.client_secret) == (client_id, client_secret):
        return
    row.set_credentials(stored.updated(client_id=client_id, client_secret=client_secret))
    row.save(update_fields=["encrypted_credentials", "credentials_version", "updated_at"])
    connection.encrypted_credentials = row.encrypted_credentials
    connection.credentials_version = row.credentials_version


@dataclass(frozen=True)
class ConnectResult:
    integration: Integration
    # {"email", "name", "avatar"}: who the account is at the provider.
    user_info: dict[str, str]
    permissions: list[str]
    # The seed's {"status": "scheduled"} once something really schedules the
    # first sync; None until then.
    initial_sync: dict[str, str] | None


def connect_finish(*, organization, provider: str, user, code: str,
                   state: str) -> ConnectResult:
    """The callback: the state checked and spent, the code exchanged, the tokens
    stored, then who the account is and what it was granted.

    A reused, expired, unknown or another user's state, a state started for
    another organisation or provider, or a provider's refusal: OAUTH_ERROR
    (400), nothing stored.
    """
    spec = provider_spec(provider)
    mine = Connection.objects.filter(platform=spec.name, tenant_type=ORGANIZATION_TENANT,
                                     tenant_id=str(organization.pk), integration__isnull=False)
    connection = oauth_complete(state=state, code=code, user=user, connections=mine)
    integration = Integration.objects.select_related("connection").get(connection=connection)
    try:
        info = account_info(connection)
    except PlatformError as exc:
        # The tokens are good and stored; who the account is can be read at
        # the next test. The user is not sent through the provider again.
        logger.warning("Reading the account of %s failed: %s", connection, exc)
        info = AccountInfo(email="", name="", avatar="", external_id="")
    permissions = permission_names(spec.name, connection.granted_scopes)
    integration.account_email = info.email
    integration.account_name = info.name[:200]
    integration.permissions = permissions
    integration.disconnected_at = None
    integration.last_activity_at = timezone.now()
    integration.save(update_fields=["account_email", "account_name", "permissions",
                                    "disconnected_at", "last_activity_at"])
    integration.connection = connection
    initial_sync = None
    if integration.provider in CALENDAR_PROVIDERS:
        # The first sync goes to a worker once this is committed; the answer
        # says so with the estimate the seed shows.
        calendar_sync_request(integration=integration, user=user,
                              trigger=SyncRun.Trigger.AUTOMATIC)
        initial_sync = {"status": "scheduled",
                        "estimatedDuration": calendar_sync_estimate(integration=integration)}
    return ConnectResult(integration=integration,
                         user_info={"email": info.email, "name": info.name,
                                    "avatar": info.avatar},
                         permissions=permissions, initial_sync=initial_sync)


# -- disconnect ----------------------------------------------------------------------
@dataclass(frozen=True)
class Cleanup:
    events_removed: int
    webhooks_disabled: int
    tokens_revoked: bool


def integration_disconnect(*, integration: Integration, user) -> Cleanup:
    """Revoke the grant where the provider can (Microsoft cannot: its tokens are
    only forgotten) and forget the tokens; the integration is kept, disconnected.

    Counts are what happened: no event copies or push channels exist yet to
    remove (the sync engine will create them, and remove them here).
    """
    channels_stopped = 0
    if integration.provider == Integration.Provider.MICROSOFT:
        try:
            channels_stopped = int(subscription_close(integration=integration))
        except PlatformError:
            # Graph ends it by itself (three days at most); its notifications
            # find the integration disconnected.
            logger.warning("%s: its Graph subscription could not be deleted", integration,
                           exc_info=True)
    if integration.provider == Integration.Provider.GOOGLE:
        try:
            channels_stopped = int(push_channel_close(integration=integration))
        except PlatformError:
            # A token already refused cannot stop the channel: it ends by itself
            # (a week at most), and its notifications find the integration disconnected.
            logger.warning("%s: its push channel could not be stopped", integration,
                           exc_info=True)
    outcome = oauth_disconnect_revoking(connection=integration.connection)
    now = timezone.now()
    Integration.objects.filter(pk=integration.pk).update(disconnected_at=now)
    integration.disconnected_at = now
    integration.connection = outcome.connection
    logger.info("%s disconnected by %s (revoked at the provider: %s)", integration, user,
                outcome.revoked)
    return Cleanup(events_removed=0, webhooks_disabled=channels_stopped,
                   tokens_revoked=outcome.revoked)


# -- test ----------------------------------------------------------------------------
@dataclass(frozen=True)
class TestResult:
    __test__ = False  # not a pytest class, whatever its name

    connection_status: str
    response_time_ms: int | None
    permissions: dict[str, bool]
    # The provider's rate-limit headers as last seen on this connection
    # ({"limit", "remaining", "reset_at", "window", "seen_at"}), None if it
    # never sent any.
    api_limits: dict[str, Any] | None
    last_error: str | None
    recommendations: list[str] = field(default_factory=list)


def integration_test(*, integration: Integration) -> TestResult:
    """Ask the provider who the account is, timed; judge the answer, the
    permissions granted and the rate limits last seen."""
    connection = Connection.objects.get(pk=integration.connection_id)
    permissions = permissions_granted(integration.provider, connection.granted_scopes)
    missing = [name for name, granted in permissions.items() if not granted]
    if connection.status == Connection.Status.DISCONNECTED:
        return TestResult(
            connection_status=ERROR, response_time_ms=None, permissions=permissions,
            api_limits=_api_limits(connection), last_error=connection.last_error or None,
            recommendations=[gettext("The integration is disconnected: connect it again.")])
    started = time.monotonic()
    error = ""
    try:
        account_info(connection)
    except (PlatformError, TokenError) as exc:
        error = str(exc)
    elapsed = round((time.monotonic() - started) * 1000)
    connection.refresh_from_db()
    limits = _api_limits(connection)
    recommendations: list[str] = []
    if error or connection.status != Connection.Status.CONNECTED:
        status = ERROR
        if connection.status == Connection.Status.ERROR:
            recommendations.append(gettext("Connect the integration again: %(reason)s")
                                   % {"reason": connection.status_reason})
        else:
            recommendations.append(gettext(
                "The provider did not answer as expected; try again in a few minutes."))
    else:
        status = HEALTHY
        Integration.objects.filter(pk=integration.pk).update(last_activity_at=timezone.now())
        if elapsed > SLOW_RESPONSE_MS:
            status = DEGRADED
            recommendations.append(gettext("The provider answered slowly (%(ms)d ms).")
                                   % {"ms": elapsed})
        if _quota_low(limits):
            status = DEGRADED
            recommendations.append(gettext(
                "Only %(remaining)d of %(limit)d requests were left at the provider; syncs "
                "may wait for the limit to reset.") % limits)
    if missing:
        if status == HEALTHY:
            status = DEGRADED
        recommendations.append(gettext("Connect again and grant: %(permissions)s.") % {
            "permissions": ", ".join(str(PERMISSION_LABELS[name]) for name in missing)})
    if status == HEALTHY:
        recommendations = [gettext("Connection is healthy"),
                           gettext("All required permissions are granted")]
    last_error = error or (connection.last_error if status == ERROR else "")
    return TestResult(connection_status=status, response_time_ms=elapsed,
                      permissions=permissions, api_limits=limits,
                      last_error=last_error or None, recommendations=recommendations)


def _quota_low(limits: dict[str, Any] | None) -> bool:
    if not limits or limits.get("remaining") is None or not limits.get("limit"):
        return False
    return limits["remaining"] < limits["limit"] * LOW_QUOTA_SHARE


def _api_limits(connection: Connection) -> dict[str, Any] | None:
    """The rate-limit headers of the connection's latest answer that had any."""
    rows = (SyncLog.objects.filter(connection=connection)
            .exclude(response_headers={}).order_by("-created_at", "-pk")
            .values("response_headers", "created_at")[:RATE_LIMIT_ROWS])
    for row in rows:
        limits = rate_limits_from_headers(row["response_headers"], seen_at=row["created_at"])
        if limits is not None:
            return limits
    return None


def rate_limits_from_headers(headers: dict[str, str], *, seen_at: datetime
                             ) -> dict[str, Any] | None:
    """Zoom's X-RateLimit-* (with X-RateLimit-Type and Retry-After at the daily
    limit), the IETF draft RateLimit-* Graph sends for some resources, and a
    429's Retry-After; None when the answer carried none of them."""
    found = {name.lower(): str(value) for name, value in (headers or {}).items()}
    limit = _int(found.get("x-ratelimit-limit") or found.get("ratelimit-limit"))
    remaining = _int(found.get("x-ratelimit-remaining") or found.get("ratelimit-remaining"))
    reset_at = _reset_at(found, seen_at)
    if limit is None and remaining is None and reset_at is None:
        return None
    return {"limit": limit, "remaining": remaining, "reset_at": reset_at,
            "window": found.get("x-ratelimit-type", ""), "seen_at": seen_at}


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    # The IETF draft allows "100, 100;w=60": the first number is the one in force.
    head = value.split(",")[0].split(";")[0].strip()
    return int(head) if head.isdigit() else None


def _reset_at(found: dict[str, str], seen_at: datetime) -> datetime | None:
    for name in ("ratelimit-reset", "x-ratelimit-reset"):
        seconds = _int(found.get(name))
        if seconds is not None:
            # An epoch timestamp or seconds from the answer (the draft's form).
            return (datetime.fromtimestamp(seconds, tz=UTC) if seconds > 1_000_000_000
                    else seen_at + timedelta(seconds=seconds))
    value = found.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return seen_at + timedelta(seconds=int(value))
    # Zoom's daily limit gives an ISO 8601 time; HTTP's is an HTTP date.
    parsed = parse_datetime(value)
    if parsed is None:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
