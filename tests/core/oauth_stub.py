"""A tiny OAuth authorization server on a local port, and connections that sign in to it.

`OAuthStub` speaks the authorization-code grant with PKCE (RFC 6749 §4.1,
RFC 7636) and rotating refresh tokens, the way Zoom does: each refresh
spends the refresh token it was given, so a second refresh with the same
one is refused with `invalid_grant`. It checks HTTP Basic client
authentication, can hold a refresh until the test releases it, and records
every token and revoke request.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlencode, urlparse

import factory
from django.utils import timezone

from apps.core.http import Platform, RetryPolicy
from apps.core.models import Connection, Credentials
from apps.core.oauth import OAuthProvider, register_oauth_provider
from tests.core.local_server import JsonHandler, LocalServer

PLATFORM = "oauth-stub"
CLIENT_ID = "hub-client-id"
CLIENT_SECRET = "hub-client-secret-7"
SCOPES = ("calendar.read", "calendar.write")


class OAuthStub(LocalServer):
    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.challenges: dict[str, tuple[str, str]] = {}  # code -> (challenge, redirect_uri)
            self.refresh_tokens: set[str] = set()
            self.token_requests: list[dict[str, str]] = []
            self.revoked: list[str] = []
            self.refuse_refresh = False
            self.revoke_status = 200
            self.issued = 0
        self.hold_refresh = False
        self.refresh_arrived = threading.Event()
        self.release = threading.Event()

    def refreshes(self) -> list[dict[str, str]]:
        return [r for r in self.token_requests if r.get("grant_type") == "refresh_token"]

    def give_refresh_token(self, token: str) -> None:
        with self._lock:
            self.refresh_tokens.add(token)

    # -- the grant ------------------------------------------------------------
    def _issue(self) -> dict[str, object]:
        with self._lock:
            self.issued += 1
            refresh = f"refresh-{self.issued}-{secrets.token_hex(4)}"
            self.refresh_tokens.add(refresh)
            return {"access_token": f"access-{self.issued}-{secrets.token_hex(4)}",
                    "refresh_token": refresh, "token_type": "Bearer", "expires_in": 3600,
                    "scope": " ".join(SCOPES)}

    def _token(self, form: dict[str, str], authorization: str) -> tuple[int, dict]:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        with self._lock:
            self.token_requests.append(form)
        if authorization != f"Basic {expected}":
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") == "authorization_code":
            with self._lock:
                challenge, redirect_uri = self.challenges.pop(form.get("code", ""), ("", ""))
            verifier = form.get("code_verifier", "")
            computed = base64.urlsafe_b64encode(
                hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if not challenge or computed != challenge or form.get("redirect_uri") != redirect_uri:
                return 400, {"error": "invalid_grant", "error_description": "bad code"}
            return 200, self._issue()
        if form.get("grant_type") == "refresh_token":
            self.refresh_arrived.set()
            if self.hold_refresh:
                self.release.wait(30)
            with self._lock:
                known = form.get("refresh_token") in self.refresh_tokens
                # Rotation: the refresh token is spent by this request.
                self.refresh_tokens.discard(form.get("refresh_token", ""))
            if self.refuse_refresh or not known:
                return 400, {"error": "invalid_grant",
                             "error_description": "Invalid refresh token"}
            return 200, self._issue()
        return 400, {"error": "unsupported_grant_type"}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path != "/authorize":
                    self._answer(404, {"error": "not_found"})
                    return
                code = secrets.token_urlsafe(16)
                with stub._lock:
                    stub.challenges[code] = (query.get("code_challenge", ""),
                                             query.get("redirect_uri", ""))
                location = f"{query['redirect_uri']}?" + urlencode(
                    {"code": code, "state": query["state"]})
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                path = urlparse(self.path).path
                if path == "/token":
                    status, body = stub._token(form, self.headers.get("Authorization", ""))
                    self._answer(status, body)
                elif path == "/revoke":
                    with stub._lock:
                        stub.revoked.append(form.get("token", ""))
                    self._answer(stub.revoke_status, {})
                else:
                    self._answer(404, {"error": "not_found"})

        return Handler


_stub: OAuthStub | None = None


def stub_platform() -> Platform:
    # Values of their own, unlike the defaults, so that a lock computed from
    # anything else than this policy shows.
    return Platform(name=PLATFORM, base_url=running_stub().base_url, connect_timeout=3.0,
                    read_timeout=20.0, max_rate_limit_wait=10.0,
                    retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=8.0,
                                      max_inline_wait=12.0))


def running_stub() -> OAuthStub:
    """One server for the test session: the provider registered with its URLs is immutable."""
    global _stub
    if _stub is None:
        _stub = OAuthStub().start()
        register_oauth_provider(PLATFORM, OAuthProvider(
            authorize_url=f"{_stub.base_url}/authorize", token_url=f"{_stub.base_url}/token",
            revoke_url=f"{_stub.base_url}/revoke", platform=stub_platform,
            default_scopes=SCOPES, rotates_refresh_tokens=True,
            authorize_params={"access_type": "offline", "prompt": "consent"}))
    return _stub


class OAuthConnectionFactory(factory.django.DjangoModelFactory):
    """A connection of the stub's platform with the hub's client id and secret."""

    class Meta:
        model = Connection
        skip_postgeneration_save = True

    platform = PLATFORM
    name = factory.Sequence(lambda n: f"Calendar account {n}")
    tenant_type = "organisation"
    tenant_id = "1"

    @factory.post_generation
    def tokens(connection, create, extracted, **kwargs):
        credentials = Credentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                  access_token=kwargs.get("access", ""),
                                  refresh_token=kwargs.get("refresh", ""))
        connection.set_credentials(credentials)
        if "expires_in" in kwargs:
            connection.token_expires_at = timezone.now() + kwargs["expires_in"]
        if create:
            connection.save()
