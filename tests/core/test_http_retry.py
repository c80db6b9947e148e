"""The platform client retries what may succeed later, and only that."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
import responses
import time_machine

from apps.core.audit import LogContext
from apps.core.auth import ClientCredentialsAuth
from apps.core.breaker import BreakerPolicy
from apps.core.http import (
    OutcomeUnknownError,
    PermanentError,
    Platform,
    PlatformClient,
    RetryPolicy,
    TransientError,
)
from apps.core.models import SyncLog

pytestmark = pytest.mark.django_db

BASE = "https://acme.test/api"
TOKEN_URL = "https://acme.test/oauth/token"
LOG = LogContext(action="thing.fetch")
# A breaker that never opens here: these tests are about retries alone.
PLATFORM = Platform(
    name="acme",
    base_url=BASE,
    breaker=BreakerPolicy(failure_threshold=1000),
    retry=RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=30.0, max_inline_wait=30.0),
)


class CeilingRandom(random.Random):
    """Always draws the top of the range, to read the backoff ceilings."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps) -> PlatformClient:
    return PlatformClient(PLATFORM, sleep=sleeps.append, rng=random.Random(1234))


@responses.activate
def test_it_honours_retry_after_in_seconds(client, sleeps):
    responses.get(f"{BASE}/things", status=429, headers={"Retry-After": "7"})
    responses.get(f"{BASE}/things", json={"ok": True})

    response = client.get("/things", log=LOG)

    assert response.status_code == 200
    assert sleeps == [7.0]
    assert len(responses.calls) == 2


@responses.activate
def test_it_honours_retry_after_as_an_http_date(client, sleeps):
    now = datetime(2025, 3, 30, 0, 59, 50, tzinfo=UTC)
    retry_at = format_datetime(now + timedelta(seconds=12), usegmt=True)
    responses.get(f"{BASE}/things", status=503, headers={"Retry-After": retry_at})
    responses.get(f"{BASE}/things", json={"ok": True})

    with time_machine.travel(now, tick=False):
        client.get("/things", log=LOG)

    assert sleeps == [12.0]


@responses.activate
def test_it_backs_off_exponentially_up_to_the_cap(sleeps):
    policy = RetryPolicy(max_attempts=5, base_delay=0.5, max_delay=3.0)
    platform = Platform(name="acme", base_url=BASE, retry=policy,
                        breaker=BreakerPolicy(failure_threshold=1000))
    client = PlatformClient(platform, sleep=sleeps.append, rng=CeilingRandom())
    responses.get(f"{BASE}/things", status=502)

    with pytest.raises(TransientError):
        client.get("/things", log=LOG)

    # min(cap, base * 2^(n-1)) after the n-th failure; no sleep after the last.
    assert sleeps == [0.5, 1.0, 2.0, 3.0]
    assert len(responses.calls) == 5


def test_it_draws_full_jitter_within_the_bounds():
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0)
    rng = random.Random(99)
    for failed_attempts in range(1, 8):
        ceiling = min(3.0, 0.5 * 2 ** (failed_attempts - 1))
        delays = [policy.backoff(failed_attempts, rng) for _ in range(500)]
        assert all(0.0 <= delay <= ceiling for delay in delays)
        # Full jitter spreads over the whole range, not just near the ceiling.
        assert min(delays) < ceiling * 0.1
        assert max(delays) > ceiling * 0.9


@responses.activate
@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
def test_it_never_retries_a_client_error(client, sleeps, status):
    responses.get(f"{BASE}/things", status=status, json={"error": {"code": "bad"}})

    with pytest.raises(PermanentError) as excinfo:
        client.get("/things", log=LOG)

    assert excinfo.value.status_code == status
    assert len(responses.calls) == 1
    assert sleeps == []


@responses.activate
@pytest.mark.parametrize(
    "failure", [408, 429, 500, 502, 503, 504, requests.ConnectionError("reset")])
def test_it_retries_busy_and_broken_answers_a_bounded_number_of_times(client, sleeps, failure):
    if isinstance(failure, Exception):
        responses.get(f"{BASE}/things", body=failure)
    else:
        responses.get(f"{BASE}/things", status=failure)

    with pytest.raises(TransientError):
        client.get("/things", log=LOG)

    assert len(responses.calls) == PLATFORM.retry.max_attempts
    assert len(sleeps) == PLATFORM.retry.max_attempts - 1
    statuses = list(SyncLog.objects.order_by("attempt").values_list("status", flat=True))
    assert statuses == ["retry", "retry", "retry", "failed"]


@responses.activate
def test_it_returns_once_a_retry_succeeds(client, sleeps):
    responses.get(f"{BASE}/things", status=503)
    responses.get(f"{BASE}/things", body=requests.ConnectionError("reset"))
    responses.get(f"{BASE}/things", json={"ok": True})

    assert client.get("/things", log=LOG).json() == {"ok": True}
    assert len(responses.calls) == 3
    assert len(sleeps) == 2


@responses.activate
def test_it_does_not_sleep_through_a_long_retry_after(client, sleeps):
    responses.get(f"{BASE}/things", status=429, headers={"Retry-After": "3600"})

    with pytest.raises(TransientError) as excinfo:
        client.get("/things", log=LOG)

    # The outbox schedules the next attempt instead of a worker sleeping an hour.
    assert excinfo.value.retry_after == 3600
    assert len(responses.calls) == 1
    assert sleeps == []


@responses.activate
def test_it_does_not_resend_a_post_after_a_read_timeout(client, sleeps):
    responses.post(f"{BASE}/things", body=requests.ReadTimeout("read timed out"))

    with pytest.raises(OutcomeUnknownError):
        client.post("/things", json={"name": "thing"}, log=LOG)

    assert len(responses.calls) == 1
    assert sleeps == []


@responses.activate
def test_it_does_not_resend_a_post_the_platform_may_have_processed(client, sleeps):
    responses.post(f"{BASE}/things", status=500)

    with pytest.raises(OutcomeUnknownError):
        client.post("/things", json={"name": "thing"}, log=LOG)

    assert len(responses.calls) == 1


@responses.activate
@pytest.mark.parametrize("failure", [429, 503, requests.ConnectionError("Connection refused")])
def test_it_resends_a_post_the_platform_certainly_did_not_process(client, sleeps, failure):
    if isinstance(failure, Exception):
        responses.post(f"{BASE}/things", body=failure)
    else:
        responses.post(f"{BASE}/things", status=failure)
    responses.post(f"{BASE}/things", status=201, json={"id": 1})

    assert client.post("/things", json={"name": "thing"}, log=LOG).status_code == 201
    assert len(responses.calls) == 2


@responses.activate
def test_it_refreshes_the_token_once_after_a_401(sleeps):
    auth = ClientCredentialsAuth(client_id="hub", client_secret="s3cret", cache_key="acme",
                                 token_url=TOKEN_URL)
    client = PlatformClient(PLATFORM, auth=auth, sleep=sleeps.append)
    responses.post(TOKEN_URL, json={"access_token": "token-1", "expires_in": 600})
    responses.post(TOKEN_URL, json={"access_token": "token-2", "expires_in": 600})
    responses.get(f"{BASE}/things", status=401)
    responses.get(f"{BASE}/things", json={"ok": True})

    assert client.get("/things", log=LOG).status_code == 200

    api_calls = [call for call in responses.calls if call.request.url.startswith(BASE)]
    token_calls = [call for call in responses.calls if call.request.url == TOKEN_URL]
    assert [call.request.headers["Authorization"] for call in api_calls] == [
        "Bearer token-1", "Bearer token-2"]
    assert len(token_calls) == 2
    assert sleeps == []


@responses.activate
def test_it_gives_up_after_a_second_401(sleeps):
    auth = ClientCredentialsAuth(client_id="hub", client_secret="s3cret", cache_key="acme",
                                 token_url=TOKEN_URL)
    client = PlatformClient(PLATFORM, auth=auth, sleep=sleeps.append)
    responses.post(TOKEN_URL, json={"access_token": "token-1", "expires_in": 600})
    responses.get(f"{BASE}/things", status=401)

    with pytest.raises(PermanentError) as excinfo:
        client.get("/things", log=LOG)

    assert excinfo.value.status_code == 401
    assert len([c for c in responses.calls if c.request.url.startswith(BASE)]) == 2
