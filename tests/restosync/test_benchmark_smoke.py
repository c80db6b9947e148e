"""benchmarks/restosync_inbound.py's core, on 20 events: it runs, and its counts add up."""

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
    return importlib.import_module("benchmarks.restosync_inbound")


def test_every_event_is_stored_then_applied(benchmark):
    result = benchmark.inbound_run(events=20, update_share=0.5)

    assert result["creates"] + result["updates"] == 20
    assert result["creates"] >= 1 and result["updates"] >= 1
    assert result["responses"] == {202: 20}
    assert result["processed"] == 20
    assert result["event_status"] == {"processed": 20}
    assert result["reservations"] == result["creates"]
    assert result["mappings"] == result["creates"]
    assert len(result["ingest_queries"]) == 20
    assert [kind for _, _, kind in result["process"]].count("create") == result["creates"]


def test_queries_per_event_do_not_grow(benchmark):
    result = benchmark.inbound_run(events=20, update_share=0.5)

    assert len(set(result["ingest_queries"])) == 1
    for kind in ("create", "update"):
        counts = {queries for _, queries, k in result["process"] if k == kind}
        assert len(counts) == 1, (kind, counts)
    lines = benchmark.report(result, "test")
    assert lines[0].startswith("events:")
