"""benchmarks/calendar_sync.py's core on a small calendar: it runs, its counts add
up, and an event costs the same queries whatever the size of the calendar."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.django_db
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def benchmark(monkeypatch) -> ModuleType:
    # The scripts import their neighbour `common` as the top-level module
    # they see when run as `python benchmarks/<script>.py`.
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("benchmarks.calendar_sync")


def _run(benchmark, google_simulator, events: int):
    sim = google_simulator()
    # On top of the fixture's own overrides, so they all go when the test ends.
    benchmark.hub_point_at(sim.base_url)
    return benchmark.benchmark_run(sim_url=sim.base_url, events=events, changed_percent=10)


def test_the_full_then_the_incremental_sync(benchmark, google_simulator):
    first, incremental = _run(benchmark, google_simulator, 40)

    assert (first["status"], incremental["status"]) == ("success", "success")
    assert (first["created"], first["updated"], first["errors"]) == (40, 0, 0)
    assert (first["events"], first["changed"]) == (40, 40)
    # One page of events, then the push channel opened after the good sync.
    assert first["endpoints"] == {"GET /calendars/{calendarId}/events": 1,
                                  "POST /calendars/{calendarId}/events/watch": 1}
    assert first["requests"] == 2
    # Only the changed events come back, in one request, each applied once.
    assert (incremental["changed"], incremental["events"]) == (4, 4)
    assert (incremental["created"], incremental["updated"], incremental["errors"]) == (0, 4, 0)
    assert incremental["endpoints"] == {"GET /calendars/{calendarId}/events": 1}
    assert incremental["requests"] == 1
    for result in (first, incremental):
        assert result["queries"] > sum(result["per_event"]) > 0
        assert benchmark.constant(result)
    lines = benchmark.report([first, incremental], database="test", events=40)
    assert lines[-2].endswith(": yes")
    assert "0.250 per changed event" in lines[2]


def test_an_event_costs_the_same_queries_in_a_calendar_twice_as_big(benchmark,
                                                                      google_simulator):
    small = _run(benchmark, google_simulator, 20)
    big = _run(benchmark, google_simulator, 40)

    for run in (0, 1):
        assert set(small[run]["per_event"]) == set(big[run]["per_event"])
        assert len(set(big[run]["per_event"])) == 1
