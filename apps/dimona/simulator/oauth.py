"""The ONSS OAuth server: client credentials with a private_key_jwt assertion.

The hub proves who it is with a JWT signed by the private key whose
certificate was uploaded in Chaman; no client secret exists. Access tokens
are opaque random strings, valid `token_lifetime_seconds`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography import x509

GRANT_TYPE = "client_credentials"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DECLARANT_SCOPE = "scope:dimona:declaration:declarant"
CONSULT_SCOPE = "scope:dimona:declaration:consult"
DEFAULT_SCOPES = (DECLARANT_SCOPE, CONSULT_SCOPE)

# Tolerated drift between the client's clock and ours for `iat` and `nbf`.
CLOCK_SKEW_SECONDS = 30


class OAuthError(Exception):
    """An RFC 6749 error answer of the token endpoint."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        # RFC 6749 §5.2: client authentication failures are 401, the rest 400.
        self.status = 401 if error == "invalid_client" else 400


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


class TokenService:
    """Verifies client assertions, issues access tokens and checks them."""

    def __init__(
        self,
        clients: dict[str, str],
        *,
        token_lifetime_seconds: int,
        max_assertion_lifetime_seconds: int,
    ) -> None:
        self._public_keys = {
            client_id: x509.load_pem_x509_certificate(pem.encode()).public_key()
            for client_id, pem in clients.items()
        }
        self.token_lifetime_seconds = token_lifetime_seconds
        self.max_assertion_lifetime_seconds = max_assertion_lifetime_seconds
        self.reset()

    def reset(self) -> None:
        self._tokens: dict[str, AccessToken] = {}
        # (client id, jti) -> the assertion's exp: a jti is remembered as long as
        # its assertion could still be presented, which keeps the table small.
        self._seen_jti: dict[tuple[str, str], float] = {}
        self.requests = 0
        self.issued = 0
        self.errors: dict[str, int] = {}

    # -- token endpoint -----------------------------------------------------
    def exchange(self, form: dict[str, str], audiences: set[str], now: float) -> dict[str, Any]:
        """The token answer for a form-encoded request, or OAuthError."""
        self.requests += 1
        try:
            client_id = self._authenticate_client(form, audiences, now)
            scopes = self._granted_scopes(form.get("scope", ""))
        except OAuthError as exc:
            self.errors[exc.error] = self.errors.get(exc.error, 0) + 1
            raise
        token = AccessToken(
            value=secrets.token_urlsafe(32),
            client_id=client_id,
            scopes=scopes,
            expires_at=now + self.token_lifetime_seconds,
        )
        self._tokens[token.value] = token
        self.issued += 1
        return {
            "access_token": token.value,
            "token_type": "Bearer",
            "expires_in": self.token_lifetime_seconds,
            # Space-separated in a fixed order, as clients may compare it as text.
            "scope": " ".join(scope for scope in DEFAULT_SCOPES if scope in scopes),
        }

    def _authenticate_client(self, form: dict[str, str], audiences: set[str], now: float) -> str:
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthError("invalid_request", "grant_type is required")
        if grant_type != GRANT_TYPE:
            raise OAuthError("unsupported_grant_type", f"grant_type {grant_type} is not supported")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise OAuthError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}")
        assertion = form.get("client_assertion")
        if not assertion:
            raise OAuthError("invalid_request", "client_assertion is required")
        claims = self._verified_claims(assertion)
        self._check_claims(claims, audiences, now)
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
            # Time claims are checked by _check_claims against the simulator's
            # clock, not by PyJWT against the wall clock.
            return jwt.decode(
                assertion,
                key,
                algorithms=["RS256"],
                options={
                    "verify_exp": False, "verify_nbf": False, "verify_iat": False,
                    "verify_aud": False,
                    "require": ["iss", "sub", "aud", "exp", "jti"],
                },
            )
        except jwt.InvalidSignatureError as exc:
            raise OAuthError("invalid_client", "Client assertion signature is invalid") from exc
        except jwt.PyJWTError as exc:
            raise OAuthError("invalid_client", f"Invalid client assertion: {exc}") from exc

    def _check_claims(self, claims: dict[str, Any], audiences: set[str], now: float) -> None:
        if claims["sub"] != claims["iss"]:
            raise OAuthError("invalid_client", "sub must equal iss (the client id)")
        audience = claims["aud"]
        presented = {audience} if isinstance(audience, str) else set(audience)
        if not presented & audiences:
            raise OAuthError("invalid_client", f"Invalid audience {audience}")
        self._check_times(claims, now)
        self._remember_jti(claims["iss"], str(claims["jti"]), float(claims["exp"]), now)

    def _check_times(self, claims: dict[str, Any], now: float) -> None:
        exp = claims["exp"]
        if not isinstance(exp, int | float):
            raise OAuthError("invalid_client", "exp must be a number")
        if exp <= now:
            raise OAuthError("invalid_client", "The client assertion has expired")
        if exp - now > self.max_assertion_lifetime_seconds:
            raise OAuthError(
                "invalid_client",
                f"exp is more than {self.max_assertion_lifetime_seconds} s in the future",
            )
        for claim in ("nbf", "iat"):
            value = claims.get(claim)
            if isinstance(value, int | float) and value > now + CLOCK_SKEW_SECONDS:
                raise OAuthError("invalid_client", f"{claim} is in the future")

    def _remember_jti(self, client_id: str, jti: str, exp: float, now: float) -> None:
        self._seen_jti = {key: until for key, until in self._seen_jti.items() if until > now}
        if (client_id, jti) in self._seen_jti:
            raise OAuthError("invalid_client", "The client assertion (jti) was already used")
        self._seen_jti[(client_id, jti)] = exp

    def _granted_scopes(self, requested: str) -> frozenset[str]:
        # The scope parameter is optional; omitted, the client gets its defaults.
        wanted = set(requested.split())
        unknown = wanted - set(DEFAULT_SCOPES)
        if unknown:
            raise OAuthError("invalid_scope", f"Unknown scope: {' '.join(sorted(unknown))}")
        return frozenset(wanted or DEFAULT_SCOPES)

    # -- resource side --------------------------------------------------------
    def authenticate(self, authorization: str, now: float) -> AccessToken:
        """The token of an `Authorization: Bearer` header, or TokenRejected."""
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise TokenRejected("missing")
        token = self._tokens.get(value.strip())
        if token is None:
            raise TokenRejected("invalid")
        if token.expires_at <= now:
            raise TokenRejected("expired")
        return token

    def state(self) -> dict[str, Any]:
        return {
            "token_requests": self.requests,
            "tokens_issued": self.issued,
            "token_errors": dict(self.errors),
        }
