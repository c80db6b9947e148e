"""Fixtures of the Integrations tests: the Google simulator on a real port.

The Microsoft, Slack and Zoom simulators' fixtures live in
tests/integrations/<provider>_fixtures.py, imported by the tests that use them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from apps.core.oauth import pkce_challenge
from apps.integrations.simulator.google import GoogleSimulator, build
from tests.helpers import SimulatorsServed


@pytest.fixture
def google_simulator(settings) -> Iterator[Callable[..., GoogleSimulator]]:
    """Start a Google simulator on a free port; the hub's GOOGLE_* settings then point at it.

    It knows the hub's OAuth client (GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET)
    unless told otherwise; `options` are GoogleSimulator's.
    """
    served = SimulatorsServed(settings, paths={
        "GOOGLE_AUTH_URL": "/o/oauth2/v2/auth", "GOOGLE_TOKEN_URL": "/token",
        "GOOGLE_REVOKE_URL": "/revoke", "GOOGLE_API_URL": "/calendar/v3",
        "GOOGLE_USERINFO_URL": "/oauth2/v3/userinfo"})

    def start(**options: Any) -> GoogleSimulator:
        sim = build(**options)
        return served.start(sim, GOOGLE_CLIENT_ID=sim.client_id,
                            GOOGLE_CLIENT_SECRET=sim.client_secret)

    yield start
    served.stop()


REDIRECT_URI = "http://hub.test/integrations/google/callback"
CALENDAR_SCOPES = ("openid email profile https://www.googleapis.com/auth/calendar")


class GoogleApi:
    """The simulator driven over HTTP as a hub would: consent, tokens, API calls."""

    def __init__(self, sim: GoogleSimulator) -> None:
        self.sim = sim
        self.url = sim.base_url
        self.api = f"{sim.base_url}/calendar/v3"
        self.access_token = ""
        self.refresh_token = ""

    def authorize(self, **params: str) -> requests.Response:
        query = {"client_id": self.sim.client_id, "redirect_uri": REDIRECT_URI,
                 "response_type": "code", "scope": CALENDAR_SCOPES, "state": "st4te",
                 "access_type": "offline", "prompt": "consent", **params}
        return requests.get(f"{self.url}/o/oauth2/v2/auth", params=query, allow_redirects=False,
                            timeout=5)

    def code(self, verifier: str = "", **params: str) -> str:
        if verifier:
            params = {"code_challenge": pkce_challenge(verifier),
                      "code_challenge_method": "S256", **params}
        response = self.authorize(**params)
        assert response.status_code == 302, response.text
        query = parse_qs(urlsplit(response.headers["Location"]).query)
        return query["code"][0]

    def token(self, **form: str) -> requests.Response:
        data = {"client_id": self.sim.client_id, "client_secret": self.sim.client_secret,
                **form}
        return requests.post(f"{self.url}/token", data=data, timeout=5)

    def exchange(self, code: str, verifier: str = "", **form: str) -> requests.Response:
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
                **form}
        if verifier:
            data["code_verifier"] = verifier
        return self.token(**data)

    def connect(self, scope: str = CALENDAR_SCOPES) -> GoogleApi:
        """The whole consent: tokens kept for the calls below."""
        verifier = secrets.token_urlsafe(64)
        answer = self.exchange(self.code(verifier, scope=scope), verifier)
        assert answer.status_code == 200, answer.text
        self.access_token = answer.json()["access_token"]
        self.refresh_token = answer.json().get("refresh_token", "")
        return self

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.access_token}", **kwargs.pop("headers", {})}
        return requests.request(method, self.api + path, headers=headers, timeout=5, **kwargs)

    def control(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.url}/_sim{path}", timeout=5, **kwargs)


@pytest.fixture
def google_api(google_simulator) -> GoogleApi:
    """A Google simulator the hub's client has consented to (offline, calendar scope)."""
    return GoogleApi(google_simulator()).connect()
