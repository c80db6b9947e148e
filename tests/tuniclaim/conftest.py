"""Fixtures of the MY TUNICLAIM tests: the simulator on a real port, and a fake
platform on `responses` for unit tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses

from apps.core.connections import client_cache_clear
from apps.tuniclaim.simulator import TuniclaimSimulator, build
from tests.helpers import SimulatorsServed, sleeps_recorded
from tests.tuniclaim.factories import API_URL, FakePlatform


@pytest.fixture
def tuniclaim_simulator(settings) -> Iterator[Callable[..., TuniclaimSimulator]]:
    """Start a MY TUNICLAIM simulator on a free port; the hub's client then points at it.

    It starts with the default data set (5 bordereaux of 4 claims, fixed
    seed) unless told otherwise (`batches=0` for none), and asks for a
    bearer token only when given one (`token=`), which the hub then sends.
    """
    served = SimulatorsServed(settings, paths={"TUNICLAIM_API_URL": ""})

    def start(**options: Any) -> TuniclaimSimulator:
        sim = build(**{"token": "", **options})
        return served.start(sim, TUNICLAIM_API_TOKEN=sim.token)

    yield start
    served.stop()


@pytest.fixture
def platform(settings, monkeypatch) -> Iterator[FakePlatform]:
    """A fake MY TUNICLAIM the hub's client talks to; no back-off sleeps; the
    e-mail report replaced by a list of the runs it was given."""
    from apps.tuniclaim import client as client_module
    from apps.tuniclaim import reports

    settings.TUNICLAIM_API_URL = API_URL
    settings.TUNICLAIM_API_TOKEN = ""
    sleeps_recorded(monkeypatch, client_module)
    reported: list[Any] = []
    monkeypatch.setattr(reports, "report_after_run", lambda *, run: reported.append(run))
    client_cache_clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakePlatform(rsps)
        fake.rsps = rsps
        fake.reported = reported
        yield fake
    client_cache_clear()
