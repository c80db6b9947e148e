"""MY TUNICLAIM import: claim batches from the simulator, over HTTP, into the database.

    BENCH_DATABASE_URL=postgres://... python benchmarks/tuniclaim_import.py
        [--batches 2000] [--claims 50] [--items 2] [--changed-percent 1] [--write-results]

The MY TUNICLAIM simulator runs in its own process (`manage.py
run_simulators tuniclaim` on a free port), as the platform would, and
generates `batches` bordereaux of `claims` bulletins de soin with `items`
care acts each. The hub's import then runs three times, each a full run
(the whole listing is read, as after a manager's "full import"):

1. the first import: everything is created;
2. a re-import of the same data: nothing may be written;
3. a re-import after the platform changed `changed-percent` % of the claims
   (amounts and statuses, their batches' updatedAt moved forward).

For each: records (bordereaux + claims) per second, SQL queries per page of
the listing (from the page's parse to its last batch's commit; the count
must not grow with the records: it is a constant per page plus a constant
per batch that changed), and the peak of the process's resident memory over
the run above what it held before (sampled every 20 ms from
/proc/self/statm), which must stay bounded by a page's worth of records
rather than grow with the data. The target: the unchanged re-import at least
10 times faster than the first import.

The database is BENCH_DATABASE_URL (migrated and filled: never real data) or
a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from statistics import mean
from typing import Any

import requests
from common import configure_django, results_section_write, simulator_process

HEADING = "MY TUNICLAIM import"
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_BYTES


class PeakMemory:
    """The highest resident size seen while the block runs, sampled on a thread."""

    def __init__(self, every: float = 0.02) -> None:
        self.every, self.peak, self.base = every, 0, 0
        self._stop = threading.Event()

    def __enter__(self) -> PeakMemory:
        self.base = self.peak = resident_bytes()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, resident_bytes())

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, resident_bytes())


def import_once(label: str) -> dict[str, Any]:
    """One full import run, with its time, queries per page and peak memory."""
    from django.db import connection

    from apps.tuniclaim import imports, tasks

    queries = [0]
    per_page: list[int] = []

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    real_import_page = imports._Importer.import_page

    def import_page_counted(self, records):
        before = queries[0]
        result = real_import_page(self, records)
        per_page.append(queries[0] - before)
        return result

    imports._Importer.import_page = import_page_counted
    real_delay = tasks.run_import.delay
    # The run is worked here, in this process, rather than by a Celery worker.
    tasks.run_import.delay = lambda run_id: None
    try:
        run, started = imports.import_trigger(full=True)
        assert started, "an import was already running"
        with connection.execute_wrapper(count), PeakMemory() as memory:
            began = time.monotonic()
            run = imports.import_run(run_id=run.pk)
            seconds = time.monotonic() - began
    finally:
        imports._Importer.import_page = real_import_page
        tasks.run_import.delay = real_delay
    records = run.created + run.updated + run.unchanged + run.invalid + run.errors
    return {"label": label, "status": run.status, "seconds": seconds, "records": records,
            "created": run.created, "updated": run.updated, "unchanged": run.unchanged,
            "invalid": run.invalid, "errors": run.errors, "queries": queries[0],
            "per_page": per_page, "peak_mb": (memory.peak - memory.base) / 2**20}


def benchmark_run(*, sim_url: str, batches: int, claims: int, items: int,
                  changed_percent: float) -> list[dict[str, Any]]:
    from django.conf import settings

    from apps.core.connections import client_cache_clear

    settings.TUNICLAIM_API_URL = sim_url
    settings.TUNICLAIM_API_TOKEN = ""
    client_cache_clear()
    generated = requests.post(f"{sim_url}/_sim/generate", json={
        "batches": batches, "claims": claims, "items": items, "seed": 2026,
        "mode": "replace"}, timeout=600)
    generated.raise_for_status()
    results = [import_once("first import"), import_once("re-import, unchanged")]
    changed = requests.post(f"{sim_url}/_sim/change", json={
        "percent": changed_percent, "seed": 7, "field": "mixed"}, timeout=600)
    changed.raise_for_status()
    results.append(import_once(f"re-import, {changed_percent:g} % changed"))
    return results


def report(results: list[dict[str, Any]], *, database: str, batches: int, claims: int,
           items: int) -> list[str]:
    lines = [f"data:        {batches} bordereaux x {claims} claims x {items} care acts "
             f"({batches * claims} claims)"]
    for result in results:
        pages = result["per_page"]
        lines.append(
            f"{result['label']}: {result['status']}, {result['seconds']:.1f} s, "
            f"{result['records'] / result['seconds']:.0f} records/s; created "
            f"{result['created']}, updated {result['updated']}, unchanged "
            f"{result['unchanged']}, invalid {result['invalid']}, errors {result['errors']}; "
            f"queries per page {mean(pages):.1f} (min {min(pages)}, max {max(pages)}, "
            f"{len(pages)} pages); peak memory +{result['peak_mb']:.0f} MiB")
    first, unchanged = results[0]["seconds"], results[1]["seconds"]
    verdict = "met" if first / unchanged >= 10 else "NOT met"
    lines.append(f"unchanged re-import: {first / unchanged:.1f}x faster than the first "
                 f"import (target 10x: {verdict})")
    lines.append(f"database:    {database}, {os.cpu_count()} cores, simulator in its own "
                 "process on the same machine")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--claims", type=int, default=50)
    parser.add_argument("--items", type=int, default=2)
    parser.add_argument("--changed-percent", type=float, default=1.0)
    parser.add_argument("--write-results", action="store_true",
                        help=f"write the '{HEADING}' section of benchmarks/RESULTS.md")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="hub-bench-")
    configure_django(workdir)
    from django.db import connection

    with simulator_process("tuniclaim", workdir, TUNICLAIM_API_TOKEN="") as sim_url:
        results = benchmark_run(sim_url=sim_url, batches=args.batches, claims=args.claims,
                                items=args.items, changed_percent=args.changed_percent)
    lines = report(results, database=connection.vendor, batches=args.batches,
                   claims=args.claims, items=args.items)
    print("\n".join(lines))
    if args.write_results:
        results_section_write(HEADING, (
            f"`python benchmarks/tuniclaim_import.py --batches {args.batches} --claims "
            f"{args.claims} --items {args.items} --changed-percent {args.changed_percent:g}` "
            f"({time.strftime('%Y-%m-%d')}):\n\n```\n" + "\n".join(lines) + "\n```\n"))


if __name__ == "__main__":
    main()
