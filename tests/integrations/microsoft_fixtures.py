"""The `microsoft_simulator` fixture: a Microsoft 365 simulator on a free port, with
the hub's MICROSOFT_* settings pointing at it, plus helpers for its tests and a
notification endpoint that answers Graph's validation handshake. A test file
takes the fixtures with `microsoft_simulator = microsoft_fixtures.microsoft_simulator`
(and `notification_endpoint` likewise), so that ruff sees neither an unused
import (F401) nor a test parameter redefining one (F811)."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from apps.core.oauth import pkce_challenge
from apps.integrations.simulator.microsoft import (
    CLIENT_ID,
    CLIENT_SECRET,
    MicrosoftSimulator,
    build,
)
from tests.core.local_server import LocalServer
from tests.helpers import SimulatorsServed

REDIRECT_URI = "https://hub.example/api/integrations/microsoft/callback"
SCOPE = "offline_access Calendars.ReadWrite OnlineMeetings.ReadWrite User.Read"


@pytest.fixture
def microsoft_simulator(settings) -> Iterator[Callable[..., MicrosoftSimulator]]:
    """Start a Microsoft simulator (`build(**options)`); the hub's settings then point at it.

    It knows the hub's application (MICROSOFT_CLIENT_ID and _SECRET, the
    settings' defaults) unless `clients=` says otherwise. There is no
    revocation endpoint: MICROSOFT_REVOKE_URL stays empty.
    """
    served = SimulatorsServed(settings, paths={
        "MICROSOFT_AUTH_URL": "/common/oauth2/v2.0/authorize",
        "MICROSOFT_TOKEN_URL": "/common/oauth2/v2.0/token", "MICROSOFT_REVOKE_URL": None,
        "MICROSOFT_API_URL": "/v1.0"})

    def start(**options: Any) -> MicrosoftSimulator:
        return served.start(build(**options), MICROSOFT_CLIENT_ID=CLIENT_ID,
                            MICROSOFT_CLIENT_SECRET=CLIENT_SECRET)

    yield start
    served.stop()


# -- the identity platform ----------------------------------------------------------
def authorize(sim: MicrosoftSimulator, *, verifier: str = "", **params: str) -> requests.Response:
    query = {"client_id": CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT_URI,
             "response_mode": "query", "scope": SCOPE, "state": "st-1"}
    if verifier:
        query.update(code_challenge=pkce_challenge(verifier), code_challenge_method="S256")
    query.update(params)
    return requests.get(f"{sim.base_url}/common/oauth2/v2.0/authorize", params=query,
                        allow_redirects=False, timeout=5)


def redirect_params(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    return {k: v[-1] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def token(sim: MicrosoftSimulator, *, secret: str = CLIENT_SECRET,
          **form: str) -> requests.Response:
    return requests.post(f"{sim.base_url}/common/oauth2/v2.0/token",
                         data={"client_id": CLIENT_ID, "client_secret": secret, **form},
                         timeout=5)


def connect(sim: MicrosoftSimulator, *, scope: str = SCOPE) -> dict[str, Any]:
    """Authorize with PKCE and redeem the code; returns the token answer."""
    verifier = secrets.token_urlsafe(64)
    code = redirect_params(authorize(sim, verifier=verifier, scope=scope))["code"]
    response = token(sim, grant_type="authorization_code", code=code,
                     redirect_uri=REDIRECT_URI, code_verifier=verifier)
    assert response.status_code == 200, response.text
    return response.json()


# -- Graph ------------------------------------------------------------------------------
class Graph:
    """Graph calls with one access token, as the hub's client makes them."""

    def __init__(self, sim: MicrosoftSimulator, access_token: str) -> None:
        self.sim = sim
        self.headers = {"Authorization": f"Bearer {access_token}"}

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.sim.base_url}/v1.0{path}"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(self.url(path), headers={**self.headers, **kwargs.pop("headers", {})},
                            timeout=5, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return requests.post(self.url(path), json=body,
                             headers={**self.headers, **kwargs.pop("headers", {})}, timeout=15,
                             **kwargs)

    def patch(self, path: str, body: Any) -> requests.Response:
        return requests.patch(self.url(path), json=body, headers=self.headers, timeout=5)

    def delete(self, path: str) -> requests.Response:
        return requests.delete(self.url(path), headers=self.headers, timeout=5)


def graph_for(sim: MicrosoftSimulator, *, scope: str = SCOPE) -> Graph:
    return Graph(sim, connect(sim, scope=scope)["access_token"])


def event_body(subject: str = "Onboarding", start: str = "2026-03-02T09:00:00",
               end: str = "2026-03-02T10:00:00", zone: str = "Europe/Brussels",
               **extra: Any) -> dict[str, Any]:
    return {"subject": subject, "start": {"dateTime": start, "timeZone": zone},
            "end": {"dateTime": end, "timeZone": zone}, **extra}


def control(sim: MicrosoftSimulator, method: str, path: str,
            body: Any = None) -> requests.Response:
    return requests.request(method, f"{sim.base_url}/_sim{path}", json=body, timeout=5)


# -- a notification endpoint -----------------------------------------------------------
class NotificationEndpoint(LocalServer):
    """The hub's side of Graph subscriptions: echoes `validationToken` as text/plain
    (or misbehaves as `mode` says: "wrong", "json", "error", "slow") and records
    every notification's JSON body it accepts; the first `fail_first`
    notifications are answered 500 (and not recorded)."""

    def __init__(self, *, mode: str = "echo", slow_seconds: float = 0.0,
                 fail_first: int = 0) -> None:
        self.mode = mode
        self.slow_seconds = slow_seconds
        self.fail_first = fail_first
        self.failed = 0
        self.validations: list[str] = []
        self.notifications: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        super().__init__()

    @property
    def url(self) -> str:
        return self.base_url + "/api/webhooks/microsoft/1/"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                token = parse_qs(urlsplit(self.path).query).get("validationToken")
                if token is not None:
                    self._validate(token[0])
                    return
                with endpoint.changed:
                    failing = endpoint.failed < endpoint.fail_first
                    if failing:
                        endpoint.failed += 1
                    else:
                        endpoint.notifications.append(json.loads(body))
                    endpoint.changed.notify_all()
                self.send_response(500 if failing else 202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _validate(self, token: str) -> None:
                endpoint.validations.append(token)
                if endpoint.mode == "slow":
                    time.sleep(endpoint.slow_seconds)
                status = 500 if endpoint.mode == "error" else 200
                answer = (token + "x") if endpoint.mode == "wrong" else token
                content_type = "application/json" if endpoint.mode == "json" else \
                    "text/plain; charset=utf-8"
                data = answer.encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    # "slow": Graph gave up waiting and closed the connection.
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        with self.changed:
            reached = self.changed.wait_for(lambda: len(self.notifications) >= count, timeout)
        assert reached, f"{len(self.notifications)} of {count} notifications arrived"
        return list(self.notifications)


@pytest.fixture
def notification_endpoint() -> Iterator[Callable[..., NotificationEndpoint]]:
    endpoints: list[NotificationEndpoint] = []

    def start(**options: Any) -> NotificationEndpoint:
        endpoints.append(NotificationEndpoint(**options).start())
        return endpoints[-1]

    yield start
    for endpoint in endpoints:
        endpoint.stop()
