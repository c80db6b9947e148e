"""benchmarks/tuniclaim_import.py's core on a few batches: it runs, and its counts add up."""

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
    return importlib.import_module("benchmarks.tuniclaim_import")


def test_the_three_imports_create_then_keep_then_update(benchmark, tuniclaim_simulator):
    sim = tuniclaim_simulator(batches=0)

    first, unchanged, changed = benchmark.benchmark_run(
        sim_url=sim.base_url, batches=4, claims=5, items=2, changed_percent=25)

    assert (first["created"], first["updated"]) == (4 + 4 * 5, 0)
    assert (unchanged["created"], unchanged["updated"], unchanged["unchanged"]) == (0, 0, 24)
    assert changed["created"] == 0 and changed["updated"] >= 1
    assert {r["status"] for r in (first, unchanged, changed)} == {"success"}
    # One page each; the unchanged re-import reads no batch's claims.
    assert len(first["per_page"]) == 1 and unchanged["per_page"][0] < first["per_page"][0]
    lines = benchmark.report([first, unchanged, changed], database="test", batches=4,
                             claims=5, items=2)
    assert lines[-2].startswith("unchanged re-import:")
