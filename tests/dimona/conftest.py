from __future__ import annotations

import json

import pytest
import responses

API = "https://services-sim.socialsecurity.be/REST/dimona/v2"
TOKEN_URL = "https://services-sim.socialsecurity.be/REST/oauth/v5/token"


@pytest.fixture(autouse=True)
def _onss_urls(settings):
    settings.DIMONA_API_URL = API
    settings.DIMONA_TOKEN_URL = TOKEN_URL


class FakeOnss:
    """`responses` stand-ins for the ONSS endpoints, recording what was sent."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.mock = mock
        self.posted: list[dict] = []
        self.next_id = 900000000001
        mock.post(TOKEN_URL, json={"access_token": "onss-token", "token_type": "Bearer",
                                   "expires_in": 600})

    def accept_posts(self) -> None:
        def created(request):
            self.posted.append(json.loads(request.body))
            declaration_id = self.next_id
            self.next_id += 1
            return 201, {"Location": f"{API}/declarations/{declaration_id}"}, ""

        self.mock.add_callback("POST", f"{API}/declarations", callback=created)

    def result(self, declaration_id: int, result: str, *, period_id: int = 555000000001,
               anomalies: list | None = None) -> None:
        body = {"declarationStatus": {"declarationId": declaration_id, "result": result,
                                      "period": {"id": period_id},
                                      "anomalies": anomalies or []}}
        self.mock.get(f"{API}/declarations/{declaration_id}", json=body)


@pytest.fixture
def onss():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeOnss(mock)


@pytest.fixture
def onss_simulator(settings):
    """The ONSS simulator on a free localhost port, with the hub pointed at it."""
    from apps.core.simulator import serve
    from apps.dimona.simulator import build

    running = serve(build(processing_delay_seconds=0.5, cancel_delay_seconds=1.0))
    settings.DIMONA_API_URL = f"{running.url}/REST/dimona/v2"
    settings.DIMONA_TOKEN_URL = f"{running.url}/REST/oauth/v5/token"
    yield running.simulator
    running.stop()
