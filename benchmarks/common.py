"""What every benchmark script shares: a throwaway Django set-up and RESULTS.md."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def configure_django(workdir: str) -> None:
    """Django on BENCH_DATABASE_URL (never real data: it is migrated and filled)
    or a temporary SQLite file, with its own var folder, migrated."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["HUB_VAR_DIR"] = workdir
    os.environ["DATABASE_URL"] = os.environ.get(
        "BENCH_DATABASE_URL", f"sqlite:///{workdir}/bench.sqlite3")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def results_section_write(heading: str, body: str) -> None:
    """Replace the `## heading` section of RESULTS.md (or append it); others stay."""
    section = f"## {heading}\n\n{body.strip()}\n"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text.rstrip("\n") + "\n")


def outbox_without_broker() -> None:
    """Operations are run by `outbox_drain` below, not sent to a Celery broker."""
    from apps.core import operations

    operations._dispatch_on_commit = lambda operation_id, at=None: None


def outbox_drain(workers: int) -> None:
    """Play the Celery workers and the sweep: run due operations on a thread
    pool (the same `operation_run` a worker calls) until none is open."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections
    from django.utils import timezone

    from apps.core.models import OutboundOperation
    from apps.core.operations import operation_run

    state = OutboundOperation.State
    waiting = [state.PENDING, state.FAILED, state.UNKNOWN]

    def run(operation_id: int) -> None:
        try:
            operation_run(operation_id)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        while True:
            due = list(OutboundOperation.objects.filter(
                state__in=waiting, next_attempt_at__lte=timezone.now())
                .order_by("next_attempt_at").values_list("pk", flat=True)[:workers * 4])
            if due:
                list(pool.map(run, due))
                continue
            if not OutboundOperation.objects.filter(
                    state__in=[*waiting, state.IN_FLIGHT]).exists():
                return
            time.sleep(0.05)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def simulator_process(name: str, workdir: str, **env: str) -> Iterator[str]:
    """The simulator `name` of settings.SIMULATORS in a process of its own, as
    the platform would be, on a free port (`<NAME>_SIM_PORT`); its base URL.
    `env`: more environment for it (a token it should ask for, say)."""
    import subprocess
    import time

    import requests

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_simulators", name], cwd=ROOT,
        env={**os.environ, f"{name.upper()}_SIM_PORT": str(port), "HUB_VAR_DIR": workdir,
             "LOG_LEVEL": "WARNING", **env},
        stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{url}/_sim/state", timeout=2)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit(f"the {name} simulator did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
