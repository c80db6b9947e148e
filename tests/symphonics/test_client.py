"""The Symphonics client on the core: tokens, retries, errors, breaker, over real HTTP."""

from __future__ import annotations

import logging

import pytest
import responses

from apps.core.audit import LogContext
from apps.core.breaker import CLOSED, OPEN, CircuitBreaker
from apps.core.http import PermanentError, PlatformClient, TransientError
from apps.core.models import SyncLog
from apps.core.store import LocalStore
from apps.symphonics.client import (
    PLATFORM,
    SymphonicsClient,
    symphonics_auth,
    symphonics_client,
    symphonics_platform,
)
from tests.symphonics.factories import create_payload

pytestmark = pytest.mark.django_db

LOG = LogContext(action="test.call")


class Clock:
    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def _users(client: SymphonicsClient, count: int) -> None:
    for i in range(count):
        client.validate_user(f"user{i}@example.com", log=LOG)


def test_it_reuses_one_token_for_many_calls(simulator):
    sim = simulator()

    _users(symphonics_client(), 5)

    assert sim.token_requests == 1
    assert sim.endpoint_requests["GET /validation/user/{email}"] == 5
    token_call = SyncLog.objects.get(action="auth.token")
    # Form-encoded client credentials, the secret masked in the audit trail.
    assert "grant_type=client_credentials" in token_call.request_body
    assert "simulator-secret" not in token_call.request_body
    # The new token is never stored, not even masked.
    assert token_call.response_body.startswith("[auth.token response not stored: ")


def test_it_refreshes_the_token_before_it_expires(simulator):
    sim = simulator(token_lifetime_seconds=120)
    clock = Clock()
    client = SymphonicsClient(PlatformClient(symphonics_platform(),
                                             auth=symphonics_auth(store=LocalStore(clock))))

    _users(client, 1)
    clock.now += 59  # still more than the 60 s refresh margin left
    _users(client, 1)
    clock.now += 2  # within the margin: refreshed before Symphonics would refuse it
    _users(client, 1)

    assert sim.token_requests == 2
    assert not SyncLog.objects.filter(http_status=401).exists()


def test_it_refreshes_a_refused_token_once_and_retries(simulator):
    sim = simulator(token_lifetime_seconds=120)
    client = symphonics_client()
    _users(client, 1)
    sim.advance(121)  # Symphonics expires the token; our cache does not know yet

    check = client.validate_user("test.user@example.com", log=LOG)

    assert check.exists
    assert sim.token_requests == 2
    refused = SyncLog.objects.get(http_status=401)
    assert refused.status == SyncLog.Status.RETRY


def test_it_does_not_loop_when_a_fresh_token_is_refused_too(simulator):
    sim = simulator(token_lifetime_seconds=1)
    client = symphonics_client()
    _users(client, 1)
    sim.advance(3600)
    # Every token the simulator issues now is born expired on its clock.
    sim.token_lifetime_seconds = -1

    with pytest.raises(PermanentError) as excinfo:
        client.validate_user("test.user@example.com", log=LOG)

    assert excinfo.value.status_code == 401
    assert sim.token_requests == 2


def test_it_parses_error_bodies_and_logs_the_request_id(simulator, caplog):
    simulator()
    body = create_payload()
    body["installation"]["pdl"] = "123"  # what local validation would have caught

    with caplog.at_level(logging.INFO, logger="apps.core.http"), \
            pytest.raises(PermanentError) as excinfo:
        symphonics_client().create_intervention(body, log=LOG)

    error = excinfo.value.error
    assert excinfo.value.status_code == 422
    assert error.code == "VALIDATION_ERROR"
    assert error.details == [{"field": "installation.pdl", "message": "PDL must be 14 digits"}]
    assert error.request_id.startswith("req_")
    row = SyncLog.objects.get(action="test.call")
    assert row.remote_request_id == error.request_id
    assert error.request_id in row.error
    assert error.request_id in caplog.text


def test_it_retries_5xx_with_backoff_at_most_five_times(simulator, sleeps):
    sim = simulator()
    client = symphonics_client()
    _users(client, 1)  # token fetched before the outage
    sim.faults.update({"error_rate": 1.0})

    with pytest.raises(TransientError):
        client.validate_user("test.user@example.com", log=LOG)

    user_calls = [path for _, _, path in sim.requests if path.startswith("/validation/user/")]
    assert len(user_calls) == 1 + 6
    assert len(sleeps) == 5
    # Full jitter under a doubling ceiling: 1, 2, 4, 8, 16 seconds.
    assert all(0 <= delay <= 2 ** i for i, delay in enumerate(sleeps))
    statuses = list(SyncLog.objects.filter(http_status=503).order_by("pk")
                    .values_list("status", flat=True))
    assert statuses == ["retry"] * 5 + ["failed"]


@responses.activate
def test_it_honours_retry_after_on_429(settings, sleeps):
    settings.SYMPHONICS_API_URL = "https://symphonics.test"
    responses.post("https://symphonics.test/auth/token",
                   json={"access_token": "t", "token_type": "Bearer", "expires_in": 3600})
    url = "https://symphonics.test/validation/user/test.user@example.com"
    responses.get(url, status=429, headers={"Retry-After": "7"},
                  json={"error": {"code": "RATE_LIMITED", "message": "Too many requests",
                                  "details": [], "request_id": "req_1"}})
    responses.get(url, json={"exists": True, "user_id": "usr_1", "status": "active"})

    check = symphonics_client().validate_user("test.user@example.com", log=LOG)

    assert check.exists
    assert sleeps[0] >= 7
    assert len(responses.calls) == 3


@responses.activate
def test_it_never_retries_a_client_error(settings, sleeps):
    settings.SYMPHONICS_API_URL = "https://symphonics.test"
    responses.post("https://symphonics.test/auth/token",
                   json={"access_token": "t", "token_type": "Bearer", "expires_in": 3600})
    responses.get("https://symphonics.test/crm/interventions/sym_1", status=403,
                  json={"error": {"code": "FORBIDDEN", "message": "No", "details": [],
                                  "request_id": "req_2"}})

    with pytest.raises(PermanentError):
        symphonics_client().get_intervention("sym_1", log=LOG)

    assert len(responses.calls) == 2  # the token, then one call
    assert sleeps == []


def test_it_opens_the_breaker_during_an_outage_and_recovers(simulator, sleeps):
    sim = simulator()
    clock = Clock()
    client = symphonics_client()
    policy = client.http.platform.breaker
    client.http.breaker = CircuitBreaker(PLATFORM, policy, store=LocalStore(clock))
    _users(client, 1)
    sim.faults.update({"error_rate": 1.0})

    with pytest.raises(TransientError):
        client.validate_user("a@example.com", log=LOG)
    seen_during_outage = sim.request_count
    for _ in range(3):
        with pytest.raises(TransientError, match="circuit for symphonics is open"):
            client.validate_user("b@example.com", log=LOG)

    assert client.http.breaker.snapshot()["state"] == OPEN
    assert sim.request_count == seen_during_outage  # nothing more reached Symphonics
    sim.faults.update({"error_rate": 0.0})
    clock.now += policy.cooldown_seconds
    assert client.validate_user("test.user@example.com", log=LOG).exists
    assert client.http.breaker.snapshot()["state"] == CLOSED
    assert SyncLog.objects.filter(status=SyncLog.Status.SKIPPED).count() == 3


def test_it_reads_the_base_url_at_call_time(settings, simulator):
    first = simulator()
    symphonics_client().validate_user("test.user@example.com", log=LOG)
    second = simulator()  # points SYMPHONICS_API_URL elsewhere, as a sandbox switch would

    symphonics_client().validate_user("test.user@example.com", log=LOG)

    assert first.token_requests == second.token_requests == 1
    assert second.base_url == settings.SYMPHONICS_API_URL
