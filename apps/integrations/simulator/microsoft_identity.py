"""The Microsoft identity platform's v2.0 endpoints, as the simulator serves them.

    GET  /{tenant}/oauth2/v2.0/authorize   consent (automatic), then 302 to redirect_uri
    POST /{tenant}/oauth2/v2.0/token       authorization_code and refresh_token grants

`tenant` is `common`, `organizations`, `consumers` or the simulator's tenant
id. There is no revocation endpoint [V: no RFC 7009 endpoint for apps;
`/me/revokeSignInSessions` revokes every app's tokens].

Authorize [V: auth-code-flow]: client_id, response_type=code, redirect_uri,
scope, state, PKCE (`code_challenge`, method S256 or plain). An unknown
client or a redirect URI not registered for it is an error page (no
redirect: the URI is not trusted); everything else comes back on the
redirect URI: `code`, `state`, `session_state`, or `error` and
`error_description` ("AADSTS65004: User declined to consent to access the
app." when the consent is denied through /_sim/identity).

Token: client authentication with client_secret in the form or HTTP Basic.
Codes are single use and short lived ("typically expiring after about 10
minutes" [V]) and bound to the client, the redirect URI and the PKCE
challenge. Refresh tokens need `offline_access`; every refresh answers a
new one, and "the Microsoft identity platform doesn't revoke old refresh
tokens when used to fetch new access tokens" [V: refresh-tokens], so an old
one keeps working until 90 days of inactivity (AADSTS700082) or a
revocation (AADSTS50173). `/_sim/identity {"refresh_token_reuse": "refused"}`
makes a used one fail instead, which is stricter than Microsoft and tests a
hub's single-flight refresh. Access tokens live `token_lifetime_seconds`
(3599 here; Microsoft's are 60 to 90 minutes [V2]).

With `openid` among the scopes the answer carries an `id_token`: a JWT
signed RS256 (kid in its header, the key at
`/{tenant}/discovery/v2.0/keys`) with aud (the client id), iss
(`https://login.microsoftonline.com/<tenant id>/v2.0`), iat, nbf, exp, sub,
oid, tid, ver "2.0", nonce (from the authorize request), name,
preferred_username and, with `email`, email [V: id-token claims, from
memory of Microsoft's reference; the key is the simulator's own].

Errors are AAD's JSON [V: reference-error-codes]: {"error",
"error_description" ("AADSTS<n>: …\\r\\nTrace ID: …\\r\\nCorrelation ID:
…\\r\\nTimestamp: …"), "error_codes", "timestamp", "trace_id",
"correlation_id", "error_uri"}; 401 for invalid_client, 400 otherwise. The
AADSTS numbers used: 54005 code already redeemed [V2], 70008 expired grant
[V2], 50148 PKCE mismatch [V2], 50173 revoked grant [V2], 700082 inactive
refresh token [V2], 7000215 wrong secret, 7000218 no secret, 700016 unknown
application, 900144 missing parameter, 9002313 malformed request, 70011
invalid scope, 65001 scope not consented, 70003 unsupported grant type,
70000 a code or token that is not valid here [the last seven from memory of
Microsoft's error page, I].
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from apps.core.simulator import SimRequest, SimResponse
from apps.core.simulator_kit.oauth import ClientSecrets, TokenServer

AUTHORIZE_PATH = "/{tenant}/oauth2/v2.0/authorize"
KEYS_PATH = "/{tenant}/discovery/v2.0/keys"
TOKEN_PATH = "/{tenant}/oauth2/v2.0/token"  # noqa: S105 - a path, not a secret
TENANT_ALIASES = ("common", "organizations", "consumers")
# Resource scopes of Graph the simulator knows, and OpenID Connect's.
GRAPH_SCOPES = ("User.Read", "Calendars.Read", "Calendars.ReadWrite", "OnlineMeetings.ReadWrite")
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
CODE_LIFETIME_SECONDS = 600
REFRESH_INACTIVITY_SECONDS = 90 * 24 * 3600
NO_STORE = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}


class AadError(Exception):
    def __init__(self, error: str, code: int, text: str, *, status: int | None = None) -> None:
        super().__init__(text)
        self.error = error
        self.code = code
        self.text = text
        self.status = status or (401 if error == "invalid_client" else 400)


def aad_error_response(exc: AadError, now: float) -> SimResponse:
    stamp = dt.datetime.fromtimestamp(now, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    description = (f"AADSTS{exc.code}: {exc.text}\r\nTrace ID: {trace_id}\r\n"
                   f"Correlation ID: {correlation_id}\r\nTimestamp: {stamp}")
    body = {"error": exc.error, "error_description": description, "error_codes": [exc.code],
            "timestamp": stamp, "trace_id": trace_id, "correlation_id": correlation_id,
            "error_uri": f"https://login.microsoftonline.com/error?code={exc.code}"}
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="login.microsoftonline.com"'
    return SimResponse.json(exc.status, body, headers=headers)


def _missing(name: str) -> AadError:
    return AadError("invalid_request", 900144,
                    f"The request body must contain the following parameter: '{name}'.")


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    challenge: str
    method: str
    issued_at: float
    nonce: str = ""
    redeemed: bool = False


@dataclass
class _Refresh:
    client_id: str
    scopes: tuple[str, ...]
    family: str
    issued_at: float
    last_used_at: float
    used: bool = False


class IdentityPlatform:
    """Codes, refresh tokens and the consent the simulated user gives."""

    def __init__(self, *, tenant_id: str, clients: dict[str, str],
                 redirect_uris: dict[str, list[str]] | None, token_lifetime_seconds: int,
                 user: dict[str, str]) -> None:
        self.tenant_id = tenant_id
        # The signed-in user: id, name, mail (the mailbox's owner).
        self.user = dict(user)
        self.clients = dict(clients)
        # None: any http(s) redirect URI is registered (the hub's varies per test).
        self.redirect_uris = redirect_uris
        self.tokens = TokenServer(ClientSecrets(self.clients),
                                  token_lifetime_seconds=token_lifetime_seconds,
                                  scopes=GRAPH_SCOPES + OIDC_SCOPES,
                                  remember_expired_seconds=24 * 3600)
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.tokens.reset()
            self.codes: dict[str, _Code] = {}
            self.refresh_tokens: dict[str, _Refresh] = {}
            self.revoked_families: set[str] = set()
            self.access_tokens: list[str] = []
            self.consent = "approve"
            self.refresh_token_reuse = "allowed"  # noqa: S105 - a mode's name
            self.refreshes = 0

    def configure(self, values: dict[str, Any]) -> dict[str, Any]:
        """/_sim/identity: consent approve|deny, refresh_token_reuse allowed|refused."""
        unknown = set(values) - {"consent", "refresh_token_reuse"}
        if unknown:
            raise ValueError(f"unknown identity setting(s): {', '.join(sorted(unknown))}")
        if values.get("consent", "approve") not in ("approve", "deny"):
            raise ValueError("consent must be approve or deny")
        if values.get("refresh_token_reuse", "allowed") not in ("allowed", "refused"):
            raise ValueError("refresh_token_reuse must be allowed or refused")
        with self._lock:
            self.consent = values.get("consent", self.consent)
            self.refresh_token_reuse = values.get("refresh_token_reuse", self.refresh_token_reuse)
            return {"consent": self.consent, "refresh_token_reuse": self.refresh_token_reuse}

    def revoke_grants(self, *, access_tokens: bool) -> int:
        """Every refresh token stops working (what revokeSignInSessions or an
        admin does); access tokens only when asked (they normally live on)."""
        with self._lock:
            families = {record.family for record in self.refresh_tokens.values()}
            self.revoked_families |= families
            if access_tokens:
                for value in self.access_tokens:
                    self.tokens.revoke(value)
                self.access_tokens.clear()
            return len(families)

    # -- authorize ----------------------------------------------------------------
    def authorize(self, request: SimRequest, now: float) -> SimResponse:
        params = {key: values[-1] for key, values in request.query.items()}
        tenant = request.path_params["tenant"]
        if tenant not in TENANT_ALIASES and tenant != self.tenant_id:
            return _error_page(90002, f"Tenant '{tenant}' not found. Check to make sure you have "
                                      "the correct tenant ID and are signing into the correct "
                                      "cloud.")
        client_id = params.get("client_id", "")
        if not client_id:
            return _error_page(900144, "The request body must contain the following "
                                       "parameter: 'client_id'.")
        if client_id not in self.clients:
            return _error_page(700016, f"Application with identifier '{client_id}' was not "
                                       f"found in the directory '{self.tenant_id}'.")
        redirect_uri = params.get("redirect_uri", "")
        if not self._registered(client_id, redirect_uri):
            return _error_page(50011, f"The redirect URI '{redirect_uri}' specified in the "
                                      "request does not match the redirect URIs configured for "
                                      f"the application '{client_id}'.")
        state = params.get("state")
        try:
            scopes = self._check_authorize(params)
        except AadError as exc:
            return _redirect(redirect_uri, {"error": exc.error,
                                            "error_description": f"AADSTS{exc.code}: {exc.text}",
                                            "state": state})
        if self.consent == "deny":
            return _redirect(redirect_uri, {
                "error": "access_denied",
                "error_description": "AADSTS65004: User declined to consent to access the app.",
                "state": state})
        code = secrets.token_urlsafe(48)
        with self._lock:
            self.codes = {k: c for k, c in self.codes.items()
                          if now - c.issued_at < 2 * CODE_LIFETIME_SECONDS}
            self.codes[code] = _Code(client_id=client_id, redirect_uri=redirect_uri,
                                     scopes=scopes, challenge=params.get("code_challenge", ""),
                                     method=params.get("code_challenge_method", "plain"),
                                     issued_at=now, nonce=params.get("nonce", ""))
        return _redirect(redirect_uri, {"code": code, "state": state,
                                        "session_state": str(uuid.uuid4())})

    def _registered(self, client_id: str, redirect_uri: str) -> bool:
        if self.redirect_uris is None:
            return urlsplit(redirect_uri).scheme in ("http", "https")
        return redirect_uri in self.redirect_uris.get(client_id, [])

    def _check_authorize(self, params: dict[str, str]) -> tuple[str, ...]:
        if params.get("response_type") != "code":
            raise AadError("unsupported_response_type", 70005,
                           "response_type 'token' is not enabled for the application."
                           if params.get("response_type") else
                           "The request body must contain the following parameter: "
                           "'response_type'.")
        if not params.get("scope"):
            raise _missing("scope")
        scopes = _scopes(params["scope"])
        if params.get("code_challenge") and \
                params.get("code_challenge_method", "plain") not in ("S256", "plain"):
            raise AadError("invalid_request", 501491,
                           "Invalid code_challenge_method: only S256 and plain are supported.")
        return scopes

    # -- token --------------------------------------------------------------------
    def token(self, request: SimRequest, now: float) -> SimResponse:
        tenant = request.path_params["tenant"]
        try:
            if tenant not in TENANT_ALIASES and tenant != self.tenant_id:
                raise AadError("invalid_request", 90002, f"Tenant '{tenant}' not found.")
            answer = self._token(request, now)
        except AadError as exc:
            return aad_error_response(exc, now)
        return SimResponse.json(200, answer, headers=dict(NO_STORE))

    def _token(self, request: SimRequest, now: float) -> dict[str, Any]:
        try:
            form = request.form()
        except UnicodeDecodeError:
            raise AadError("invalid_request", 9002313,
                           "Invalid request. Request is malformed or invalid.") from None
        grant_type = form.get("grant_type")
        if not grant_type:
            raise _missing("grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise AadError("unsupported_grant_type", 70003,
                           f"The app requested an unsupported grant type '{grant_type}'.")
        client_id = self._client(form, request.headers)
        with self._lock:
            if grant_type == "authorization_code":
                return self._redeem_code(client_id, form, now)
            return self._refresh(client_id, form, now)

    def _client(self, form: dict[str, str], headers: dict[str, str]) -> str:
        basic_id, basic_secret = _basic(headers)
        client_id = basic_id or form.get("client_id", "")
        secret = basic_secret or form.get("client_secret", "")
        if not client_id:
            raise _missing("client_id")
        if client_id not in self.clients:
            raise AadError("unauthorized_client", 700016,
                           f"Application with identifier '{client_id}' was not found in the "
                           f"directory '{self.tenant_id}'.")
        if not secret:
            raise AadError("invalid_client", 7000218,
                           "The request body must contain the following parameter: "
                           "'client_assertion' or 'client_secret'.")
        if not hmac.compare_digest(secret.encode(), self.clients[client_id].encode()):
            raise AadError("invalid_client", 7000215,
                           "Invalid client secret provided. Ensure the secret being sent in the "
                           "request is the client secret value, not the client secret ID, for a "
                           f"secret added to app '{client_id}'.")
        return client_id

    def _redeem_code(self, client_id: str, form: dict[str, str], now: float) -> dict[str, Any]:
        value = form.get("code")
        if not value:
            raise _missing("code")
        if not form.get("redirect_uri"):
            raise _missing("redirect_uri")
        code = self.codes.get(value)
        if code is None or code.client_id != client_id:
            raise AadError("invalid_grant", 70000,
                           "The provided value for the 'code' parameter is not valid.")
        if code.redeemed:
            raise AadError("invalid_grant", 54005,
                           "OAuth2 Authorization code was already redeemed, please retry with a "
                           "new valid code or use an existing refresh token.")
        if now - code.issued_at > CODE_LIFETIME_SECONDS:
            raise AadError("invalid_grant", 70008,
                           "The provided authorization code or refresh token has expired due to "
                           "inactivity. Send a new interactive authorization request for this "
                           "user and resource.")
        if form["redirect_uri"] != code.redirect_uri:
            raise AadError("invalid_grant", 70000,
                           "The provided value for the 'redirect_uri' is not valid. The value "
                           "must exactly match the redirect URI used to obtain the "
                           "authorization code.")
        if code.challenge:
            verifier = form.get("code_verifier", "")
            if not verifier:
                raise _missing("code_verifier")
            if not hmac.compare_digest(_challenge(verifier, code.method), code.challenge):
                raise AadError("invalid_grant", 50148,
                               "The code_verifier does not match the code_challenge supplied "
                               "in the authorization request for PKCE.")
        scopes = code.scopes
        if form.get("scope"):
            scopes = _within(_scopes(form["scope"]), code.scopes)
        code.redeemed = True
        answer = self._issue(client_id, scopes, family=secrets.token_hex(8), now=now)
        if "openid" in scopes:
            answer["id_token"] = self._id_token(client_id, scopes, code.nonce, now)
        return answer

    def _refresh(self, client_id: str, form: dict[str, str], now: float) -> dict[str, Any]:
        value = form.get("refresh_token")
        if not value:
            raise _missing("refresh_token")
        record = self.refresh_tokens.get(value)
        if record is None or record.client_id != client_id:
            raise AadError("invalid_grant", 9002313,
                           "Invalid request. Request is malformed or invalid.")
        issued = dt.datetime.fromtimestamp(record.issued_at, tz=dt.UTC).isoformat()
        if record.family in self.revoked_families:
            raise AadError("invalid_grant", 50173,
                           "The provided grant has expired due to it being revoked, a fresh auth "
                           "token is needed. The user might have changed or reset their "
                           f"password. The grant was issued on '{issued}'.")
        if now - record.last_used_at > REFRESH_INACTIVITY_SECONDS:
            raise AadError("invalid_grant", 700082,
                           f"The refresh token has expired due to inactivity. The token was "
                           f"issued on {issued} and was inactive for 90.00:00:00.")
        if record.used and self.refresh_token_reuse == "refused":  # noqa: S105 - a mode
            raise AadError("invalid_grant", 70000,
                           "The provided value for the 'refresh_token' is not valid: it was "
                           "already used (strict rotation set on the simulator).")
        scopes = record.scopes
        if form.get("scope"):
            scopes = _within(_scopes(form["scope"]), record.scopes)
        record.used = True
        record.last_used_at = now
        self.refreshes += 1
        answer = self._issue(client_id, scopes, family=record.family, now=now)
        if "openid" in scopes:
            answer["id_token"] = self._id_token(client_id, scopes, "", now)
        return answer

    def _id_token(self, client_id: str, scopes: tuple[str, ...], nonce: str, now: float) -> str:
        key, kid = _signing_key()
        claims: dict[str, Any] = {
            "aud": client_id, "iss": f"https://login.microsoftonline.com/{self.tenant_id}/v2.0",
            "iat": int(now), "nbf": int(now), "exp": int(now) + 3600, "ver": "2.0",
            "tid": self.tenant_id, "oid": self.user["id"],
            # "sub" is pairwise: one value per user and application.
            "sub": base64.urlsafe_b64encode(hashlib.sha256(
                f"{self.user['id']}:{client_id}".encode()).digest()).rstrip(b"=").decode(),
            "name": self.user["name"], "preferred_username": self.user["mail"]}
        if "email" in scopes:
            claims["email"] = self.user["mail"]
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

    def keys(self) -> SimResponse:
        """The JSON Web Key Set the id_tokens are signed with."""
        key, kid = _signing_key()
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        return SimResponse.json(200, {"keys": [{**jwk, "kid": kid, "use": "sig",
                                                "kty": "RSA"}]})

    def _issue(self, client_id: str, scopes: tuple[str, ...], *, family: str,
               now: float) -> dict[str, Any]:
        grant = self.tokens.grant(client_id, now, scopes)
        self.access_tokens.append(grant["access_token"])
        # offline_access is what asks for a refresh token; it is not one of
        # the access token's scopes, so the answer does not list it [I].
        listed = [s for s in scopes if s != "offline_access"]
        answer: dict[str, Any] = {"token_type": "Bearer", "scope": " ".join(listed),
                                  "expires_in": grant["expires_in"],
                                  "ext_expires_in": grant["expires_in"],
                                  "access_token": grant["access_token"]}
        if "offline_access" in scopes:
            value = secrets.token_urlsafe(64)
            self.refresh_tokens[value] = _Refresh(client_id=client_id, scopes=scopes,
                                                  family=family, issued_at=now,
                                                  last_used_at=now)
            answer["refresh_token"] = value
        return answer

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {**self.tokens.state(), "consent": self.consent,
                    "refresh_token_reuse": self.refresh_token_reuse,
                    "codes_issued": len(self.codes),
                    "codes_redeemed": sum(1 for c in self.codes.values() if c.redeemed),
                    "refresh_tokens_issued": len(self.refresh_tokens),
                    "refreshes": self.refreshes,
                    "revoked_grants": len(self.revoked_families)}


_key_lock = threading.Lock()
_key: tuple[Any, str] | None = None


def _signing_key() -> tuple[Any, str]:
    """One RSA key for the process: generating one per simulator costs too much."""
    global _key
    with _key_lock:
        if _key is None:
            _key = (rsa.generate_private_key(public_exponent=65537, key_size=2048),
                    secrets.token_hex(8))
        return _key


def _scopes(text: str) -> tuple[str, ...]:
    known = {s.lower(): s for s in GRAPH_SCOPES + OIDC_SCOPES}
    scopes = []
    for raw in text.split():
        # Graph's scopes may be written with the resource in front.
        name = raw.removeprefix("https://graph.microsoft.com/")
        if name.lower() not in known:
            raise AadError("invalid_scope", 70011,
                           f"The provided value for the input parameter 'scope' is not valid. "
                           f"The scope {raw} is not valid.")
        scopes.append(known[name.lower()])
    return tuple(dict.fromkeys(scopes))


def _within(wanted: tuple[str, ...], granted: tuple[str, ...]) -> tuple[str, ...]:
    extra = [s for s in wanted if s not in granted]
    if extra:
        raise AadError("invalid_grant", 65001,
                       "The user or administrator has not consented to use the application "
                       f"with the scope(s) {' '.join(extra)}. Send an interactive authorization "
                       "request for this user and resource.")
    return wanted


def _challenge(verifier: str, method: str) -> str:
    if method == "plain":
        return verifier
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _basic(headers: dict[str, str]) -> tuple[str, str]:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    client_id, _, secret = decoded.partition(":")
    return unquote_plus(client_id), unquote_plus(secret)


def _redirect(uri: str, params: dict[str, str | None]) -> SimResponse:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    separator = "&" if "?" in uri else "?"
    return SimResponse.empty(302, headers={"Location": f"{uri}{separator}{query}",
                                           **NO_STORE})


def _error_page(code: int, text: str) -> SimResponse:
    # The sign-in page's error, shown to the user: never sent to an untrusted URI.
    html = (f"<!DOCTYPE html><html><head><title>Sign in to your account</title></head><body>"
            f"<h1>Sorry, but we're having trouble signing you in.</h1>"
            f"<p id=\"error\">AADSTS{code}: {text}</p></body></html>")
    return SimResponse(400, html.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})
