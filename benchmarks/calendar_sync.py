"""Google calendar sync: a full sync of a big calendar, then an incremental one.

    BENCH_DATABASE_URL=postgres://... python benchmarks/calendar_sync.py
        [--events 10000] [--changed-percent 1] [--write-results]

The Google simulator runs in its own process (`manage.py run_simulators
google` on a free port), as Google would, and its calendar's owner imports
`events` one-hour events. An organisation of its own (so nothing another run
left in the database is synced with it) connects its Google calendar through
the real OAuth flow: `connect_start`, its authorization URL followed with
requests (the simulator consents at once), `connect_finish` with the code
and state of the redirect. The hub's calendar sync (`calendar_sync_request`,
or the first run the connection started, then `calendar_sync_run`, worked
here rather than by a Celery worker) then runs twice:

1. the first full sync: every event is listed and imported;
2. after the owner changed `changed-percent` % of the events, an incremental
   sync from the stored sync token: only the changed events are listed.

For each: events per second (events listed and applied over the run's wall
time), the HTTP requests the run sent to the simulator (its /_sim/state
count, so the requests per changed event), and the SQL queries (Django's
execute_wrapper): in all, per event, and for each event applied, whose count
must not grow with the data (the last tenth of a run's events costs what its
first tenth did).

The database is BENCH_DATABASE_URL (migrated and filled: never real data) or
a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from statistics import mean
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from common import (
    configure_django,
    free_port,
    outbox_without_broker,
    results_section_write,
    simulator_process,
)

HEADING = "Google calendar sync"
# Where the provider sends the user back; the benchmark reads the redirect
# itself, so nothing has to answer there.
REDIRECT_URI = "https://hub.example/api/integrations/google/callback"


def hub_point_at(sim_url: str) -> None:
    """The hub's Google settings on the simulator. The push channel the first
    sync opens is given an address where nothing listens: the benchmark runs
    no web server, and the simulator's notifications must not reach whatever
    else may answer on the default address."""
    from django.conf import settings

    from apps.core.connections import client_cache_clear

    settings.GOOGLE_AUTH_URL = f"{sim_url}/o/oauth2/v2/auth"
    settings.GOOGLE_TOKEN_URL = f"{sim_url}/token"
    settings.GOOGLE_REVOKE_URL = f"{sim_url}/revoke"
    settings.GOOGLE_API_URL = f"{sim_url}/calendar/v3"
    settings.GOOGLE_USERINFO_URL = f"{sim_url}/oauth2/v3/userinfo"
    settings.HUB_BASE_URL = f"http://127.0.0.1:{free_port()}"
    client_cache_clear()


def sim_state(sim_url: str) -> dict[str, Any]:
    answer = requests.get(f"{sim_url}/_sim/state", timeout=30)
    answer.raise_for_status()
    return answer.json()


def google_connect():
    """A new organisation's Google calendar connected through the OAuth flow;
    the integration and the user who connected it."""
    from django.contrib.auth import get_user_model

    from apps.integrations.connect import connect_finish, connect_start
    from apps.integrations.models import Organization

    tag = uuid.uuid4().hex[:12]
    organization = Organization.objects.create(name=f"Benchmark {tag}", slug=f"bench-{tag}")
    user = get_user_model().objects.create_user(f"bench-{tag}", password=None)
    started = connect_start(organization=organization, provider="google", user=user,
                            scopes=None, settings=None, redirect_uri=REDIRECT_URI)
    consent = requests.get(started.auth_url, allow_redirects=False, timeout=30)
    if consent.status_code != 302:
        raise SystemExit(f"the simulator refused the consent: {consent.status_code} "
                         f"{consent.text[:300]}")
    query = {key: values[0]
             for key, values in parse_qs(urlsplit(consent.headers["Location"]).query).items()}
    result = connect_finish(organization=organization, provider="google", user=user,
                            code=query["code"], state=query["state"])
    return result.integration, user


def sync_once(label: str, *, integration, user, sim_url: str) -> dict[str, Any]:
    """One sync run worked here, with its time, HTTP requests and SQL queries."""
    from django.db import connection

    from apps.core.models import SyncRun
    from apps.integrations import calendar_sync
    from apps.integrations.models import Integration

    queries = [0]
    per_event: list[int] = []
    event_seconds: list[float] = []

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    real_apply = calendar_sync._apply_remote

    def apply_counted(integration, remote, local_id):
        before, began = queries[0], time.perf_counter()
        result = real_apply(integration, remote, local_id)
        event_seconds.append(time.perf_counter() - began)
        per_event.append(queries[0] - before)
        return result

    calendar_sync._apply_remote = apply_counted
    try:
        integration = Integration.objects.select_related("connection").get(pk=integration.pk)
        # The run the connection started (the first sync), or a new one.
        run = calendar_sync.calendar_sync_request(integration=integration, user=user)
        if run.status != SyncRun.Status.RUNNING:
            raise SystemExit(f"the sync run {run.pk} is {run.status}, not running")
        before = sim_state(sim_url)
        with connection.execute_wrapper(count):
            began = time.monotonic()
            run = calendar_sync.calendar_sync_run(run_id=run.pk)
            seconds = time.monotonic() - began
        after = sim_state(sim_url)
    finally:
        calendar_sync._apply_remote = real_apply
    endpoints = {
        name: total - before["requests_by_endpoint"].get(name, 0)
        for name, total in after["requests_by_endpoint"].items()
        if total != before["requests_by_endpoint"].get(name, 0)}
    return {"label": label, "status": run.status, "seconds": seconds,
            "events": len(per_event), "created": run.created, "updated": run.updated,
            "deleted": run.deleted, "unchanged": run.unchanged, "errors": run.errors,
            "requests": after["requests"] - before["requests"], "endpoints": endpoints,
            "queries": queries[0], "per_event": per_event, "event_seconds": event_seconds}


@contextmanager
def runs_worked_here() -> Iterator[None]:
    """Sync runs are worked by `sync_once`, in this process, rather than sent to
    a Celery worker (the connection's first one included)."""
    from apps.integrations import tasks

    real_delay = tasks.calendar_sync_task.delay
    tasks.calendar_sync_task.delay = lambda run_id: None
    try:
        yield
    finally:
        tasks.calendar_sync_task.delay = real_delay


def benchmark_run(*, sim_url: str, events: int, changed_percent: float) -> list[dict[str, Any]]:
    """The calendar filled, connected, synced in full, changed, synced again.
    The hub's Google settings must point at `sim_url` (hub_point_at)."""
    with runs_worked_here():
        return _benchmark_run(sim_url=sim_url, events=events, changed_percent=changed_percent)


def _benchmark_run(*, sim_url: str, events: int, changed_percent: float) -> list[dict[str, Any]]:
    generated = requests.post(f"{sim_url}/_sim/calendars/primary/events/generate",
                              json={"count": events, "seed": 2026}, timeout=600)
    generated.raise_for_status()
    integration, user = google_connect()
    first = sync_once("first full sync", integration=integration, user=user, sim_url=sim_url)
    first["changed"] = generated.json()["created"]
    changed = requests.post(f"{sim_url}/_sim/calendars/primary/events/change",
                            json={"percent": changed_percent, "seed": 7}, timeout=600)
    changed.raise_for_status()
    second = sync_once(f"incremental sync, {changed_percent:g} % changed",
                       integration=integration, user=user, sim_url=sim_url)
    second["changed"] = changed.json()["changed"] + changed.json()["cancelled"]
    return [first, second]


def tenths(values: list[Any]) -> tuple[float, float]:
    """The mean of the first and of the last tenth of a run's events' values."""
    size = max(1, len(values) // 10)
    return mean(values[:size]), mean(values[-size:])


def constant(result: dict[str, Any]) -> bool:
    """Whether an event costs as many queries at the end of the run as at its start."""
    if not result["per_event"]:
        return True
    first, last = tenths(result["per_event"])
    return last <= first


def report(results: list[dict[str, Any]], *, database: str, events: int) -> list[str]:
    lines = [f"data:        {events} one-hour events in the simulator's calendar; "
             f"{results[-1]['changed']} changed by its owner before the incremental sync"]
    for result in results:
        applied = result["per_event"]
        fixed = result["queries"] - sum(applied)
        endpoints = ", ".join(f"{name} {n}" for name, n in sorted(result["endpoints"].items()))
        line = (f"{result['label']}: {result['status']}, {result['seconds']:.1f} s, "
                f"{result['events'] / result['seconds']:.0f} events/s; created "
                f"{result['created']}, updated {result['updated']}, deleted "
                f"{result['deleted']}, unchanged {result['unchanged']}, errors "
                f"{result['errors']}; {result['requests']} requests ({endpoints}), "
                f"{result['requests'] / max(1, result['changed']):.3f} per changed event; "
                f"{result['queries']} queries, "
                f"{result['queries'] / max(1, result['events']):.2f} per event")
        if applied:
            first, last = tenths(applied)
            first_ms, last_ms = (seconds * 1000 for seconds in tenths(result["event_seconds"]))
            line += (f" ({mean(applied):.2f} per event applied, min {min(applied)}, max "
                     f"{max(applied)}; first tenth {first:.2f}, last tenth {last:.2f}; "
                     f"{fixed} for the run itself); ms per event applied: first tenth "
                     f"{first_ms:.1f}, last tenth {last_ms:.1f}")
        lines.append(line)
    verdict = "yes" if all(constant(result) for result in results) else "NO"
    lines.append(f"queries per event constant (the last tenth of each run's events costs no "
                 f"more than its first tenth): {verdict}")
    lines.append(f"database:    {database}, {os.cpu_count()} cores, simulator in its own "
                 "process on the same machine")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--changed-percent", type=float, default=1.0)
    parser.add_argument("--write-results", action="store_true",
                        help=f"write the '{HEADING}' section of benchmarks/RESULTS.md")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="hub-bench-")
    configure_django(workdir)
    # Whatever the event services hand to the outbox stays there: no broker.
    outbox_without_broker()
    from django.db import connection

    with simulator_process("google", workdir) as sim_url:
        hub_point_at(sim_url)
        results = benchmark_run(sim_url=sim_url, events=args.events,
                                changed_percent=args.changed_percent)
    lines = report(results, database=connection.vendor, events=args.events)
    print("\n".join(lines))
    if args.write_results:
        results_section_write(HEADING, (
            f"`python benchmarks/calendar_sync.py --events {args.events} --changed-percent "
            f"{args.changed_percent:g}` ({time.strftime('%Y-%m-%d')}):\n\n```\n"
            + "\n".join(lines) + "\n```\n"))


if __name__ == "__main__":
    main()
