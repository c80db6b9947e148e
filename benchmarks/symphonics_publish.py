"""500 interventions published through the Symphonics simulator, under its quota.

    python benchmarks/symphonics_publish.py [--interventions 500] [--workers 4]
        [--limit 100] [--window 10] [--write-results]

Symphonics allows 100 requests a minute. Both sides here count the same 100
requests over a scaled window (`--window` seconds instead of 60: the
simulator's sliding window and the hub's SYMPHONICS_RATE_WINDOW_SECONDS), so
the run takes a minute instead of five. A fresh database (a temporary SQLite
file, or BENCH_DATABASE_URL — it is migrated and filled, so never point it
at real data) gets the interventions, each recorded as completed, which
enqueues its publication; a pool of worker threads then runs the outbox
(the same `operation_run` a Celery worker calls) until all are published.
The shared rate limiter is in-process, or Redis when REDIS_URL is set.

Reports, from the simulator's own request log:
  quota use    requests sent per request the quota allowed, over every
               window-long stretch of the run (see `quota_use`); 100 % is a
               client that sends each request the moment a slot frees
  busiest      the most requests any window held (never above the limit)
  429s         answers "rate limited" the simulator gave (target: zero)
and checks that every intervention was created exactly once.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from bisect import bisect_left
from datetime import timedelta

from common import configure_django, outbox_drain, outbox_without_broker, results_section_write

HEADING = "Symphonics publish"


def quota_use(times: list[float], limit: int, window: float, samples: int = 1000) -> float:
    """Requests sent per request allowed, over every window-long stretch of the run.

    The quota allows `limit` requests in any interval of `window` seconds;
    this averages, over such intervals starting evenly from the first
    request to one window before the last, the requests sent in each divided
    by `limit`. A client that sends the next request the moment a slot frees
    scores 100 %; the run's ramp-up and tail, where no client could fill a
    window, are left out.
    """
    first, last = times[0], times[-1] - window
    if last <= first:
        return len(times) / limit
    starts = (first + (last - first) * k / samples for k in range(samples + 1))
    sent = sum(bisect_left(times, t + window) - bisect_left(times, t) for t in starts)
    return sent / ((samples + 1) * limit)


def busiest_window(times: list[float], window: float) -> int:
    return max(bisect_left(times, t + window) - i for i, t in enumerate(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interventions", type=int, default=500)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--limit", type=int, default=100, help="requests per window")
    parser.add_argument("--window", type=float, default=10.0,
                        help="seconds standing for Symphonics' minute")
    parser.add_argument("--write-results", action="store_true",
                        help=f"write the '{HEADING}' section of benchmarks/RESULTS.md")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="hub-bench-")
    configure_django(workdir)

    from django.conf import settings
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from apps.core.models import OutboundOperation, SyncLog
    from apps.core.ratelimit import RateLimiter
    from apps.core.simulator import serve
    from apps.core.store import shared_store
    from apps.symphonics.client import PLATFORM, symphonics_platform
    from apps.symphonics.models import Intervention
    from apps.symphonics.services import intervention_create
    from apps.symphonics.simulator import build

    sim = build(hub_webhook_url=None, per_minute_limit=args.limit, window_seconds=args.window)
    running = serve(sim)
    settings.SYMPHONICS_API_URL = running.url
    settings.SYMPHONICS_RATE_LIMIT_PER_MINUTE = args.limit
    settings.SYMPHONICS_RATE_WINDOW_SECONDS = args.window
    # A window left over from an earlier run (on Redis) would skew the measure.
    for key, _, _ in RateLimiter(PLATFORM, symphonics_platform().rate_limits)._windows():
        shared_store().delete(key)

    outbox_without_broker()
    completed = timezone.now() - timedelta(hours=1)
    for i in range(args.interventions):
        ref = f"bench_{i:05d}"
        intervention_create(
            external_id=ref, customer_first_name="Bench", customer_last_name=f"Client {i}",
            customer_email=f"client{i}@example.com", customer_phone="+33612345678",
            address=f"{i} Rue des Fleurs", postal_code="75015", city="Paris",
            pdl="12345678901234", installer_user_id="usr_87654321", installer_name="Jean Dupont",
            completion_date=completed,
            services=[{"code": "BAR-TH-173", "name": "Régulation pièce par pièce",
                       "quantity": 1}],
            documents=[{"kind": kind, "name": f"{kind} {ref}",
                        "url": f"https://docs.example.com/{ref}/{kind}.pdf"}
                       for kind in ("invoice", "attestation_honneur")],
            photos=[{"kind": kind, "url": f"https://photos.example.com/{ref}/{kind}.jpg",
                     "latitude": 48.84, "longitude": 2.29, "taken_at": completed}
                    for kind in ("before", "after")],
            publish=True,
        )

    started = time.monotonic()
    outbox_drain(args.workers)
    wall = time.monotonic() - started
    running.stop()

    api = sorted(at for at, _, path in sim.requests if path != "/auth/token")
    use = quota_use(api, args.limit, args.window)
    statuses = dict(Intervention.objects.values_list("status").annotate(n=Count("id"))
                    .values_list("status", "n"))
    states = dict(OutboundOperation.objects.values_list("state").annotate(n=Count("id"))
                  .values_list("state", "n"))
    at_symphonics = len(sim.lifecycle.interventions)
    duplicates = sim.endpoint_requests["POST /crm/interventions"] - at_symphonics
    retried = SyncLog.objects.filter(status=SyncLog.Status.RETRY).count()
    lines = [
        f"interventions published:  {statuses.get('created', 0)} of {args.interventions} "
        f"(statuses {statuses}, outbox {states})",
        f"at Symphonics:            {at_symphonics} interventions, {duplicates} duplicate "
        "creates",
        f"requests sent:            {len(api)} (+{sim.token_requests} token request)",
        f"quota:                    {args.limit} per {args.window:g} s window on both sides "
        f"(standing for {args.limit}/minute)",
        f"quota use:                {use:.1%} (busiest window {busiest_window(api, args.window)}"
        f" of {args.limit})",
        f"429s received:            {sim.rate_limited_count} (hub retries logged: {retried})",
        f"wall time:                {wall:.1f} s for {len(api)} requests",
        f"workers, database, store: {args.workers} threads, {connection.vendor}, "
        f"{'Redis' if settings.REDIS_URL else 'in-process'} rate limiter",
    ]
    print("\n".join(lines))
    if args.write_results:
        write_results(lines, args)


def write_results(lines: list[str], args: argparse.Namespace) -> None:
    """Replace this benchmark's section of RESULTS.md, or append it; others stay."""
    section = (
        f"`python benchmarks/symphonics_publish.py --interventions {args.interventions} "
        f"--workers {args.workers} --limit {args.limit} --window {args.window:g}` "
        f"({time.strftime('%Y-%m-%d')}):\n\n```\n" + "\n".join(lines) + "\n```\n\n"
        "Target: above 95 % quota use and zero 429s. The hub keeps a margin of "
        "max(1 % of the window, 0.25 s) on each window so that network jitter cannot put "
        "into one of Symphonics' windows two requests it counted in two of its own; on a "
        "real minute that costs 1 % of the quota, on this scaled window about 2.5 %.\n"
    )
    results_section_write(HEADING, section)


if __name__ == "__main__":
    main()
