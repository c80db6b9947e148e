"""Authorization codes of the OAuth 2.0 authorization-code grant, for the
simulators of providers a user consents to (Google, Slack, Zoom).

The kit's `TokenServer` issues and checks tokens but has no authorization
code: what a user's consent hands the client, exchanged once for tokens. A
code is single-use, short-lived (on the simulator's clock), bound to the
client and the redirect URI it was issued for and, when the authorize
request carried a PKCE challenge (RFC 7636), to the verifier that produced
it.

`redeem()` refuses with a `CodeRefused` whose `reason` each simulator maps
to its platform's error: unknown, used, expired, client, redirect_uri,
verifier_missing, verifier_mismatch.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass, replace

S256 = "S256"
PLAIN = "plain"
PKCE_METHODS = (S256, PLAIN)


class CodeRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AuthorizationCode:
    value: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    code_challenge: str
    code_challenge_method: str
    expires_at: float
    used: bool = False


def pkce_challenge(verifier: str, method: str = S256) -> str:
    """The code_challenge a verifier gives (RFC 7636 §4.2)."""
    if method == PLAIN:
        return verifier
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class AuthorizationCodes:
    def __init__(self, *, lifetime_seconds: float) -> None:
        self.lifetime_seconds = lifetime_seconds
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._codes: dict[str, AuthorizationCode] = {}
            self.issued = 0
            self.redeemed = 0

    def issue(self, *, client_id: str, redirect_uri: str, scopes: tuple[str, ...],
              code_challenge: str, code_challenge_method: str, now: float,
              prefix: str = "") -> str:
        value = prefix + secrets.token_urlsafe(24)
        with self._lock:
            # Spent and expired codes are forgotten here, so a long run does
            # not pile them up; a code presented after that is "unknown",
            # which every platform answers the same way as "used".
            self._codes = {key: code for key, code in self._codes.items()
                           if not code.used and code.expires_at > now}
            self._codes[value] = AuthorizationCode(
                value=value, client_id=client_id, redirect_uri=redirect_uri, scopes=scopes,
                code_challenge=code_challenge,
                code_challenge_method=code_challenge_method or (S256 if code_challenge else ""),
                expires_at=now + self.lifetime_seconds)
            self.issued += 1
        return value

    def redeem(self, value: str, *, client_id: str, redirect_uri: str, code_verifier: str,
               now: float) -> AuthorizationCode:
        """The code's grant, spent from now on; CodeRefused otherwise.

        A code is spent by its first presentation that names the right
        client, whatever else is wrong with it: a stolen code tried with a
        guessed verifier cannot be tried again (RFC 6749 §10.5).
        """
        with self._lock:
            code = self._codes.get(value)
            if code is None:
                raise CodeRefused("unknown")
            if code.client_id != client_id:
                raise CodeRefused("client")
            if code.used:
                raise CodeRefused("used")
            self._codes[value] = replace(code, used=True)
            if code.expires_at <= now:
                raise CodeRefused("expired")
            # RFC 6749 §4.1.3: the same redirect_uri as the authorize request
            # when that one carried it.
            if code.redirect_uri and redirect_uri != code.redirect_uri:
                raise CodeRefused("redirect_uri")
            if code.code_challenge:
                if not code_verifier:
                    raise CodeRefused("verifier_missing")
                expected = pkce_challenge(code_verifier, code.code_challenge_method)
                if not hmac.compare_digest(expected.encode(), code.code_challenge.encode()):
                    raise CodeRefused("verifier_mismatch")
            self.redeemed += 1
            return code

    def state(self) -> dict[str, int]:
        with self._lock:
            return {"codes_issued": self.issued, "codes_redeemed": self.redeemed}
