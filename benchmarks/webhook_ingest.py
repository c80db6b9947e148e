"""Throughput of the webhook inbox against a bare view, on one gunicorn server.

    python benchmarks/webhook_ingest.py [--seconds 10] [--workers 4] [--connections 16]

Starts gunicorn with the hub's settings plus three extra routes (see
bench_urls.py): a bare view answering 200; an inbox endpoint doing what
every platform's does — its channel's verifier (a `BodyHmac`, the scheme
of Symphonics, Uber Eats and Nango, through the same `Channel` path as
every other verifier), timestamp check, one INSERT, a Celery task sent
after commit; and, for reference, the floor: the bare view plus
one raw INSERT into a one-index table, the least any store-first inbox can
do. wrk (Debian package `wrk`) sends signed deliveries,
each with its own event id so none is a cheap duplicate, alternating bare,
inbox and floor rounds. The database is BENCH_DATABASE_URL (migrated and filled:
never real data) or a temporary SQLite file; the broker is REDIS_URL's
Redis if set, else the filesystem broker. Target: the inbox reaches at least
half of the bare view's requests per second.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from common import ROOT, results_section_write

LUA = """
local requests = {}
local i = 0
function init(args)
  local file = io.open(args[1], "r")
  for line in file:lines() do
    local sig, id, body = line:match("^(%S+) (%S+) (.*)$")
    table.insert(requests, wrk.format("POST", nil, {
      ["Content-Type"] = "application/json",
      ["X-Bench-Signature"] = "sha256=" .. sig,
      ["X-Bench-Event-Id"] = id}, body))
  end
  file:close()
  i = math.random(#requests)
end
function request()
  i = i % #requests + 1
  return requests[i]
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def signed_deliveries(path: Path, count: int, secret: str) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with path.open("w") as out:
        for n in range(count):
            body = json.dumps({"event": "bench.event", "timestamp": now,
                               "data": {"n": n, "note": "x" * 200}}, separators=(",", ":"))
            signature = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
            out.write(f"{signature} {uuid.uuid4().hex} {body}\n")


def wrk(url: str, seconds: int, connections: int, script: Path, data: Path) -> float:
    result = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url, str(data)],
        capture_output=True, text=True, check=True)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
    if non_2xx:
        raise SystemExit(f"{url}: {non_2xx.group(1)} error responses\n{result.stdout}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--write-results", action="store_true",
                        help="update the section in benchmarks/RESULTS.md")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")

    workdir = Path(tempfile.mkdtemp(prefix="hub-webhook-bench-"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "benchmarks.bench_settings",
           "HUB_VAR_DIR": str(workdir), "PYTHONPATH": str(ROOT),
           "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL",
                                          f"sqlite:///{workdir}/bench.sqlite3")}
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([python, "manage.py", "shell", "-c",
                    "from benchmarks.bench_urls import floor_table_create; floor_table_create()"],
                   cwd=ROOT, env=env, check=True)

    sys.path.insert(0, str(ROOT))
    from benchmarks.bench_settings import BENCH_WEBHOOK_SECRET

    data = workdir / "deliveries.txt"
    expected = 3000 * args.seconds * args.rounds
    signed_deliveries(data, expected, BENCH_WEBHOOK_SECRET)
    script = workdir / "deliveries.lua"
    script.write_text(LUA)

    port = free_port()
    gunicorn = subprocess.Popen(
        [str(Path(python).parent / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--threads", str(args.threads),
         "--log-level", "warning", "--no-control-socket"], cwd=ROOT, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        wrk(f"{base}/bench/bare/", 2, args.connections, script, data)  # warm-up
        bare, inbox, floor = [], [], []
        for _ in range(args.rounds):
            for path, rounds in (("bare", bare), ("webhook", inbox), ("durable-write", floor)):
                rounds.append(wrk(f"{base}/bench/{path}/", args.seconds, args.connections,
                                  script, data))
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=10)

    bare_rps, inbox_rps, floor_rps = max(bare), max(inbox), max(floor)
    ratio = inbox_rps / bare_rps
    database = env["DATABASE_URL"].split(":", 1)[0]
    broker = "redis" if os.environ.get("REDIS_URL") else "filesystem"

    def throughput(rounds: list[float]) -> str:
        return f"{max(rounds):,.0f} requests/s (rounds: {', '.join(f'{r:,.0f}' for r in rounds)})"

    lines = [
        f"- bare view: {throughput(bare)}",
        f"- inbox: {throughput(inbox)}",
        f"- ratio inbox / bare: **{ratio:.2f}** (target ≥ 0.50: "
        f"{'met' if ratio >= 0.5 else 'NOT met'})",
        f"- floor, bare view + one raw INSERT: {throughput(floor)}, ratio floor / bare "
        f"**{floor_rps / bare_rps:.2f}**: no store-first inbox can do better here",
        f"- ratio inbox / floor: **{inbox_rps / floor_rps:.2f}** (target ≥ 0.70: "
        f"{'met' if inbox_rps / floor_rps >= 0.7 else 'NOT met'})",
        f"- setup: gunicorn {args.workers} sync workers, wrk 2 threads {args.connections} "
        f"connections, {args.seconds} s per round, database {database}, broker {broker}, "
        f"{os.cpu_count()} cores",
    ]
    print("\n".join(lines))
    if args.write_results:
        results_section_write("Webhook ingest", (
            f"Run {datetime.now(UTC):%Y-%m-%d} with `benchmarks/webhook_ingest.py`.\n\n"
            + "\n".join(lines)))

if __name__ == "__main__":
    main()
