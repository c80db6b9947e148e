"""An OAuth 2.0 token endpoint for simulators, and the bearer-token check.

Grants: `client_credentials` (RFC 6749 §4.4) and `refresh_token` (§6).
Clients authenticate with one `ClientAuth`: `ClientSecrets` (a secret in the
form body or in HTTP Basic auth, §2.3.1) or `JwtAssertion` (a JWT signed
RS256 with the client's private key, RFC 7523, as the ONSS requires).
Refresh tokens are given by `grant()` (what an authorization-code exchange
hands out) and may be rotated: each refresh then returns a new refresh token
and the one presented is spent, as Microsoft, Xero and others do; presenting
a spent one again is `invalid_grant`, and with `revoke_family_on_reuse` it
also revokes every token descended from it (the OAuth security BCP's answer
to a replayed token), which is how two workers refreshing at once lose a
connection.

Checks run in this order, so answers do not depend on which simulator asks:
required parameters (all missing ones listed at once), grant type, client
authentication, the grant's own parameters, scope. Errors are `OAuthError`
(an RFC 6749 §5.2 code and description); `token_endpoint()` renders them as
RFC 6749 JSON, and a simulator whose platform answers otherwise renders them
itself.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from urllib.parse import unquote_plus

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from apps.core.simulator import SimRequest, SimResponse

CLIENT_CREDENTIALS = "client_credentials"
REFRESH_TOKEN = "refresh_token"  # noqa: S105 - a grant type's name
JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """An RFC 6749 §5.2 error answer of the token endpoint."""

    def __init__(self, error: str, description: str, *, missing: Sequence[str] = (),
                 challenge: str = "") -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        # The required parameters that were absent, for platforms whose error
        # bodies name each field.
        self.missing = tuple(missing)
        # Client authentication failures are 401, the rest 400.
        self.status = 401 if error == "invalid_client" else 400
        # The WWW-Authenticate scheme a 401 must name when the client used
        # an Authorization header (§5.2).
        self.challenge = challenge


class TokenRejected(Exception):
    """A bearer token the API refuses; `reason` is missing, invalid or expired."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AccessToken:
    value: str
    client_id: str
    scopes: frozenset[str]
    expires_at: float


@dataclass(frozen=True)
class RefreshToken:
    value: str
    client_id: str
    scopes: frozenset[str]
    expires_at: float | None
    # Every refresh token rotated from one grant shares its family.
    family: str
    spent: bool = False


# -- client authentication ---------------------------------------------------------

class ClientAuth(Protocol):
    def missing(self, form: Mapping[str, str], headers: Mapping[str, str]) -> list[str]:
        """The parameters it needs that the request lacks (checked before the grant)."""

    def authenticate(self, form: Mapping[str, str], headers: Mapping[str, str],
                     now: float) -> str:
        """The authenticated client's id, or OAuthError."""

    def reset(self) -> None: ...


class ClientSecrets:
    """client_secret_post and client_secret_basic: client id → secret."""

    def __init__(self, clients: Mapping[str, str], *, allow_form: bool = True,
                 allow_basic: bool = True) -> None:
        self.clients = dict(clients)
        self.allow_form = allow_form
        self.allow_basic = allow_basic

    def missing(self, form: Mapping[str, str], headers: Mapping[str, str]) -> list[str]:
        if self.allow_basic and _basic_header(headers):
            return []
        if not self.allow_form:
            return []  # refused by authenticate(): Basic is the only way
        return [key for key in ("client_id", "client_secret") if not form.get(key)]

    def authenticate(self, form: Mapping[str, str], headers: Mapping[str, str],
                     now: float) -> str:
        # Without Basic, an Authorization header is not for us: ignored.
        header = _basic_header(headers) if self.allow_basic else ""
        challenge = ""
        if header:
            if form.get("client_secret"):
                raise OAuthError("invalid_request", "Use one client authentication method only")
            challenge = 'Basic realm="oauth"'
            client_id, secret = _decode_basic(header)
        elif self.allow_form:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        else:
            raise OAuthError("invalid_client", "Client authentication with HTTP Basic is "
                             "required", challenge='Basic realm="oauth"')
        if form.get("client_id") and form["client_id"] != client_id:
            raise OAuthError("invalid_request", "client_id differs from the authenticated client")
        expected = self.clients.get(client_id)
        if expected is None or not hmac.compare_digest(secret.encode(), expected.encode()):
            raise OAuthError("invalid_client", "Invalid client credentials", challenge=challenge)
        return client_id

    def reset(self) -> None:
        """Nothing to forget: secrets are configuration, not state."""


def _basic_header(headers: Mapping[str, str]) -> str:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "basic" else ""


def _decode_basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError("invalid_client", "Malformed Basic credentials",
                         challenge='Basic realm="oauth"') from exc
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise OAuthError("invalid_client", "Malformed Basic credentials",
                         challenge='Basic realm="oauth"')
    # §2.3.1: both are form-urlencoded before they are joined.
    return unquote_plus(client_id), unquote_plus(secret)


class JwtAssertion:
    """private_key_jwt (RFC 7523 §2.2): a JWT signed RS256, `iss` = `sub` = client id.

    `clients` maps a client id to its PEM certificate (or public key).
    `audiences()` gives the token URLs an assertion may name in `aud`. Time
    claims are checked against the simulator's clock, not the wall clock, and
    each `jti` is refused a second time while its assertion could still be used.
    """

    def __init__(self, clients: Mapping[str, str], *, audiences: Callable[[], set[str]],
                 max_lifetime_seconds: float, clock_skew_seconds: float = 30) -> None:
        self._public_keys = {client_id: _public_key(pem) for client_id, pem in clients.items()}
        self.audiences = audiences
        self.max_lifetime_seconds = max_lifetime_seconds
        self.clock_skew_seconds = clock_skew_seconds
        self.reset()

    def reset(self) -> None:
        # (client id, jti) → the assertion's exp: a jti is remembered as long
        # as its assertion could still be presented, which keeps this small.
        self._seen_jti: dict[tuple[str, str], float] = {}

    def missing(self, form: Mapping[str, str], headers: Mapping[str, str]) -> list[str]:
        # The assertion's own checks come after the grant type's.
        return []

    def authenticate(self, form: Mapping[str, str], headers: Mapping[str, str],
                     now: float) -> str:
        if form.get("client_assertion_type") != JWT_BEARER_ASSERTION:
            raise OAuthError("invalid_request",
                             f"client_assertion_type must be {JWT_BEARER_ASSERTION}")
        assertion = form.get("client_assertion")
        if not assertion:
            raise OAuthError("invalid_request", "client_assertion is required")
        claims = self._verified_claims(assertion)
        self._check_claims(claims, now)
        return claims["iss"]

    def _verified_claims(self, assertion: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise OAuthError("invalid_client", f"Malformed client assertion: {exc}") from exc
        if header.get("alg") != "RS256":
            raise OAuthError("invalid_client", "The client assertion must be signed with RS256")
        issuer = unverified.get("iss")
        key = self._public_keys.get(issuer) if isinstance(issuer, str) else None
        if key is None:
            raise OAuthError("invalid_client", "Unknown client (iss)")
        try:
            return jwt.decode(
                assertion, key, algorithms=["RS256"],
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                         "verify_aud": False, "require": ["iss", "sub", "aud", "exp", "jti"]},
            )
        except jwt.InvalidSignatureError as exc:
            raise OAuthError("invalid_client", "Client assertion signature is invalid") from exc
        except jwt.PyJWTError as exc:
            raise OAuthError("invalid_client", f"Invalid client assertion: {exc}") from exc

    def _check_claims(self, claims: dict[str, Any], now: float) -> None:
        if claims["sub"] != claims["iss"]:
            raise OAuthError("invalid_client", "sub must equal iss (the client id)")
        audience = claims["aud"]
        presented = {audience} if isinstance(audience, str) else set(audience)
        if not presented & self.audiences():
            raise OAuthError("invalid_client", f"Invalid audience {audience}")
        exp = claims["exp"]
        if not isinstance(exp, int | float):
            raise OAuthError("invalid_client", "exp must be a number")
        if exp <= now:
            raise OAuthError("invalid_client", "The client assertion has expired")
        if exp - now > self.max_lifetime_seconds:
            raise OAuthError("invalid_client",
                             f"exp is more than {self.max_lifetime_seconds} s in the future")
        for claim in ("nbf", "iat"):
            value = claims.get(claim)
            if isinstance(value, int | float) and value > now + self.clock_skew_seconds:
                raise OAuthError("invalid_client", f"{claim} is in the future")
        self._remember_jti(claims["iss"], str(claims["jti"]), float(exp), now)

    def _remember_jti(self, client_id: str, jti: str, exp: float, now: float) -> None:
        self._seen_jti = {key: until for key, until in self._seen_jti.items() if until > now}
        if (client_id, jti) in self._seen_jti:
            raise OAuthError("invalid_client", "The client assertion (jti) was already used")
        self._seen_jti[(client_id, jti)] = exp


def _public_key(pem: str) -> Any:
    if "CERTIFICATE" in pem:
        return x509.load_pem_x509_certificate(pem.encode()).public_key()
    return load_pem_public_key(pem.encode())


# -- the authorization server ------------------------------------------------------

@dataclass
class _Counters:
    requests: int = 0
    issued: int = 0
    errors: dict[str, int] = field(default_factory=dict)


class TokenServer:
    """Issues opaque access tokens (and refresh tokens) and checks them.

    scopes: the scopes it knows, in the order answers list them; empty, the
        `scope` parameter is ignored and answers carry none.
    remember_expired_seconds: how long an expired access token is still
        recognised as "expired" rather than "invalid" (None: for ever); expired
        ones are forgotten when a new token is issued.
    """

    def __init__(
        self,
        client_auth: ClientAuth,
        *,
        token_lifetime_seconds: int,
        scopes: Sequence[str] = (),
        grants: Sequence[str] = (CLIENT_CREDENTIALS,),
        rotate_refresh_tokens: bool = False,
        revoke_family_on_reuse: bool = False,
        refresh_token_lifetime_seconds: int | None = None,
        remember_expired_seconds: float | None = None,
    ) -> None:
        self.client_auth = client_auth
        self.token_lifetime_seconds = token_lifetime_seconds
        self.scopes = tuple(scopes)
        self.grants = tuple(grants)
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.revoke_family_on_reuse = revoke_family_on_reuse
        self.refresh_token_lifetime_seconds = refresh_token_lifetime_seconds
        self.remember_expired_seconds = remember_expired_seconds
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._tokens: dict[str, AccessToken] = {}
            self._refresh_tokens: dict[str, RefreshToken] = {}
            self.counters = _Counters()
            self.client_auth.reset()

    # -- token endpoint ------------------------------------------------------
    def exchange(self, form: Mapping[str, str] | None, headers: Mapping[str, str],
                 now: float) -> dict[str, Any]:
        """The token answer for a token request, or OAuthError.

        `form` is None when the body is not a readable form; `headers` have
        lower-case names.
        """
        with self._lock:
            self.counters.requests += 1
            try:
                return self._exchange(form, headers, now)
            except OAuthError as exc:
                self.counters.errors[exc.error] = self.counters.errors.get(exc.error, 0) + 1
                raise

    def _exchange(self, form: Mapping[str, str] | None, headers: Mapping[str, str],
                  now: float) -> dict[str, Any]:
        if form is None:
            raise OAuthError("invalid_request", "Malformed form body")
        grant_type = form.get("grant_type")
        missing = ([] if grant_type else ["grant_type"]) + self.client_auth.missing(form, headers)
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            raise OAuthError("invalid_request", f"{', '.join(missing)} {verb} required",
                             missing=missing)
        if grant_type not in self.grants:
            raise OAuthError("unsupported_grant_type",
                             f"grant_type {grant_type} is not supported")
        client_id = self.client_auth.authenticate(form, headers, now)
        if grant_type == REFRESH_TOKEN:
            return self._refresh(client_id, form, now)
        return self._answer(client_id, self._granted_scopes(form.get("scope", "")), now)

    def grant(self, client_id: str, now: float, scopes: Sequence[str] = ()) -> dict[str, Any]:
        """Access and refresh tokens for a client a user has just authorised
        (what the authorization-code exchange answers)."""
        with self._lock:
            granted = frozenset(scopes) if scopes else frozenset(self.scopes)
            family = secrets.token_hex(8)
            refresh = self._new_refresh_token(client_id, granted, family, now)
            return {**self._answer(client_id, granted, now), "refresh_token": refresh.value}

    def _refresh(self, client_id: str, form: Mapping[str, str], now: float) -> dict[str, Any]:
        presented = form.get("refresh_token")
        if not presented:
            raise OAuthError("invalid_request", "refresh_token is required",
                             missing=["refresh_token"])
        record = self._refresh_tokens.get(presented)
        if record is None or record.client_id != client_id:
            raise OAuthError("invalid_grant", "Unknown or revoked refresh token")
        if record.spent:
            if self.revoke_family_on_reuse:
                self._revoke_family(record.family)
            raise OAuthError("invalid_grant", "The refresh token was already used")
        if record.expires_at is not None and record.expires_at <= now:
            raise OAuthError("invalid_grant", "The refresh token has expired")
        scopes = self._granted_scopes(form.get("scope", ""), within=record.scopes)
        answer = self._answer(client_id, scopes, now)
        if self.rotate_refresh_tokens:
            self._refresh_tokens[presented] = replace(record, spent=True)
            answer["refresh_token"] = self._new_refresh_token(
                client_id, record.scopes, record.family, now).value
        return answer

    def _revoke_family(self, family: str) -> None:
        revoked = {value for value, token in self._refresh_tokens.items()
                   if token.family == family}
        for value in revoked:
            self._refresh_tokens[value] = replace(self._refresh_tokens[value], spent=True)

    def _new_refresh_token(self, client_id: str, scopes: frozenset[str], family: str,
                           now: float) -> RefreshToken:
        lifetime = self.refresh_token_lifetime_seconds
        token = RefreshToken(value=secrets.token_urlsafe(32), client_id=client_id,
                             scopes=scopes, family=family,
                             expires_at=None if lifetime is None else now + lifetime)
        self._refresh_tokens[token.value] = token
        return token

    def _granted_scopes(self, requested: str,
                        within: frozenset[str] | None = None) -> frozenset[str]:
        if not self.scopes:
            return frozenset()
        allowed = within if within is not None else frozenset(self.scopes)
        # The scope parameter is optional; omitted, the client gets all it may have.
        wanted = set(requested.split())
        unknown = wanted - allowed
        if unknown:
            raise OAuthError("invalid_scope", f"Unknown scope: {' '.join(sorted(unknown))}")
        return frozenset(wanted or allowed)

    def _answer(self, client_id: str, scopes: frozenset[str], now: float) -> dict[str, Any]:
        if self.remember_expired_seconds is not None:
            # Forgotten here, so a long run does not pile them up.
            keep_after = now - self.remember_expired_seconds
            self._tokens = {key: token for key, token in self._tokens.items()
                            if token.expires_at > keep_after}
        token = AccessToken(value=secrets.token_urlsafe(32), client_id=client_id, scopes=scopes,
                            expires_at=now + self.token_lifetime_seconds)
        self._tokens[token.value] = token
        self.counters.issued += 1
        answer: dict[str, Any] = {"access_token": token.value, "token_type": "Bearer",
                                  "expires_in": self.token_lifetime_seconds}
        if self.scopes:
            # Space-separated in a fixed order, as clients may compare it as text.
            answer["scope"] = " ".join(scope for scope in self.scopes if scope in scopes)
        return answer

    # -- resource side -------------------------------------------------------
    def authenticate(self, authorization: str, now: float) -> AccessToken:
        """The token of an `Authorization: Bearer` header, or TokenRejected."""
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise TokenRejected("missing")
        with self._lock:
            token = self._tokens.get(value.strip())
        if token is None:
            raise TokenRejected("invalid")
        if token.expires_at <= now:
            raise TokenRejected("expired")
        return token

    def revoke(self, value: str) -> None:
        """RFC 7009: an access or refresh token stops working; unknown ones are ignored."""
        with self._lock:
            self._tokens.pop(value, None)
            record = self._refresh_tokens.get(value)
            if record is not None:
                self._revoke_family(record.family)

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"token_requests": self.counters.requests,
                    "tokens_issued": self.counters.issued,
                    "token_errors": dict(self.counters.errors)}


def token_endpoint(server: TokenServer, request: SimRequest, now: float) -> SimResponse:
    """A token request answered the RFC 6749 way (JSON body, never cached)."""
    try:
        form: dict[str, str] | None = request.form()
    except UnicodeDecodeError:
        form = None
    try:
        payload = server.exchange(form, request.headers, now)
    except OAuthError as exc:
        return oauth_error_response(exc)
    return SimResponse.json(200, payload, headers=dict(NO_STORE))


def oauth_error_response(exc: OAuthError) -> SimResponse:
    headers = dict(NO_STORE)
    if exc.status == 401 and exc.challenge:
        headers["WWW-Authenticate"] = exc.challenge
    return SimResponse.json(exc.status, {"error": exc.error, "error_description": exc.description},
                            headers=headers)
