"""The token refresh lock outlives the longest token request the real clients can make.

The Dimona and Symphonics clients are built as the hub builds them (from
settings, through their default connections); their token request is then
driven through the worst the platform can do, in virtual time: every
attempt waits as long as the rate limiter lets it, then takes its full
timeouts, and the platform asks for the longest pause the client accepts to
wait out. If the lock expired before such a request ends, a waiting worker
would take it over and ask for a second token.
"""

from __future__ import annotations

import pytest
import requests

from apps.core.http import PlatformClient, PlatformError
from apps.dimona.client import dimona_client
from apps.symphonics.client import symphonics_client
from tests.core.virtual_time import CeilingRandom, SlowLimiter, VirtualTime

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_clients")]


class WorstSession:
    """Takes the full (connect, read) timeouts the client passes, then fails."""

    def __init__(self, time: VirtualTime, answer: str, retry_after: float) -> None:
        self.time, self.answer, self.retry_after = time, answer, retry_after

    def request(self, method, url, *, timeout, **kwargs):
        self.time.sleep(sum(timeout))
        if self.answer == "timeout":
            raise requests.ReadTimeout("read timed out")
        response = requests.Response()
        response.status_code = 503
        response.headers["Retry-After"] = f"{self.retry_after:g}"
        response._content = b"{}"
        return response


def _longest_token_request(http: PlatformClient, answer: str) -> float:
    time = VirtualTime()
    http.sleep, http.rng, http.limiter = time.sleep, CeilingRandom(), SlowLimiter(time)
    # The longest Retry-After the client waits out inline rather than giving up.
    http.session = WorstSession(time, answer, retry_after=http.platform.retry.max_inline_wait)
    with pytest.raises(PlatformError):
        http._post_token(http.auth.token_url, data={"grant_type": "client_credentials"},
                         headers={})
    return time.elapsed


@pytest.mark.parametrize("build", [dimona_client, symphonics_client],
                         ids=["dimona", "symphonics"])
@pytest.mark.parametrize("answer", ["timeout", "503 with Retry-After"])
def test_the_refresh_lock_outlives_the_longest_token_request(build, answer):
    http = build().http
    lock_seconds = http.auth.lock_seconds

    longest = _longest_token_request(http, answer)

    assert longest > 0
    assert lock_seconds > longest


def test_a_connection_with_longer_timeouts_gets_a_longer_lock(settings):
    from apps.core.connections import connection_default, connection_update
    from apps.symphonics.client import PLATFORM

    default = symphonics_client().http.auth.lock_seconds
    connection_update(connection=connection_default(platform=PLATFORM),
                      settings={"read_timeout": 120})

    http = symphonics_client().http
    assert http.platform.read_timeout == 120
    assert http.auth.lock_seconds > default
    assert http.auth.lock_seconds > _longest_token_request(http, "timeout")
