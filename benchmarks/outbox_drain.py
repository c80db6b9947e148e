"""Draining the outbox: 5,000 operations against a platform that answers at once.

    BENCH_DATABASE_URL=postgres://... python benchmarks/outbox_drain.py
        [--operations 5000] [--workers 4] [--per-entity 1] [--write-results]

What a Celery deployment does, without the broker: the operations are
enqueued with `operation_enqueue` (in transactions of 100, as a busy domain
service would), and every "send after commit" puts the operation's id on a
queue that stands for the broker. Worker processes (forked, as Celery's
prefork pool is) take ids off the queue and call the real `operation_run`:
claim by conditional UPDATE, lease heartbeat, the handler, outcome written
under the lease, the entity's next operation dispatched. The handler POSTs
through a `PlatformClient` (audit rows, breaker, no rate limit) to a stub
HTTP server on 127.0.0.1, in its own process, which answers 200 at once.
With `--per-entity 2` or more, each entity gets several operations, which
must run in order: a later one is refused while the earlier runs, and is
sent again when it finishes.

Reports operations per second and SQL queries per operation at steady
state: each worker counts its queries per operation, and the first
WARM_UP operations of each worker (connections, caches) are left out, as
are the first and last tenth of the run for the rate.
Target: at most 6 queries per operation.

The database is BENCH_DATABASE_URL (migrated and filled: never real data) or
a temporary SQLite file; the breaker's state is in REDIS_URL's Redis if set.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from statistics import median

from common import configure_django, results_section_write

HEADING = "Outbox drain"
KIND = "bench.outbox.push"
# Operations per worker left out of the query count: its first connection,
# content types and the HTTP connection pool.
WARM_UP = 25
STOP = -1


def stub_server(port_out: multiprocessing.Queue) -> None:
    """A platform that answers every POST with 200 at once (HTTP/1.1 keep-alive)."""
    answer = json.dumps({"ok": True}).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body leave in two writes; without this, Nagle's
            # algorithm and the client's delayed ACK add 40 ms to each answer.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_out.put(server.server_address[1])
    server.serve_forever()


def register_handler(base_url: str) -> None:
    from apps.core.audit import LogContext
    from apps.core.http import Platform, PlatformClient
    from apps.core.operations import Done, operation_handler

    clients: list[PlatformClient] = []

    @operation_handler(KIND)
    def push(operation, *, reconcile: bool) -> Done:
        # One client per worker process, as the domain apps keep theirs.
        if not clients:
            clients.append(PlatformClient(Platform(name="bench", base_url=base_url)))
        response = clients[0].post("/push", json=operation.payload, idempotent=True,
                                   log=LogContext(action="bench.push",
                                                  entity_type=operation.entity_type,
                                                  entity_id=operation.entity_id,
                                                  operation_id=operation.pk))
        return Done({"status": response.status_code})


def worker(broker: multiprocessing.Queue, results: multiprocessing.Queue) -> None:
    """A Celery worker process: run what the broker hands out until told to stop."""
    from django.db import connection

    from apps.core import operations

    operations._dispatch_on_commit = lambda operation_id, at=None: broker.put(operation_id)
    queries = [0]

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    finished: list[tuple[float, int]] = []
    refused = 0
    with connection.execute_wrapper(count):
        while True:
            operation_id = broker.get()
            if operation_id == STOP:
                break
            before = queries[0]
            if operations.operation_run(operation_id) is None:
                refused += 1
                continue
            finished.append((time.time(), queries[0] - before))
    connection.close()
    results.put({"finished": finished, "refused": refused, "queries": queries[0]})


def commit_latency(samples: int = 200) -> float:
    """Seconds per committed one-row write on this database: each operation
    commits four (claim, audit row in and out, outcome), one after the other."""
    from django.db import connection

    with connection.cursor() as cursor:
        # Not a temporary table: those skip the write-ahead log, and its flush
        # at commit is what is measured.
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_commit (id int PRIMARY KEY, n int)")
        cursor.execute("INSERT INTO bench_commit VALUES (1, 0) ON CONFLICT DO NOTHING")
    started = time.monotonic()
    for _ in range(samples):
        with connection.cursor() as cursor:
            cursor.execute("UPDATE bench_commit SET n = n + 1 WHERE id = 1")
    seconds = (time.monotonic() - started) / samples
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_commit")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=4, help="worker processes")
    parser.add_argument("--per-entity", type=int, default=1,
                        help="operations per entity (run in order)")
    parser.add_argument("--write-results", action="store_true",
                        help=f"write the '{HEADING}' section of benchmarks/RESULTS.md")
    args = parser.parse_args()

    context = multiprocessing.get_context("fork")
    port_out = context.Queue()
    stub = context.Process(target=stub_server, args=(port_out,), daemon=True)
    stub.start()
    base_url = f"http://127.0.0.1:{port_out.get(timeout=10)}"

    workdir = tempfile.mkdtemp(prefix="hub-bench-")
    configure_django(workdir)
    from django.db import connection, connections, transaction
    from django.db.models import Count

    from apps.core import operations
    from apps.core.models import OutboundOperation, SyncLog

    register_handler(base_url)
    OutboundOperation.objects.filter(kind=KIND).delete()
    SyncLog.objects.filter(platform="bench").delete()

    broker = context.Queue()
    operations._dispatch_on_commit = lambda operation_id, at=None: broker.put(operation_id)
    run = time.strftime("%Y%m%d%H%M%S")
    entities = max(args.operations // args.per_entity, 1)
    started = time.monotonic()
    for batch in range(0, args.operations, 100):
        with transaction.atomic():
            for n in range(batch, min(batch + 100, args.operations)):
                operations.operation_enqueue(
                    platform="bench", kind=KIND, idempotency_key=f"bench:{run}:{n}",
                    payload={"n": n, "note": "x" * 200}, entity_type="bench.thing",
                    entity_id=f"{run}-{n % entities}")
    enqueue_seconds = time.monotonic() - started
    connections.close_all()

    latency = commit_latency() if connection.vendor == "postgresql" else None
    connections.close_all()
    results = context.Queue()
    workers = [context.Process(target=worker, args=(broker, results))
               for _ in range(args.workers)]
    started = time.monotonic()
    for process in workers:
        process.start()
    while OutboundOperation.objects.filter(kind=KIND).exclude(
            state=OutboundOperation.State.SUCCEEDED).exists():
        time.sleep(0.2)
    wall = time.monotonic() - started
    for _ in workers:
        broker.put(STOP)
    reports = [results.get(timeout=60) for _ in workers]
    for process in workers:
        process.join(10)
    stub.terminate()

    steady = [n for report in reports for _, n in report["finished"][WARM_UP:]]
    times = sorted(at for report in reports for at, _ in report["finished"])
    tenth = len(times) // 10
    rate = (len(times) - 2 * tenth) / (times[-tenth - 1] - times[tenth])
    refused = sum(report["refused"] for report in reports)
    states = dict(OutboundOperation.objects.filter(kind=KIND).values_list("state")
                  .annotate(n=Count("id")).values_list("state", "n"))
    logs = SyncLog.objects.filter(platform="bench").count()
    per_operation = sum(steady) / len(steady)
    lines = [
        f"operations:             {args.operations} ({args.per_entity} per entity), "
        f"outbox {states}",
        f"audit rows:             {logs}",
        f"operations per second:  {rate:.0f} at steady state "
        f"({args.operations / wall:.0f} over the whole drain of {wall:.1f} s)",
        f"queries per operation:  {per_operation:.2f} at steady state (median "
        f"{median(steady):g}, max {max(steady)}); target at most 6",
        f"claims refused:         {refused} (waiting for an earlier operation of their entity; "
        "one query each)",
        f"enqueue:                {args.operations / enqueue_seconds:.0f} operations/s "
        "in transactions of 100",
        *([f"commit latency:         {latency * 1000:.1f} ms per one-row autocommit write "
           f"(4 per operation: at most {1 / (4 * latency):.0f} operations/s per worker)"]
          if latency else []),
        f"workers, database:      {args.workers} processes, {connection.vendor}, "
        f"breaker state in {'Redis' if os.environ.get('REDIS_URL') else 'process memory'}",
    ]
    print("\n".join(lines))
    if args.write_results:
        write_results(lines, args)


def write_results(lines: list[str], args: argparse.Namespace) -> None:
    section = (
        f"`python benchmarks/outbox_drain.py --operations {args.operations} "
        f"--workers {args.workers} --per-entity {args.per_entity}` "
        f"({time.strftime('%Y-%m-%d')}):\n\n```\n" + "\n".join(lines) + "\n```\n"
    )
    results_section_write(HEADING, section)


if __name__ == "__main__":
    main()
