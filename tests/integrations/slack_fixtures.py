"""The `slack_simulator` fixture: a Slack simulator on a free port, with the
hub's SLACK_* settings pointing at it, and helpers to connect to it.

A test module makes the fixture its own with
`slack_simulator = slack_fixtures.slack_simulator` (after `from
tests.integrations import slack_fixtures`): pytest finds it there, and ruff
sees neither an unused import (F401) nor a test parameter redefining one (F811).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from apps.integrations.simulator.slack import SlackSimulator, build
from tests.helpers import SimulatorsServed

# The app's secret the simulator accepts (settings.SLACK_CLIENT_SECRET by default).
CLIENT_SECRET = "simulator-slack-secret"


@pytest.fixture
def slack_simulator(settings) -> Iterator[Callable[..., SlackSimulator]]:
    """Start a Slack simulator (`build(**options)`); the hub's settings then point at it.

    `sim.base_url` is where it answers. Every server started is stopped at
    the end of the test.
    """
    served = SimulatorsServed(settings, paths={
        "SLACK_AUTH_URL": "/oauth/v2/authorize", "SLACK_TOKEN_URL": "/api/oauth.v2.access",
        "SLACK_REVOKE_URL": "/api/auth.revoke", "SLACK_API_URL": "/api"})

    def start(**options: Any) -> SlackSimulator:
        sim = build(**{"client_secret": CLIENT_SECRET, **options})
        return served.start(sim, SLACK_CLIENT_ID=sim.client_id,
                            SLACK_CLIENT_SECRET=options.get("client_secret", CLIENT_SECRET))

    yield start
    served.stop()


def slack_install(sim: SlackSimulator, *, scopes: str = "chat:write,channels:read",
                  redirect_uri: str = "https://hub.example/callback",
                  **extra: str) -> dict[str, Any]:
    """Install the app in the simulator's workspace: authorize, then exchange
    the code; returns oauth.v2.access's answer."""
    consent = requests.get(f"{sim.base_url}/oauth/v2/authorize", params={
        "client_id": sim.client_id, "scope": scopes, "redirect_uri": redirect_uri,
        "state": "s1", **extra}, allow_redirects=False, timeout=5)
    assert consent.status_code == 302, consent.text
    code = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
    answer = requests.post(f"{sim.base_url}/api/oauth.v2.access", data={
        "code": code, "redirect_uri": redirect_uri},
        auth=(sim.client_id, CLIENT_SECRET), timeout=5).json()
    assert answer["ok"], answer
    return answer
