"""The evening cron for 1,000 shifts, to the last result, against the ONSS simulator.

    python benchmarks/dimona_cron.py [--shifts 1000] [--workers 16]

Creates 1,000 accepted shifts for tomorrow in a fresh database (a temporary
SQLite file, or BENCH_DATABASE_URL — it is migrated and filled, so never
point it at real data), starts the ONSS simulator on localhost with its
default 3-second processing delay, runs the 20:00 job, then lets a pool of
worker threads run the outbox (the same `operation_run` a Celery worker
calls) until every declaration has its result.

Reports the wall time, the GET requests per declaration against the least
the polling schedule allows for that processing delay, and the database
queries per shift (for the cron itself and for the whole run).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from datetime import datetime, timedelta

from common import configure_django, outbox_drain, outbox_without_broker, results_section_write


class QueryCounter:
    """Counts SQL statements on every connection, in every thread."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, execute, sql, params, many, context):
        with self.lock:
            self.count += 1
        return execute(sql, params, many, context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shifts", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--processing-delay", type=float, default=3.0)
    parser.add_argument("--write-results", action="store_true",
                        help="update the 'Dimona evening cron' section of benchmarks/RESULTS.md")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="hub-bench-")
    configure_django(workdir)

    from django.conf import settings
    from django.db import connection
    from django.db.backends.signals import connection_created
    from django.db.models import Count
    from django.utils import timezone

    from apps.core.simulator import serve
    from apps.dimona.mapping import BRUSSELS
    from apps.dimona.models import DimonaDeclaration, Employer, Shift, Worker
    from apps.dimona.polling import poll_offsets
    from apps.dimona.services import tomorrow_declare
    from apps.dimona.simulator import build

    running = serve(build(processing_delay_seconds=args.processing_delay))
    settings.DIMONA_API_URL = f"{running.url}/REST/dimona/v2"
    settings.DIMONA_TOKEN_URL = f"{running.url}/REST/oauth/v5/token"

    employer = Employer.objects.create(name="Bench", enterprise_number="0403170701")
    tomorrow = (timezone.localtime(timezone.now(), BRUSSELS) + timedelta(days=1)).date()
    workers = Worker.objects.bulk_create(
        [Worker(first_name=f"W{i}", last_name="Bench", ssin=_ssin(i),
                ssin_index=Worker.index_for(_ssin(i))) for i in range(args.shifts)])
    start = datetime.combine(tomorrow, datetime.min.time(), tzinfo=BRUSSELS) + timedelta(hours=17)
    Shift.objects.bulk_create(
        [Shift(employer=employer, worker=w, start=start, end=start + timedelta(hours=4),
               status=Shift.Status.ACCEPTED) for w in workers])

    outbox_without_broker()

    counter = QueryCounter()
    def attach(connection, **_):
        # A thread's wrapper object survives reconnects: attach only once.
        if counter not in connection.execute_wrappers:
            connection.execute_wrappers.append(counter)

    connection_created.connect(attach, weak=False)
    attach(connection)

    started = time.monotonic()
    declarations = tomorrow_declare()
    cron_seconds = time.monotonic() - started
    cron_queries = counter.count

    outbox_drain(args.workers)
    wall = time.monotonic() - started
    total_queries = counter.count

    statuses = dict(DimonaDeclaration.objects.values_list("status").annotate(
        n=Count("id")).values_list("status", "n"))
    gets = sum(running.simulator.state()["declaration_gets"].values())
    minimum = sum(1 for offset in poll_offsets() if offset <= args.processing_delay) or 1
    running.stop()

    n = len(declarations)
    lines = [
        f"shifts declared:        {n}",
        f"results:                {statuses}",
        f"wall time, cron→last:   {wall:.1f} s (cron itself {cron_seconds:.1f} s)",
        f"GETs per declaration:   {gets / n:.2f} (schedule minimum {minimum} for a "
        f"{args.processing_delay:g} s processing delay)",
        f"queries per shift:      {cron_queries / n:.1f} in the cron, "
        f"{total_queries / n:.1f} for the whole run",
        f"database:               {connection.vendor}, {args.workers} worker threads, "
        f"rate limiter {'redis' if settings.REDIS_URL else 'in-process'}",
    ]
    print("\n".join(lines))
    if args.write_results:
        results_section_write("Dimona evening cron", (
            f"`python benchmarks/dimona_cron.py --shifts {args.shifts}` "
            f"({time.strftime('%Y-%m-%d')}):\n\n```\n" + "\n".join(lines) + "\n```"))

def _ssin(i: int) -> str:
    base = f"{850101000 + i:09d}"
    return f"{base}{97 - int(base) % 97:02d}"


if __name__ == "__main__":
    main()
