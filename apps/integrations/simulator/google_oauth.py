"""Google's OAuth 2.0 for the Google simulator: consent, code, tokens, revoke, userinfo.

What Google does, and so what this does (docs/integrations.md has the sources):
- The consent screen (`GET /o/oauth2/v2/auth`) consents at once for the
  simulator's one user and redirects to `redirect_uri` with `code`, `state`
  and the granted `scope`; denied (a /_sim/ control), it redirects with
  `error=access_denied`. An unknown client, a redirect URI the client has not
  registered or a malformed request is an HTML error page, never a redirect.
- `email` and `profile` are answered as their full URLs
  (`https://www.googleapis.com/auth/userinfo.email`), as Google's token
  answers show them.
- A refresh token comes only with `access_type=offline`, and only on the
  first consent of that client unless `prompt=consent` asks again.
- The code (`POST /token`, `grant_type=authorization_code`) is single-use,
  lives ten minutes on the simulator's clock and is bound to the client, the
  redirect URI and the PKCE challenge (S256 or plain). Refusals are
  `invalid_grant` with Google's descriptions ("Malformed auth code.", "Code
  was already redeemed.", "Invalid code verifier.", "Missing code
  verifier.", and "code_verifier or verifier is not needed." for a verifier
  sent with a code that had no challenge), except a different redirect URI:
  `redirect_uri_mismatch`.
- Refresh tokens are not rotated: a refresh answers a new access token
  (`expires_in` 3599, `scope`, `token_type` Bearer) and no refresh token.
- `POST /revoke` (token in the form or the query) ends the whole grant: the
  refresh token and every access token issued from it. An unknown or already
  revoked token is 400 `invalid_token`. A revoked refresh token is then
  `invalid_grant` "Token has been expired or revoked.".
- `GET /oauth2/v3/userinfo` gives `sub`, plus `email` and `email_verified`
  with the email scope, `name`, `given_name`, `family_name` and `picture`
  with the profile scope; a bad token is 401 `{"error": "invalid_request",
  "error_description": "Invalid Credentials"}`.

Tokens themselves (issue, refresh, bearer check) are the kit's `TokenServer`;
authorization codes are the kit's `authcodes.AuthorizationCodes`, shared with
the Slack and Zoom simulators until it moves to the kit.
"""

from __future__ import annotations

import html
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from apps.core.simulator import SimRequest, SimResponse
from apps.core.simulator_kit.authcodes import PKCE_METHODS, AuthorizationCodes, CodeRefused
from apps.core.simulator_kit.oauth import (
    NO_STORE,
    REFRESH_TOKEN,
    AccessToken,
    ClientSecrets,
    OAuthError,
    TokenRejected,
    TokenServer,
)

AUTHORIZATION_CODE = "authorization_code"
ACCESS_TOKEN_SECONDS = 3599
CODE_LIFETIME_SECONDS = 600

OPENID = "openid"
USERINFO_EMAIL = "https://www.googleapis.com/auth/userinfo.email"
USERINFO_PROFILE = "https://www.googleapis.com/auth/userinfo.profile"
_AUTH = "https://www.googleapis.com/auth/"
CALENDAR = _AUTH + "calendar"
CALENDAR_READONLY = _AUTH + "calendar.readonly"
CALENDAR_EVENTS = _AUTH + "calendar.events"
CALENDAR_EVENTS_READONLY = _AUTH + "calendar.events.readonly"
CALENDAR_EVENTS_OWNED = _AUTH + "calendar.events.owned"
CALENDAR_EVENTS_OWNED_READONLY = _AUTH + "calendar.events.owned.readonly"
CALENDAR_APP_CREATED = _AUTH + "calendar.app.created"
CALENDAR_CALENDARS = _AUTH + "calendar.calendars"
CALENDAR_CALENDARS_READONLY = _AUTH + "calendar.calendars.readonly"
CALENDAR_LIST = _AUTH + "calendar.calendarlist"
CALENDAR_LIST_READONLY = _AUTH + "calendar.calendarlist.readonly"
# The order token answers list granted scopes in.
KNOWN_SCOPES = (OPENID, USERINFO_EMAIL, USERINFO_PROFILE, CALENDAR, CALENDAR_READONLY,
                CALENDAR_EVENTS, CALENDAR_EVENTS_READONLY, CALENDAR_EVENTS_OWNED,
                CALENDAR_EVENTS_OWNED_READONLY, CALENDAR_APP_CREATED, CALENDAR_CALENDARS,
                CALENDAR_CALENDARS_READONLY, CALENDAR_LIST, CALENDAR_LIST_READONLY)
SCOPE_ALIASES = {"email": USERINFO_EMAIL, "profile": USERINFO_PROFILE}
# The scopes each kind of call accepts (any one of them), as the Calendar
# API reference lists them per method. The app.created scope really covers
# only calendars the app created; the simulator does not tell them apart.
EVENTS_READ_SCOPES = frozenset({CALENDAR, CALENDAR_READONLY, CALENDAR_EVENTS,
                                CALENDAR_EVENTS_READONLY, CALENDAR_EVENTS_OWNED,
                                CALENDAR_EVENTS_OWNED_READONLY, CALENDAR_APP_CREATED})
EVENTS_WRITE_SCOPES = frozenset({CALENDAR, CALENDAR_EVENTS, CALENDAR_EVENTS_OWNED,
                                 CALENDAR_APP_CREATED})
CALENDAR_GET_SCOPES = frozenset({CALENDAR, CALENDAR_READONLY, CALENDAR_CALENDARS,
                                 CALENDAR_CALENDARS_READONLY, CALENDAR_APP_CREATED})
CALENDAR_LIST_SCOPES = frozenset({CALENDAR, CALENDAR_READONLY, CALENDAR_LIST,
                                  CALENDAR_LIST_READONLY})

# RFC 7636 §4.2: 43 to 128 unreserved characters.
CODE_CHALLENGE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
WWW_AUTHENTICATE = 'Bearer realm="https://accounts.google.com/", error="invalid_token"'


@dataclass(frozen=True)
class SimUser:
    email: str
    name: str
    given_name: str
    family_name: str
    picture: str
    sub: str


@dataclass
class Grant:
    """One consent's tokens: revoking any of them revokes them all."""

    client_id: str
    scopes: tuple[str, ...]
    refresh_token: str = ""
    access_tokens: set[str] = field(default_factory=set)
    revoked: bool = False


@dataclass(frozen=True)
class _PendingCode:
    grant_refresh: bool
    pkce: bool
    expires_at: float


class AuthorizePageError(Exception):
    """A request the consent screen refuses with an error page, not a redirect."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


def google_oauth_error(status: int, error: str, description: str) -> SimResponse:
    return SimResponse.json(status, {"error": error, "error_description": description},
                            headers=dict(NO_STORE))


def normalise_scopes(requested: str) -> tuple[str, ...]:
    """The requested scopes as Google grants them (aliases expanded), in a fixed order."""
    wanted = {SCOPE_ALIASES.get(scope, scope) for scope in requested.split()}
    unknown = wanted - set(KNOWN_SCOPES)
    if unknown:
        raise AuthorizePageError(400, "invalid_scope",
                                 "Some requested scopes were invalid. {invalid="
                                 + ", ".join(sorted(unknown)) + "}")
    return tuple(scope for scope in KNOWN_SCOPES if scope in wanted)


class GoogleOAuth:
    """The authorization server of the simulator, for its one user.

    clients: client id -> secret; redirect_uris: client id -> the URIs it
    registered, or None for a client that accepts any http(s) URI (the
    simulator does not know where the hub runs).
    """

    def __init__(self, *, clients: dict[str, str], user: SimUser,
                 redirect_uris: dict[str, list[str]] | None = None) -> None:
        self.clients = dict(clients)
        self.user = user
        self.initial_redirect_uris = dict(redirect_uris or {})
        self.tokens = TokenServer(ClientSecrets(self.clients),
                                  token_lifetime_seconds=ACCESS_TOKEN_SECONDS,
                                  scopes=KNOWN_SCOPES, grants=(REFRESH_TOKEN,),
                                  remember_expired_seconds=None)
        self.codes = AuthorizationCodes(lifetime_seconds=CODE_LIFETIME_SECONDS)
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.tokens.reset()
            self.codes.reset()
            self.deny_consent = False
            self.redirect_uris = {k: list(v) for k, v in self.initial_redirect_uris.items()}
            self._pending: dict[str, _PendingCode] = {}
            # Clients the user has consented to: a later consent without
            # prompt=consent gets no new refresh token.
            self._consented: set[str] = set()
            self._grants: list[Grant] = []
            self._by_token: dict[str, Grant] = {}
            self.revocations = 0

    # -- the consent screen ----------------------------------------------------
    def authorize(self, request: SimRequest, now: float) -> SimResponse:
        try:
            location = self._authorize(request, now)
        except AuthorizePageError as exc:
            return error_page(exc)
        return SimResponse.empty(302, {"Location": location, "Cache-Control": "no-store"})

    def _authorize(self, request: SimRequest, now: float) -> str:
        query = {key: values[-1] for key, values in request.query.items()}
        client_id = query.get("client_id", "")
        if not client_id:
            raise AuthorizePageError(400, "invalid_request",
                                     "Missing required parameter: client_id")
        if client_id not in self.clients:
            raise AuthorizePageError(401, "invalid_client", "The OAuth client was not found.")
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri:
            raise AuthorizePageError(400, "invalid_request",
                                     "Missing required parameter: redirect_uri")
        if not self._redirect_allowed(client_id, redirect_uri):
            raise AuthorizePageError(400, "redirect_uri_mismatch",
                                     "You can't sign in to this app because it doesn't comply "
                                     "with Google's OAuth 2.0 policy. redirect_uri="
                                     + redirect_uri)
        # From here on Google could redirect, but it still shows these on its page.
        response_type = query.get("response_type", "")
        if not response_type:
            raise AuthorizePageError(400, "invalid_request",
                                     "Required parameter is missing: response_type")
        if response_type != "code":
            raise AuthorizePageError(400, "unsupported_response_type",
                                     f"Invalid response_type: {response_type}")
        if not query.get("scope", "").strip():
            raise AuthorizePageError(400, "invalid_request", "Missing required parameter: scope")
        scopes = normalise_scopes(query["scope"])
        challenge = query.get("code_challenge", "")
        method = query.get("code_challenge_method", "")
        if method and not challenge:
            raise AuthorizePageError(400, "invalid_request",
                                     "Missing required parameter: code_challenge")
        if challenge:
            # RFC 7636 §4.3: plain when the method is left out.
            method = method or "plain"
            if method not in PKCE_METHODS:
                raise AuthorizePageError(400, "invalid_request",
                                         f"Invalid code_challenge_method: {method}")
            if not CODE_CHALLENGE.match(challenge):
                raise AuthorizePageError(400, "invalid_request", "Invalid code_challenge.")
        state = query.get("state")
        if self.deny_consent:
            return _with_query(redirect_uri, {"error": "access_denied", "state": state})
        offline = query.get("access_type") == "offline"
        prompts = set(query.get("prompt", "").split())
        with self._lock:
            first_consent = client_id not in self._consented
            self._consented.add(client_id)
            code = self.codes.issue(client_id=client_id, redirect_uri=redirect_uri, scopes=scopes,
                                    code_challenge=challenge, code_challenge_method=method,
                                    now=now, prefix="4/0A")
            self._pending = {key: pending for key, pending in self._pending.items()
                             if pending.expires_at > now}
            self._pending[code] = _PendingCode(
                grant_refresh=offline and (first_consent or "consent" in prompts),
                pkce=bool(challenge), expires_at=now + CODE_LIFETIME_SECONDS)
        return _with_query(redirect_uri, {"state": state, "code": code,
                                          "scope": " ".join(scopes)})

    def _redirect_allowed(self, client_id: str, redirect_uri: str) -> bool:
        registered = self.redirect_uris.get(client_id)
        if registered is not None:
            return redirect_uri in registered
        parts = urlsplit(redirect_uri)
        return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.fragment

    # -- the token endpoint ----------------------------------------------------------
    def token(self, request: SimRequest, now: float) -> SimResponse:
        try:
            form: dict[str, str] | None = request.form()
        except UnicodeDecodeError:
            form = None
        try:
            if form is not None and form.get("grant_type") == AUTHORIZATION_CODE:
                payload = self._exchange_code(form, request.headers, now)
            else:
                payload = self._refresh(form, request.headers, now)
        except OAuthError as exc:
            return google_oauth_error(exc.status, exc.error, exc.description)
        return SimResponse.json(200, payload, headers=dict(NO_STORE))

    def _authenticate_client(self, form: dict[str, str], headers: dict[str, str],
                             now: float) -> str:
        auth = self.tokens.client_auth
        missing = auth.missing(form, headers)
        if "client_id" in missing:
            raise OAuthError("invalid_request", "Could not determine client ID from request.")
        if "client_secret" in missing:
            raise OAuthError("invalid_request", "client_secret is missing.")
        try:
            return auth.authenticate(form, headers, now)
        except OAuthError as exc:
            if exc.error != "invalid_client":
                raise
            client_id = form.get("client_id", "")
            if client_id and client_id not in self.clients:
                raise OAuthError("invalid_client", "The OAuth client was not found.") from exc
            raise OAuthError("invalid_client", "Unauthorized") from exc

    def _exchange_code(self, form: dict[str, str], headers: dict[str, str],
                       now: float) -> dict[str, Any]:
        for name in ("code", "redirect_uri"):
            if not form.get(name):
                raise OAuthError("invalid_request", f"Missing required parameter: {name}")
        client_id = self._authenticate_client(form, headers, now)
        with self._lock:
            pending = self._pending.get(form["code"])
            if pending is not None and not pending.pkce and form.get("code_verifier"):
                raise OAuthError("invalid_grant", "code_verifier or verifier is not needed.")
            try:
                code = self.codes.redeem(form["code"], client_id=client_id,
                                         redirect_uri=form["redirect_uri"],
                                         code_verifier=form.get("code_verifier", ""), now=now)
            except CodeRefused as exc:
                raise _code_refusal(exc.reason) from exc
            pending = self._pending.pop(code.value, None)
            answer = self.tokens.grant(client_id, now, code.scopes)
            grant = Grant(client_id=client_id, scopes=code.scopes,
                          access_tokens={answer["access_token"]})
            refresh = answer.pop("refresh_token")
            if pending is not None and pending.grant_refresh:
                grant.refresh_token = refresh
                answer["refresh_token"] = refresh
                self._by_token[refresh] = grant
            else:
                # Issued by the kit with every grant; this one has none.
                self.tokens.revoke(refresh)
            self._by_token[answer["access_token"]] = grant
            self._grants.append(grant)
            return answer

    def _refresh(self, form: dict[str, str] | None, headers: dict[str, str],
                 now: float) -> dict[str, Any]:
        if form is None:
            raise OAuthError("invalid_request", "Malformed form body")
        grant_type = form.get("grant_type", "")
        if not grant_type:
            raise OAuthError("unsupported_grant_type", "Invalid grant_type: ")
        if grant_type != REFRESH_TOKEN:
            raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        if not form.get("refresh_token"):
            raise OAuthError("invalid_request", "Missing required parameter: refresh_token")
        self._authenticate_client(form, headers, now)
        with self._lock:
            grant = self._by_token.get(form["refresh_token"])
            if grant is not None and grant.revoked:
                raise OAuthError("invalid_grant", "Token has been expired or revoked.")
            try:
                answer = self.tokens.exchange(form, headers, now)
            except OAuthError as exc:
                if exc.error == "invalid_grant":
                    raise OAuthError("invalid_grant", "Bad Request") from exc
                raise
            if grant is not None:
                grant.access_tokens.add(answer["access_token"])
                self._by_token[answer["access_token"]] = grant
            return answer

    # -- revocation --------------------------------------------------------------------
    def revoke_endpoint(self, request: SimRequest) -> SimResponse:
        try:
            form = request.form()
        except UnicodeDecodeError:
            form = {}
        token = form.get("token") or (request.query.get("token") or [""])[-1]
        if not token:
            return google_oauth_error(400, "invalid_request", "Bad Request")
        if not self.revoke_token(token):
            return google_oauth_error(400, "invalid_token", "Token expired or revoked")
        return SimResponse.json(200, {}, headers=dict(NO_STORE))

    def revoke_token(self, token: str) -> bool:
        """Ends the grant `token` belongs to; False when it is unknown or already revoked."""
        with self._lock:
            grant = self._by_token.get(token)
            if grant is None or grant.revoked:
                return False
            self._revoke(grant)
            return True

    def revoke_all(self) -> int:
        """The user removes the app's access in their Google account."""
        with self._lock:
            live = [grant for grant in self._grants if not grant.revoked]
            for grant in live:
                self._revoke(grant)
            return len(live)

    def _revoke(self, grant: Grant) -> None:
        grant.revoked = True
        if grant.refresh_token:
            self.tokens.revoke(grant.refresh_token)
        for access_token in grant.access_tokens:
            self.tokens.revoke(access_token)
        # The user consents afresh next time, refresh token included.
        self._consented.discard(grant.client_id)
        self.revocations += 1

    # -- the resource side ------------------------------------------------------------------
    def authenticate(self, authorization: str, now: float) -> AccessToken:
        """The caller's access token, or TokenRejected."""
        return self.tokens.authenticate(authorization, now)

    def userinfo(self, request: SimRequest, now: float) -> SimResponse:
        try:
            token = self.authenticate(request.header("authorization"), now)
        except TokenRejected:
            return SimResponse.json(401, {"error": "invalid_request",
                                          "error_description": "Invalid Credentials"},
                                    headers={"WWW-Authenticate": WWW_AUTHENTICATE})
        user = self.user
        info: dict[str, Any] = {"sub": user.sub}
        if USERINFO_PROFILE in token.scopes:
            info.update(name=user.name, given_name=user.given_name,
                        family_name=user.family_name, picture=user.picture)
        if USERINFO_EMAIL in token.scopes:
            info.update(email=user.email, email_verified=True)
        return SimResponse.json(200, info, content_type="application/json; charset=utf-8")

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                **self.tokens.state(),
                **self.codes.state(),
                "consent": "deny" if self.deny_consent else "allow",
                "grants": [{"client_id": grant.client_id, "scopes": list(grant.scopes),
                            "has_refresh_token": bool(grant.refresh_token),
                            "access_tokens": len(grant.access_tokens),
                            "revoked": grant.revoked} for grant in self._grants],
                "revocations": self.revocations,
            }


def _code_refusal(reason: str) -> OAuthError:
    if reason == "redirect_uri":
        return OAuthError("redirect_uri_mismatch", "Bad Request")
    descriptions = {
        "unknown": "Malformed auth code.",
        "used": "Code was already redeemed.",
        "verifier_missing": "Missing code verifier.",
        "verifier_mismatch": "Invalid code verifier.",
    }
    # An expired code, or another client's: Google says no more than this.
    return OAuthError("invalid_grant", descriptions.get(reason, "Bad Request"))


def _with_query(url: str, params: dict[str, str | None]) -> str:
    present = {key: value for key, value in params.items() if value is not None}
    separator = "&" if urlsplit(url).query else "?"
    return url + separator + urlencode(present)


def error_page(exc: AuthorizePageError) -> SimResponse:
    """Google's "Access blocked" / "Authorization Error" page, in short."""
    title = "Access blocked: Authorization Error"
    body = (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{title}</title></head><body><h1>{title}</h1>"
        f"<p>{html.escape(exc.description)}</p>"
        f"<p>Error {exc.status}: {html.escape(exc.error)}</p></body></html>"
    )
    return SimResponse(exc.status, body.encode("utf-8"),
                       {"Content-Type": "text/html; charset=utf-8"})
