"""Retry-After edge cases, and a request that could not be built is not a platform failure."""

from __future__ import annotations

import random

import pytest
import responses

from apps.core.audit import LogContext
from apps.core.breaker import BreakerPolicy
from apps.core.http import (
    OutcomeUnknownError,
    Platform,
    PlatformClient,
    PlatformError,
    RetryPolicy,
    parse_retry_after,
)
from apps.core.models import OutboundOperation
from apps.core.operations import operation_run
from tests.factories import OutboundOperationFactory

pytestmark = pytest.mark.django_db

BASE = "https://acme.test/api"
LOG = LogContext(action="thing.fetch")
PLATFORM = Platform(name="acme", base_url=BASE, breaker=BreakerPolicy(failure_threshold=1000),
                    retry=RetryPolicy(max_attempts=2))


def _client() -> PlatformClient:
    return PlatformClient(PLATFORM, sleep=lambda s: None, rng=random.Random(1))


def test_parse_retry_after_garbage_digit_like_value_returns_none():
    # "²" (byte 0xB2, as http.client decodes headers as latin-1) passes str.isdigit()
    assert parse_retry_after("\u00b2") is None


@responses.activate
def test_garbage_retry_after_still_raises_a_platform_error():
    responses.get(f"{BASE}/things", status=429, headers={"Retry-After": "\u00b2"})
    with pytest.raises(PlatformError):
        _client().get("/things", log=LOG)


def test_parse_retry_after_is_bounded():
    assert parse_retry_after("9" * 400) != float("inf")


@responses.activate
def test_a_huge_retry_after_does_not_crash_the_outbox(outbox):
    responses.get(f"{BASE}/things", status=429, headers={"Retry-After": "100000000000000"})
    operation = OutboundOperationFactory()

    def call(op):
        _client().get("/things", log=LOG)

    outbox.script[operation.idempotency_key] = [call]
    operation = operation_run(operation.pk)  # OverflowError escapes here
    assert operation.state == OutboundOperation.State.FAILED


@responses.activate
def test_a_body_that_cannot_be_encoded_is_not_a_platform_failure():
    # requests raises InvalidJSONError (a RequestException) before sending anything.
    platform = Platform(name="acme2", base_url=BASE, retry=RetryPolicy(max_attempts=2),
                        breaker=BreakerPolicy(failure_threshold=1))
    client = PlatformClient(platform, sleep=lambda s: None, rng=random.Random(1))
    with pytest.raises(PlatformError) as info:
        client.post("/things", json={"amount": float("nan")}, log=LOG)
    assert not isinstance(info.value, OutcomeUnknownError)  # it was certainly never sent
    assert client.breaker.snapshot()["state"] == "closed"
    assert len(responses.calls) == 0
