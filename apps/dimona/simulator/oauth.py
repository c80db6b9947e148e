"""The ONSS OAuth server: client credentials with a private_key_jwt assertion.

The hub proves who it is with a JWT signed by the private key whose
certificate was uploaded in Chaman; no client secret exists. Access tokens
are opaque random strings, valid `token_lifetime_seconds`. The mechanics are
the core simulator kit's; what is the ONSS' own is here: its scopes, the
assertion rules and the RFC 6749 answers of its token endpoint.
"""

from __future__ import annotations

from collections.abc import Callable

from apps.core.simulator import SimRequest, SimResponse
from apps.core.simulator_kit.oauth import (
    JWT_BEARER_ASSERTION,
    NO_STORE,
    JwtAssertion,
    OAuthError,
    TokenRejected,
    TokenServer,
    oauth_error_response,
)

__all__ = ["CONSULT_SCOPE", "DECLARANT_SCOPE", "OAuthError", "TokenRejected", "onss_tokens",
           "token_answer"]

GRANT_TYPE = "client_credentials"
ASSERTION_TYPE = JWT_BEARER_ASSERTION
DECLARANT_SCOPE = "scope:dimona:declaration:declarant"
CONSULT_SCOPE = "scope:dimona:declaration:consult"
DEFAULT_SCOPES = (DECLARANT_SCOPE, CONSULT_SCOPE)

# Tolerated drift between the client's clock and ours for `iat` and `nbf`.
CLOCK_SKEW_SECONDS = 30


def onss_tokens(
    clients: dict[str, str],
    *,
    audiences: Callable[[], set[str]],
    token_lifetime_seconds: int,
    max_assertion_lifetime_seconds: int,
) -> TokenServer:
    """clients: client id → the PEM certificate registered in Chaman."""
    return TokenServer(
        JwtAssertion(clients, audiences=audiences,
                     max_lifetime_seconds=max_assertion_lifetime_seconds,
                     clock_skew_seconds=CLOCK_SKEW_SECONDS),
        token_lifetime_seconds=token_lifetime_seconds,
        scopes=DEFAULT_SCOPES,
        grants=(GRANT_TYPE,),
    )


def token_answer(tokens: TokenServer, request: SimRequest, now: float) -> SimResponse:
    try:
        form = request.form()
    except UnicodeDecodeError:
        # An unreadable body is a request without parameters.
        form = {}
    try:
        payload = tokens.exchange(form, request.headers, now)
    except OAuthError as exc:
        return oauth_error_response(exc)
    return SimResponse.json(200, payload, headers=dict(NO_STORE))
