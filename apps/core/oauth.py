"""OAuth 2.0 authorization code with PKCE, for connections a user signs in to.

Connect (`oauth_start`): a one-time `state`, bound to the user and valid ten
minutes, and an S256 PKCE verifier; only a hash of the state and the
encrypted verifier are stored. Callback (`oauth_complete`): the state is
claimed by one conditional update (unused, unexpired, this user's), then the
code is exchanged and the tokens stored encrypted on the connection.

Access (`oauth_access_token`): several providers rotate refresh tokens (one
use each), so two workers refreshing at once would leave one of them, and
then the connection, with a spent token. The refresh runs under a row lock
on the connection: whoever takes it second re-reads the row and uses the
token the first one stored, and the rotated refresh token is committed with
the new access token before either is used. The lock is waited for longer
than the longest token request can take (`refresh_lock_wait_seconds`), so
a slow refresh is waited for rather than duplicated.

A refusal of the grant (`invalid_grant`, a revoked or rotated-out token)
puts the connection in error with a readable reason and raises an attention
item; nothing retries it until someone reconnects.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote_plus, urlencode

import requests
from django.conf import settings
from django.db import OperationalError, transaction
from django.db import connection as db
from django.utils import timezone
from django.utils.translation import gettext

from apps.core.attention import attention_clear
from apps.core.audit import LogContext
from apps.core.auth import AuthProvider, TokenError
from apps.core.connections import (
    BROKEN_KIND,
    AuthContext,
    connection_record_error,
    platform_for,
    register_auth_builder,
)
from apps.core.errors import ServiceError
from apps.core.fields import decrypt_str, encrypt_str
from apps.core.http import PermanentError, Platform, PlatformClient, PlatformError
from apps.core.models import Connection, Credentials, CredentialsUnreadable, OAuthState
from apps.core.registry_names import refuse_duplicate

logger = logging.getLogger(__name__)

OAUTH_ERROR = "OAUTH_ERROR"
STATE_LIFETIME = timedelta(minutes=10)
CLIENT_AUTH_BASIC = "basic"
CLIENT_AUTH_FORM = "form"
# Between two attempts to start the refresh transaction on SQLite, after
# its busy timeout has already waited: the writer ahead is a token request.
SQLITE_LOCK_RETRY_PAUSE = 0.2

T = TypeVar("T")


@dataclass(frozen=True)
class OAuthProvider:
    """How one platform does the authorization-code grant (RFC 6749 §4.1)."""

    # Each URL is a string or a function giving it, read at every use: a
    # domain whose URLs are settings (tests point them at a simulator) gives
    # functions, since a registered provider cannot be replaced.
    authorize_url: str | Callable[[], str]
    token_url: str | Callable[[], str]
    # The token endpoint's policy (timeouts, retries, rate limits): token
    # requests go through the platform client, and the refresh lock is sized
    # from this very policy.
    platform: Callable[[], Platform]
    revoke_url: str | Callable[[], str] = ""
    # Revocation sends the refresh token, which ends the whole grant at most
    # providers; True sends the access token instead (Slack's auth.revoke
    # takes the token that authenticates the call itself).
    revoke_access_token: bool = False
    default_scopes: tuple[str, ...] = ()
    # Slack separates scopes with commas, the others with spaces.
    scope_separator: str = " "
    # RFC 6749 §2.3.1: HTTP Basic (Zoom, Slack) or the form body (Google).
    client_auth: str = CLIENT_AUTH_BASIC
    pkce: bool = True
    # A rotating refresh token is spent by the request that uses it, so a
    # refresh whose answer was lost is not sent again (it would be refused).
    rotates_refresh_tokens: bool = False
    # Such as Google's access_type=offline and prompt=consent, without which
    # no refresh token comes back after the first consent.
    authorize_params: Mapping[str, str] = field(default_factory=dict)
    refresh_margin_seconds: float = 300.0
    # Token-endpoint error codes that mean the grant is gone for good.
    revoked_errors: frozenset[str] = frozenset({"invalid_grant"})


_providers: dict[str, OAuthProvider] = {}


def _url(value: str | Callable[[], str]) -> str:
    return value() if callable(value) else value


def register_oauth_provider(platform: str, provider: OAuthProvider) -> None:
    """Connections of `platform` sign in with `provider`; their platform client
    (apps.core.connections.client_for) then authenticates with their OAuth tokens."""
    if _providers.get(platform) != provider:
        refuse_duplicate(_providers, platform, provider)
        _providers[platform] = provider
    register_auth_builder(platform, oauth_auth_builder)


def oauth_provider_for(platform: str) -> OAuthProvider | None:
    return _providers.get(platform)


def registered_oauth_providers() -> dict[str, OAuthProvider]:
    return dict(_providers)


# -- PKCE and state -------------------------------------------------------------
def pkce_challenge(verifier: str) -> str:
    """S256 (RFC 7636 §4.2): BASE64URL(SHA256(ASCII(verifier))), unpadded."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _state_hash(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8", "surrogatepass")).hexdigest()


def _oauth_error(message: str, **details: Any) -> ServiceError:
    return ServiceError(OAUTH_ERROR, message, details=details, status=400)


def _provider(connection: Connection) -> OAuthProvider:
    provider = oauth_provider_for(connection.platform)
    if provider is None:
        raise _oauth_error(gettext("The platform %(platform)s does not sign in with OAuth.")
                           % {"platform": connection.platform})
    return provider


def _app_credentials(connection: Connection) -> Credentials:
    try:
        credentials = connection.credentials()
    except CredentialsUnreadable as exc:
        raise _oauth_error(str(exc)) from exc
    if not credentials.client_id:
        raise _oauth_error(gettext(
            "Enter the client id and secret of the hub's application at %(platform)s on the "
            "connection first.") % {"platform": connection.platform})
    return credentials


# -- connect and callback ------------------------------------------------------
@dataclass(frozen=True)
class OAuthBegin:
    """What a user needs to sign in: the provider's URL, the state it carries
    (to be presented back once) and when that state stops being accepted."""

    url: str
    state: str
    expires_at: datetime


def oauth_start(*, connection: Connection, user, redirect_uri: str) -> str:
    """The provider's authorization URL for `user` to sign in and consent."""
    return oauth_begin(connection=connection, user=user, redirect_uri=redirect_uri).url


def oauth_begin(*, connection: Connection, user, redirect_uri: str,
                scopes: tuple[str, ...] | list[str] | None = None) -> OAuthBegin:
    """`oauth_start` with the state and its expiry too, for `scopes` (the
    provider's own names; None: its default scopes, empty: no scope
    parameter, for a provider whose app configuration fixes them)."""
    provider = _provider(connection)
    credentials = _app_credentials(connection)
    state = secrets.token_urlsafe(32)
    # 64 random bytes give 86 unreserved characters (RFC 7636 §4.1: 43 to 128).
    verifier = secrets.token_urlsafe(64)
    now = timezone.now()
    expires_at = now + STATE_LIFETIME
    with transaction.atomic():
        OAuthState.objects.filter(connection=connection, expires_at__lte=now).delete()
        OAuthState.objects.create(
            state_hash=_state_hash(state), connection=connection, user=user,
            encrypted_verifier=encrypt_str(verifier), redirect_uri=redirect_uri,
            created_at=now, expires_at=expires_at)
    params = {"response_type": "code", "client_id": credentials.client_id,
              "redirect_uri": redirect_uri, "state": state}
    requested = provider.default_scopes if scopes is None else tuple(scopes)
    if requested:
        params["scope"] = provider.scope_separator.join(requested)
    if provider.pkce:
        params.update(code_challenge=pkce_challenge(verifier), code_challenge_method="S256")
    params.update(provider.authorize_params)
    authorize_url = _url(provider.authorize_url)
    separator = "&" if "?" in authorize_url else "?"
    return OAuthBegin(url=f"{authorize_url}{separator}{urlencode(params)}", state=state,
                      expires_at=expires_at)


def oauth_complete(*, state: str, code: str, user, connections=None) -> Connection:
    """Finish the flow `user` started: exchange the code, store the tokens.

    `connections` (a Connection queryset) are the only ones the state may
    have been started for, such as those of the caller's tenant and
    platform: a state of any other is refused like an unknown one, before
    anything is asked of the provider.
    """
    if not state or not code:
        raise _oauth_error(gettext("The provider's answer lacks its state or its code."))
    now = timezone.now()
    state_hash = _state_hash(state)
    # Checked and spent in one statement: of two callbacks with one state,
    # one gets it. It stays spent if the exchange fails, since the provider's
    # code is single-use too: the user starts again.
    claimable = OAuthState.objects.filter(state_hash=state_hash, used_at__isnull=True,
                                          expires_at__gt=now, user=user)
    if connections is not None:
        claimable = claimable.filter(connection__in=connections)
    claimed = claimable.update(used_at=now)
    if not claimed:
        raise _oauth_error(_refusal(state_hash, user, connections))
    oauth_state = OAuthState.objects.select_related("connection").get(state_hash=state_hash)
    connection = oauth_state.connection
    provider = _provider(connection)
    credentials = _app_credentials(connection)
    form = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": oauth_state.redirect_uri}
    if provider.pkce:
        form["code_verifier"] = decrypt_str(oauth_state.encrypted_verifier)
    sent_at = timezone.now()
    try:
        # An authorization code is single-use: never resent after a lost answer.
        grant = _token_request(connection, provider, credentials, form,
                               action="oauth.authorize", idempotent=False)
    except _GrantRefused as exc:
        raise _oauth_error(gettext("The provider refused the authorization: %(reason)s")
                           % {"reason": exc.reason}, provider_error=exc.code) from exc
    except TokenError as exc:
        raise _oauth_error(gettext("The provider could not be asked for the tokens: %(reason)s")
                           % {"reason": exc}) from exc
    with transaction.atomic():
        row = Connection.objects.locked().get(pk=connection.pk)
        row.set_credentials(_credentials_or_empty(row).updated(
            access_token=grant.access_token, refresh_token=grant.refresh_token))
        row.token_expires_at = grant.expires_at(sent_at)
        row.granted_scopes = list(grant.scopes if grant.scopes is not None
                                  else provider.default_scopes)
        row.status = Connection.Status.CONNECTED
        row.status_reason = ""
        row.connected_by = user
        row.connected_at = timezone.now()
        row.save(update_fields=["encrypted_credentials", "credentials_version",
                                "token_expires_at", "granted_scopes", "status", "status_reason",
                                "connected_by", "connected_at", "updated_at"])
        attention_clear(kind=BROKEN_KIND, subject=row)
    return row


def _refusal(state_hash: str, user, connections=None) -> str:
    found = OAuthState.objects.filter(state_hash=state_hash).first()
    if found is None:
        return gettext("This sign-in link is unknown; start connecting again.")
    if found.user_id != user.pk:
        return gettext("This sign-in was started by another user.")
    if connections is not None and not connections.filter(pk=found.connection_id).exists():
        return gettext("This sign-in link was started for another account; start connecting "
                       "again.")
    if found.used_at is not None:
        return gettext("This sign-in link was already used; start connecting again.")
    return gettext("This sign-in link expired after %(minutes)d minutes; start connecting "
                   "again.") % {"minutes": STATE_LIFETIME.total_seconds() // 60}


def _credentials_or_empty(row: Connection) -> Credentials:
    try:
        return row.credentials()
    except CredentialsUnreadable:
        return Credentials()


# -- the token endpoint ------------------------------------------------------------
class _GrantRefused(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class _Grant:
    access_token: str
    refresh_token: str
    expires_in: float | None
    scopes: tuple[str, ...] | None

    def expires_at(self, sent_at: datetime) -> datetime | None:
        # Counted from before the request: the token lives no longer than that.
        return sent_at + timedelta(seconds=self.expires_in) if self.expires_in else None


def token_platform(connection: Connection, provider: OAuthProvider) -> Platform:
    """The policy token requests of this connection run with (its own timeouts
    included), and the one its refresh lock is computed from."""
    return platform_for(connection, provider.platform())


def _token_request(connection: Connection, provider: OAuthProvider, credentials: Credentials,
                   form: dict[str, str], *, action: str, idempotent: bool) -> _Grant:
    response = _post_to_provider(connection, provider, credentials, form, action=action,
                                 idempotent=idempotent, url=_url(provider.token_url))
    try:
        body = response.json()
    except ValueError as exc:
        raise TokenError(gettext("The token endpoint's answer is not JSON."),
                         transient=True) from exc
    if not isinstance(body, dict):
        raise TokenError(gettext("The token endpoint's answer is unreadable."), transient=True)
    if body.get("ok") is False:
        # Slack answers its refusals with 200 and {"ok": false, "error": ...}.
        code = str(body.get("error") or "refused")
        raise _GrantRefused(code, code)
    access_token = body.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise TokenError(gettext("The token endpoint gave no access token."), transient=True)
    try:
        expires_in = float(body["expires_in"]) if body.get("expires_in") else None
    except (TypeError, ValueError):
        expires_in = None
    scope = body.get("scope")
    scopes = tuple(scope.replace(",", " ").split()) if isinstance(scope, str) else None
    refresh_token = body.get("refresh_token")
    return _Grant(access_token=access_token,
                  refresh_token=refresh_token if isinstance(refresh_token, str) else "",
                  expires_in=expires_in, scopes=scopes)


def _post_to_provider(connection: Connection, provider: OAuthProvider, credentials: Credentials,
                      form: dict[str, str], *, action: str, idempotent: bool,
                      url: str) -> requests.Response:
    """POST `form` with the client's authentication, through the platform client
    (audited, rate limited; the answer, a credential, is never stored)."""
    data = dict(form)
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "Accept": "application/json"}
    if provider.client_auth == CLIENT_AUTH_BASIC:
        # RFC 6749 §2.3.1: each part form-encoded before the Base64.
        pair = f"{quote_plus(credentials.client_id)}:{quote_plus(credentials.client_secret)}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    else:
        data.update(client_id=credentials.client_id, client_secret=credentials.client_secret)
    log = LogContext(action=action, entity_type="connection", entity_id=str(connection.pk),
                     connection_id=connection.pk, keep_response_body=False,
                     secrets=(*credentials.secrets(), *form.values()))
    # Not the connection's API client: that one refuses a disconnected
    # connection, which is exactly what connecting again starts from.
    client = PlatformClient(token_platform(connection, provider), key=connection.key,
                            connection_id=connection.pk, secrets=credentials.secrets())
    try:
        return client.request("POST", url, data=data, headers=headers, authenticated=False,
                              idempotent=idempotent, log=log)
    except PermanentError as exc:
        code = exc.error.code or str(exc.status_code or "")
        raise _GrantRefused(code, exc.error.message or code) from exc
    except PlatformError as exc:
        raise TokenError(str(exc), status_code=exc.status_code, transient=True) from exc


# -- how long the refresh lock is waited for -----------------------------------------
def refresh_lock_wait_seconds(platform: Platform) -> float:
    """How long a worker waits for another one's refresh: the longest token
    request (retries, backoff and rate-limit waits included, from the very
    policy the request runs with), plus one database lock timeout for the
    writes that commit it."""
    return platform.longest_call_seconds() + settings.DATABASE_LOCK_TIMEOUT_SECONDS


@contextmanager
def _lock_wait(seconds: float):
    """PostgreSQL: wait `seconds` for the row lock, then the usual short timeout again."""
    if db.vendor != "postgresql":
        yield
        return
    with db.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout')")
        usual = cursor.fetchone()[0]
        cursor.execute("SELECT set_config('lock_timeout', %s, true)",
                       [f"{round(seconds * 1000)}ms"])
    yield
    with db.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [usual])


def _is_lock_wait_over(exc: OperationalError) -> bool:
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) == "55P03":  # lock_not_available
        return True
    return db.vendor == "sqlite" and "locked" in str(exc)


def run_locked(connection_id: int, platform: Platform, work: Callable[[Connection], T], *,
               clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep) -> T:
    """`work(row)` in a transaction holding the connection's row lock.

    PostgreSQL waits for the lock with a `lock_timeout` raised for this
    transaction only. SQLite has no row locks: the transaction takes the
    database's write lock when it begins (IMMEDIATE), which its busy timeout
    waits for a short while only, so the start is retried until the same
    deadline. Either way the wait ends in a transient TokenError.
    """
    wait = refresh_lock_wait_seconds(platform)
    deadline = clock() + wait
    while True:
        try:
            with transaction.atomic():
                with _lock_wait(wait):
                    row = Connection.objects.locked().get(pk=connection_id)
                return work(row)
        except OperationalError as exc:
            if not _is_lock_wait_over(exc):
                raise
            if db.vendor == "sqlite" and not db.in_atomic_block and clock() < deadline:
                sleep(SQLITE_LOCK_RETRY_PAUSE)
                continue
            raise TokenError(gettext(
                "Another worker has been refreshing this connection's token for over "
                "%(seconds)d seconds.") % {"seconds": wait}, transient=True) from exc


# -- access tokens ------------------------------------------------------------------
@dataclass(frozen=True)
class _Outcome:
    token: str = ""
    error: TokenError | None = None


def oauth_access_token(*, connection: Connection, refused: str = "") -> str:
    """A usable access token, refreshed `refresh_margin_seconds` ahead of expiry.

    `refused` is a token the platform has just refused (401): it is replaced
    even if it looks fresh, unless another worker has replaced it already.
    """
    provider = oauth_provider_for(connection.platform)
    if provider is None:
        raise TokenError(gettext("%(platform)s has no OAuth provider registered.")
                         % {"platform": connection.platform})
    if connection.status == Connection.Status.CONNECTED:
        try:
            credentials = connection.credentials()
        except CredentialsUnreadable:
            credentials = Credentials()  # the locked path records why
        if _usable(connection, credentials, provider, refused):
            return credentials.access_token
    outcome = run_locked(connection.pk, token_platform(connection, provider),
                         lambda row: _refresh_locked(row, provider, refused))
    if outcome.error is not None:
        raise outcome.error
    return outcome.token


def _usable(row: Connection, credentials: Credentials, provider: OAuthProvider,
            refused: str) -> bool:
    return bool(credentials.access_token) and credentials.access_token != refused and \
        row.token_is_fresh(timezone.now(), provider.refresh_margin_seconds)


def _refresh_locked(row: Connection, provider: OAuthProvider, refused: str) -> _Outcome:
    # Errors are returned, not raised: the audit rows of the token request
    # and the connection's new state must commit with this transaction.
    if row.status != Connection.Status.CONNECTED:
        # Not asked of the provider, and not a new refusal: in error, the
        # connection waits for someone to reconnect it, so callers retry later.
        return _Outcome(error=TokenError(
            gettext("The connection %(name)s is %(status)s until it is connected again.")
            % {"name": row, "status": row.get_status_display()},
            transient=row.status == Connection.Status.ERROR))
    try:
        credentials = row.credentials()
    except CredentialsUnreadable as exc:
        return _broken(row, str(exc))
    if _usable(row, credentials, provider, refused):
        return _Outcome(token=credentials.access_token)  # refreshed by another worker meanwhile
    if not credentials.refresh_token:
        return _broken(row, gettext(
            "The access token expired and the provider gave no refresh token."))
    sent_at = timezone.now()
    try:
        grant = _token_request(row, provider, credentials,
                               {"grant_type": "refresh_token",
                                "refresh_token": credentials.refresh_token},
                               action="oauth.refresh",
                               idempotent=not provider.rotates_refresh_tokens)
    except _GrantRefused as exc:
        if exc.code in provider.revoked_errors:
            reason = gettext("The provider no longer accepts the sign-in (%(code)s: %(reason)s); "
                             "it was revoked or has expired.") % {"code": exc.code,
                                                                   "reason": exc.reason}
        else:
            reason = gettext("The provider refused to refresh the token (%(code)s: "
                             "%(reason)s).") % {"code": exc.code, "reason": exc.reason}
        return _broken(row, reason)
    except TokenError as exc:
        row.last_error = str(exc)[:4000]
        row.last_error_at = timezone.now()
        row.save(update_fields=["last_error", "last_error_at", "updated_at"])
        return _Outcome(error=exc)
    # The rotated refresh token replaces the spent one before the new access
    # token leaves this transaction; a provider that does not rotate sends none.
    row.set_credentials(credentials.updated(
        access_token=grant.access_token,
        refresh_token=grant.refresh_token or credentials.refresh_token))
    row.token_expires_at = grant.expires_at(sent_at)
    update = ["encrypted_credentials", "credentials_version", "token_expires_at", "updated_at"]
    if grant.scopes is not None:
        row.granted_scopes = list(grant.scopes)
        update.append("granted_scopes")
    row.save(update_fields=update)
    return _Outcome(token=grant.access_token)


def _broken(row: Connection, reason: str) -> _Outcome:
    # The connections' own service: status error, the reason, an attention item.
    connection_record_error(connection=row, reason=reason)
    return _Outcome(error=TokenError(reason))


class OAuthConnectionAuth(AuthProvider):
    """The platform client's credentials for an OAuth connection.

    Reads the connection at each request (one query by primary key) rather
    than keeping the token, so a refresh by another worker, a disconnection
    or an error is seen at once.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection_id = connection.pk
        self._refused = ""

    def headers(self) -> dict[str, str]:
        connection = Connection.objects.filter(pk=self.connection_id).first()
        if connection is None:
            raise TokenError(gettext("Connection %(id)s no longer exists.")
                             % {"id": self.connection_id})
        token = oauth_access_token(connection=connection, refused=self._refused)
        return {"Authorization": f"Bearer {token}"}

    def invalidate(self, refused: Mapping[str, str] | None = None) -> None:
        if refused:
            self._refused = refused.get("Authorization", "").removeprefix("Bearer ")


def oauth_auth_for(connection: Connection) -> OAuthConnectionAuth | None:
    """The auth provider of a connection whose platform signs in with OAuth, else None."""
    if oauth_provider_for(connection.platform) is None:
        return None
    return OAuthConnectionAuth(connection)


def oauth_auth_builder(context: AuthContext) -> AuthProvider | None:
    """The auth builder (apps.core.connections) of OAuth connections."""
    return oauth_auth_for(context.connection)


# Also by name, for a connection of another platform that says
# settings["auth"] = "oauth".
register_auth_builder("oauth", oauth_auth_builder)


# -- disconnect ---------------------------------------------------------------------
@dataclass(frozen=True)
class OAuthDisconnected:
    connection: Connection
    # True only when the provider confirmed the revocation; False when it has
    # no revocation endpoint, there was no token, or it refused or failed.
    revoked: bool


def oauth_disconnect(*, connection: Connection) -> Connection:
    """Revoke the grant at the provider (best effort) and forget the tokens."""
    return oauth_disconnect_revoking(connection=connection).connection


def oauth_disconnect_revoking(*, connection: Connection) -> OAuthDisconnected:
    """`oauth_disconnect`, saying whether the provider confirmed the revocation."""
    provider = oauth_provider_for(connection.platform)
    platform = token_platform(connection, provider) if provider else None

    def disconnect(row: Connection) -> OAuthDisconnected:
        credentials = _credentials_or_empty(row)
        revoked = False
        if provider is not None and _url(provider.revoke_url):
            revoked = _revoke(row, provider, credentials)
        row.set_credentials(credentials.updated(access_token="", refresh_token=""))
        row.token_expires_at = None
        row.granted_scopes = []
        row.status = Connection.Status.DISCONNECTED
        row.status_reason = ""
        row.save(update_fields=["encrypted_credentials", "credentials_version",
                                "token_expires_at", "granted_scopes", "status",
                                "status_reason", "updated_at"])
        attention_clear(kind=BROKEN_KIND, subject=row)
        return OAuthDisconnected(connection=row, revoked=revoked)

    if platform is None:
        with transaction.atomic():
            return disconnect(Connection.objects.locked().get(pk=connection.pk))
    try:
        # Under the lock: a refresh in progress would otherwise rotate the
        # token we revoke into one we never revoke.
        return run_locked(connection.pk, platform, disconnect)
    except TokenError as exc:
        raise ServiceError("CONNECTION_BUSY", str(exc), status=409) from exc


def _revoke(row: Connection, provider: OAuthProvider, credentials: Credentials) -> bool:
    """RFC 7009 revocation; True when the provider confirmed it."""
    if provider.revoke_access_token:
        token, hint = credentials.access_token, "access_token"
    else:
        # Revoking the refresh token ends the whole grant at most providers.
        token, hint = ((credentials.refresh_token, "refresh_token") if credentials.refresh_token
                       else (credentials.access_token, "access_token"))
    if not token:
        return False
    try:
        response = _post_to_provider(row, provider, credentials,
                                     {"token": token, "token_type_hint": hint},
                                     action="oauth.revoke", idempotent=True,
                                     url=_url(provider.revoke_url))
    except (TokenError, _GrantRefused) as exc:
        # Forgetting the tokens matters more than the provider's answer; the
        # exchange is in the audit log and the user can revoke from the provider.
        logger.warning("Revoking the OAuth grant of %s failed: %s", row, exc)
        return False
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("ok") is False:
        # Slack answers its refusals with 200 and {"ok": false, "error": ...}.
        logger.warning("Revoking the OAuth grant of %s was refused: %s", row, body.get("error"))
        return False
    return True
