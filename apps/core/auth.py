"""Token providers: how a platform client authenticates its requests.

OAuth tokens are cached in the shared store (encrypted, since the store may
be a Redis other services can read) and refreshed `refresh_margin` seconds
before they expire. Refreshing is single-flight: the first process to need
a token takes a short lock and asks the platform; the others wait for the
token to appear instead of asking too.
"""

from __future__ import annotations

import json
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jwt
import requests

from apps.core.fields import decrypt_str, encrypt_str
from apps.core.store import SharedStore, shared_store


class TokenError(Exception):
    """The platform refused to issue a token (bad credentials, bad assertion)."""

    def __init__(self, message: str, *, status_code: int | None = None,
                 transient: bool = False) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.transient = transient


@dataclass(frozen=True)
class Token:
    access_token: str
    expires_at: float


class AuthProvider:
    """Adds credentials to a request's headers."""

    def headers(self) -> dict[str, str]:
        return {}

    def invalidate(self, refused: Mapping[str, str] | None = None) -> None:
        """Forget a token the platform has just refused (401).

        `refused` are the credential headers that were refused: a token
        another worker has refreshed since is kept.
        """


class ApiKeyAuth(AuthProvider):
    def __init__(self, key: str, header: str = "X-Api-Key", prefix: str = "") -> None:
        self.key, self.header, self.prefix = key, header, prefix

    def headers(self) -> dict[str, str]:
        return {self.header: f"{self.prefix}{self.key}"}


# Added to the longest token request to size the refresh lock: the audit
# rows written around it and the store round trips are not in the request's
# timeouts, and a lock that expires a moment too early starts a second refresh.
LOCK_SLACK_SECONDS = 15.0


class OAuthTokenProvider(AuthProvider, ABC):
    """Base for OAuth2 client-credentials grants; subclasses build the form."""

    poll_interval = 0.05

    def __init__(
        self,
        *,
        cache_key: str,
        token_url: str,
        post: Callable[..., requests.Response] | None = None,
        store: SharedStore | None = None,
        refresh_margin: float = 60.0,
        timeout: tuple[float, float] = (5.0, 30.0),
        sleep: Callable[[float], None] = time.sleep,
        lock_seconds: float | None = None,
    ) -> None:
        self.cache_key = f"token:{cache_key}"
        self.lock_key = f"token:{cache_key}:lock"
        self.token_url = token_url
        self._post = post or requests.post
        self._store = store
        self.refresh_margin = refresh_margin
        self.timeout = timeout
        self.sleep = sleep
        # How long the refresh lock is held at most, and how long the others
        # wait for it: longer than the token request can take, or a waiting
        # worker takes the lock over and a second refresh starts (a rotating
        # refresh token is then spent twice). Sent with plain `requests`, the
        # request is one try within `timeout`; `attach` sets the platform
        # client's worst case, retries and waits included.
        self.lock_seconds = lock_seconds or sum(timeout) + LOCK_SLACK_SECONDS

    @property
    def store(self) -> SharedStore:
        return self._store or shared_store()

    @abstractmethod
    def form(self) -> dict[str, str]:
        """The token request's form fields for this grant."""

    def attach(self, post: Callable[..., requests.Response], *,
               longest_request_seconds: float) -> None:
        """Send token requests through `post` (the platform client, so they are audited),
        which may take up to `longest_request_seconds` with its retries and waits."""
        self._post = post
        self.lock_seconds = longest_request_seconds + LOCK_SLACK_SECONDS

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token().access_token}"}

    def invalidate(self, refused: Mapping[str, str] | None = None) -> None:
        cached = self._cached()
        if refused is not None and cached is not None and \
                refused.get("Authorization") != f"Bearer {cached.access_token}":
            return
        self.store.delete(self.cache_key)

    def token(self) -> Token:
        cached = self._cached()
        if cached:
            return cached
        owner = uuid.uuid4().hex
        deadline = time.monotonic() + self.lock_seconds
        while True:
            if self.store.add(self.lock_key, owner, ttl=self.lock_seconds):
                try:
                    # Another process may have refreshed between our read and our lock.
                    return self._cached() or self._refresh()
                finally:
                    self.store.delete(self.lock_key, only_if=owner)
            self.sleep(self.poll_interval)
            cached = self._cached()
            if cached:
                return cached
            if time.monotonic() > deadline:
                # The lock holder is stuck; its lock expires on its own.
                raise TokenError("timed out waiting for another worker's token refresh",
                                 transient=True)

    def _cached(self) -> Token | None:
        raw = self.store.get(self.cache_key)
        if not raw:
            return None
        data = json.loads(decrypt_str(raw))
        refresh_at = data.get("refresh_at", data["expires_at"] - self.refresh_margin)
        if refresh_at <= self.store.now():
            return None
        return Token(data["access_token"], data["expires_at"])

    def _refresh(self) -> Token:
        try:
            response = self._post(
                self.token_url,
                data=self.form(),
                headers={"Content-Type": "application/x-www-form-urlencoded",
                         "Accept": "application/json"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise TokenError(f"token endpoint unreachable: {exc}", transient=True) from exc
        if response.status_code != 200:
            raise TokenError(
                f"token request refused ({response.status_code}): {_oauth_error(response)}",
                status_code=response.status_code,
                transient=response.status_code in (408, 429) or response.status_code >= 500,
            )
        try:
            body = response.json()
            access_token = body["access_token"]
            expires_in = int(body["expires_in"]) if body.get("expires_in") is not None else 600
        except (ValueError, KeyError, TypeError) as exc:
            raise TokenError(f"token response unreadable: {exc}", transient=True) from exc
        now = self.store.now()
        token = Token(access_token, now + expires_in)
        if expires_in <= 0:
            return token  # good for the call at hand at most; never cached
        # A token living shorter than the margin is still used for half its
        # life, rather than refreshed before every call.
        lifetime = max(expires_in - min(self.refresh_margin, expires_in / 2), 1)
        self.store.set(
            self.cache_key,
            encrypt_str(json.dumps({"access_token": token.access_token,
                                    "expires_at": token.expires_at,
                                    "refresh_at": now + lifetime})),
            ttl=lifetime,
        )
        return token


def _oauth_error(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        if "error_description" in body or isinstance(body.get("error"), str):
            return f"{body.get('error')}: {body.get('error_description', '')}".strip(": ")
        error = body.get("error")
        if isinstance(error, dict):
            return f"{error.get('code')}: {error.get('message')}"
        if "title" in body:
            return f"{body.get('title')}: {body.get('detail', '')}"
    return str(body)[:200]


class ClientCredentialsAuth(OAuthTokenProvider):
    """OAuth2 client credentials with the secret in the form (RFC 6749 §4.4)."""

    def __init__(self, *, client_id: str, client_secret: str, scope: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.client_id, self.client_secret, self.scope = client_id, client_secret, scope

    def form(self) -> dict[str, str]:
        form = {"grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self.client_secret}
        if self.scope:
            form["scope"] = self.scope
        return form


JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class JwtAssertionAuth(OAuthTokenProvider):
    """OAuth2 client credentials authenticated by a signed JWT (RFC 7523).

    The assertion is signed RS256 with our private key; the platform checks
    it against the certificate we registered with it.
    """

    def __init__(
        self,
        *,
        client_id: str,
        private_key_pem: str,
        audience: str | None = None,
        scope: str = "",
        assertion_lifetime: int = 300,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.client_id = client_id
        self.private_key_pem = private_key_pem
        self.audience = audience or self.token_url
        self.scope = scope
        self.assertion_lifetime = assertion_lifetime

    def assertion(self) -> str:
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.audience,
            "jti": str(uuid.uuid4()),
            "iat": now,
            "exp": now + self.assertion_lifetime,
        }
        return jwt.encode(claims, self.private_key_pem, algorithm="RS256")

    def form(self) -> dict[str, str]:
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": self.assertion(),
        }
        if self.scope:
            form["scope"] = self.scope
        return form
