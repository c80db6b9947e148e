"""The `zoom_simulator` fixture: a Zoom simulator on a free port, with the
hub's ZOOM_* settings pointing at it, and helpers to connect to it.

A test module makes the fixture its own with
`zoom_simulator = zoom_fixtures.zoom_simulator` (after `from
tests.integrations import zoom_fixtures`): pytest finds it there, and ruff
sees neither an unused import (F401) nor a test parameter redefining one (F811).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from apps.integrations.simulator.zoom import ZoomSimulator, build
from tests.helpers import SimulatorsServed

# The app's secret the simulator accepts (settings.ZOOM_CLIENT_SECRET by default).
CLIENT_SECRET = "simulator-zoom-secret"
REDIRECT_URI = "https://hub.example/zoom/callback"


@pytest.fixture
def zoom_simulator(settings) -> Iterator[Callable[..., ZoomSimulator]]:
    """Start a Zoom simulator (`build(**options)`); the hub's settings then point at it.

    `sim.base_url` is where it answers. Every server started is stopped at
    the end of the test.
    """
    served = SimulatorsServed(settings, paths={
        "ZOOM_AUTH_URL": "/oauth/authorize", "ZOOM_TOKEN_URL": "/oauth/token",
        "ZOOM_REVOKE_URL": "/oauth/revoke", "ZOOM_API_URL": "/v2"})

    def start(**options: Any) -> ZoomSimulator:
        sim = build(**{"client_secret": CLIENT_SECRET, **options})
        return served.start(sim, ZOOM_CLIENT_ID=sim.client_id,
                            ZOOM_CLIENT_SECRET=options.get("client_secret", CLIENT_SECRET))

    yield start
    served.stop()


def zoom_authorize(sim: ZoomSimulator, **params: str) -> requests.Response:
    query = {"response_type": "code", "client_id": sim.client_id, "redirect_uri": REDIRECT_URI,
             "state": "st", **params}
    return requests.get(f"{sim.base_url}/oauth/authorize", params=query, allow_redirects=False,
                        timeout=5)


def zoom_code(response: requests.Response) -> str:
    assert response.status_code == 302, response.text
    return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]


def zoom_token(sim: ZoomSimulator, auth: tuple[str, str] | None = None,
               **form: str) -> requests.Response:
    return requests.post(f"{sim.base_url}/oauth/token", data=form,
                         auth=auth or (sim.client_id, CLIENT_SECRET), timeout=5)


def zoom_connect(sim: ZoomSimulator) -> dict[str, Any]:
    """Authorize and exchange the code; returns the token answer."""
    response = zoom_token(sim, grant_type="authorization_code",
                          code=zoom_code(zoom_authorize(sim)), redirect_uri=REDIRECT_URI)
    assert response.status_code == 200, response.text
    return response.json()
