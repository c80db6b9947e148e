"""Platform health shows a platform's worst breaker, half-open ranking above closed."""

from __future__ import annotations

import pytest

from apps.core.breaker import CLOSED, HALF_OPEN, CircuitBreaker
from apps.core.platforms import registered_platforms
from apps.core.selectors import _worst_breaker


@pytest.fixture
def platform():
    return registered_platforms()[0]


def test_it_ranks_a_half_open_breaker_above_a_closed_one_with_more_failures(
        platform, monkeypatch):
    states = {"other-connection": {"state": CLOSED, "failures": 4, "opened_at": 0}}

    def snapshot(breaker: CircuitBreaker) -> dict:
        return states.get(breaker.platform, {"state": HALF_OPEN, "failures": 0,
                                             "opened_at": 1})

    monkeypatch.setattr(CircuitBreaker, "snapshot", snapshot)

    assert _worst_breaker(platform, ["other-connection"])["state"] == HALF_OPEN
