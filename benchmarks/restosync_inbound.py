"""RestoSync inbound: Zenchef booking webhooks through the core inbox to reservations.

    BENCH_DATABASE_URL=postgres://... python benchmarks/restosync_inbound.py
        [--events 10000] [--update-share 0.5] [--write-results]

One restaurant with a Zenchef configuration (webhook secret, reservations
synced). Every event is a signed `booking.created` or `booking.changed`
delivery with the full booking in it, as Zenchef's webhooks are parsed by
apps/restosync/connectors/zenchef/webhooks.py. Ingest: each is POSTed
through Django's test client to the configuration's channel,
/api/webhooks/zenchef/<connection id>/, which verifies, stores and answers
202 (the "process what is waiting" nudge is not sent: no broker). Then
`webhooks_process_waiting`, what the worker's task runs, applies them oldest
first: a create imports a new booking (customer, reservation, mapping, sync
state, audit row), an update changes the party size and comments of a
booking created earlier (chosen at random, so old and new ones alike).

Reports events per second for each stage and SQL queries per event, for
the first and the last 1,000 processed: by then the restaurant holds
thousands more reservations, customers and mappings, and the count must
not have grown with them. The query count of an event is everything from
its claim to its outcome; the batch look-up of waiting events (one per 200)
is only in the total.

The database is BENCH_DATABASE_URL (migrated and filled: never real data) or
a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
import tempfile
import time
from collections import Counter
from datetime import timedelta
from statistics import mean, median
from typing import Any
from zoneinfo import ZoneInfo

from common import configure_django, outbox_without_broker, results_section_write

HEADING = "RestoSync inbound"
WEBHOOK_SECRET = "bench-zenchef-secret"  # noqa: S105 - a benchmark constant
WINDOW = 1000


def booking(uid: str, n: int, *, start: Any, party: int, comments: str) -> dict[str, Any]:
    """A BookingViewModel as Zenchef sends it; its day and time spread over 60 days."""
    at = start + timedelta(days=1 + n % 60, minutes=15 * (n % 12))
    return {"uid": uid, "status": "ACCEPTED", "bookingDateTime": at.isoformat(),
            "bookingDuration": 120, "numberOfPeople": party, "firstName": f"Guest{n}",
            "lastName": "Bench", "telephone": f"+3247{n:07d}",
            "email": f"guest{n}@example.com", "comments": comments, "source": "widget",
            "externalReferenceId": None, "checkInDateTime": None, "checkOutDateTime": None,
            "tables": []}


def inbound_run(*, events: int, update_share: float = 0.5, seed: int = 11) -> dict[str, Any]:
    """Ingest then process `events` Zenchef deliveries; what each stage cost."""
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    import apps.restosync.webhooks  # noqa: F401 - registers the channel and the processor
    from apps.core import webhooks
    from apps.core.models import ExternalMapping, WebhookEvent
    from apps.restosync import services
    from apps.restosync.models import ENTITY_RESERVATION, Reservation
    from apps.restosync.webhooks import webhook_format

    fmt = webhook_format()
    if fmt.signature_encoding != "hex":
        raise SystemExit("the benchmark signs in hex: unset ZENCHEF_WEBHOOK")
    run = time.strftime("%Y%m%d%H%M%S")
    restaurant = services.restaurant_create(name=f"Bench {run}")
    config = services.platform_config_create(
        restaurant=restaurant, platform="zenchef", api_key=f"bench-key-{run}",
        restaurant_uid=f"bench-{run}", webhook_secret=WEBHOOK_SECRET,
        sync_entities=["reservation"])
    url = reverse("webhook-channel", kwargs={"platform": "zenchef",
                                             "connection_id": config.connection_id})
    client = Client(HTTP_HOST="localhost")

    queries = [0]

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    # Each event's kind is drawn up front: the first is a create, then an
    # update names any booking created before it.
    rng = random.Random(seed)
    created: list[int] = []
    plan: list[tuple[str, int]] = []
    for n in range(events):
        if created and rng.random() < update_share:
            plan.append(("update", rng.choice(created)))
        else:
            created.append(n)
            plan.append(("create", n))

    start = timezone.localtime(timezone.now(), ZoneInfo(restaurant.time_zone)).replace(
        hour=12, minute=0, second=0, microsecond=0)
    # Event times go forward, so no update is older than the state it follows.
    occurred = timezone.now() - timedelta(seconds=events // 100 + 60)
    ingest_queries: list[int] = []
    statuses: Counter[int] = Counter()
    seen: Counter[int] = Counter()
    with connection.execute_wrapper(count):
        started = time.monotonic()
        for n, (kind, target) in enumerate(plan):
            if kind == "update":
                seen[target] += 1
            body = booking(f"bench-{run}-{target}", target, start=start,
                           party=2 + seen[target] % 6,
                           comments=f"version {seen[target]}")
            event_id = f"evt-{run}-{n}"
            payload = json.dumps({
                "eventId": event_id,
                "event": "booking.created" if kind == "create" else "booking.changed",
                "restaurantUid": f"bench-{run}",
                "occurredAt": (occurred + timedelta(milliseconds=10 * n)).isoformat(),
                "booking": body}, separators=(",", ":")).encode()
            signature = fmt.signature_prefix + hmac.new(
                WEBHOOK_SECRET.encode(), payload, hashlib.sha256).hexdigest()
            before = queries[0]
            response = client.generic("POST", url, payload, content_type="application/json",
                                      headers={fmt.signature_header: signature,
                                               fmt.event_id_header: event_id})
            ingest_queries.append(queries[0] - before)
            statuses[response.status_code] += 1
        ingest_seconds = time.monotonic() - started

        processed: list[tuple[float, int, str]] = []
        kinds = {pk: plan[int(event_id.rsplit("-", 1)[1])][0] for pk, event_id in
                 WebhookEvent.objects.filter(connection=config.connection)
                 .values_list("pk", "event_id")}
        real_process = webhooks.webhook_process

        def process_counted(event_id: int):
            before = queries[0]
            event = real_process(event_id)
            processed.append((time.monotonic(), queries[0] - before, kinds[event_id]))
            return event

        # The worker's own loop, with each event's queries counted.
        webhooks.webhook_process = process_counted
        try:
            before_all = queries[0]
            started = time.monotonic()
            done = webhooks.webhooks_process_waiting(limit=events)
            process_seconds = time.monotonic() - started
            process_total = queries[0] - before_all
        finally:
            webhooks.webhook_process = real_process

    events_status = Counter(WebhookEvent.objects.filter(connection=config.connection)
                            .values_list("status", flat=True))
    return {
        "events": events, "creates": len(created), "updates": events - len(created),
        "responses": dict(statuses), "ingest_seconds": ingest_seconds,
        "ingest_queries": ingest_queries, "processed": done,
        "process_seconds": process_seconds, "process_total_queries": process_total,
        "process": processed, "event_status": dict(events_status),
        "reservations": Reservation.objects.filter(restaurant=restaurant).count(),
        "mappings": ExternalMapping.objects.filter(connection=config.connection,
                                                   entity_type=ENTITY_RESERVATION).count(),
    }


def window(rows: list[tuple[float, int, str]], previous: float | None) -> str:
    """Queries per event (by kind) and events/s of a slice of processed events."""
    per_kind = {kind: [q for _, q, k in rows if k == kind] for kind in ("create", "update")}
    span = rows[-1][0] - (previous if previous is not None else rows[0][0])
    rate = len(rows) / span if span > 0 else float("inf")
    kinds = ", ".join(f"{kind} {mean(qs):.2f} (median {median(qs):g}, max {max(qs)}, n={len(qs)})"
                      for kind, qs in per_kind.items() if qs)
    return f"{mean(q for _, q, _ in rows):.2f}/event; {kinds}; {rate:.0f} events/s"


def report(result: dict[str, Any], database: str) -> list[str]:
    rows = result["process"]
    size = min(WINDOW, len(rows))
    first, last = rows[:size], rows[-size:]
    before_last = rows[-size - 1][0] if len(rows) > size else None
    ingest = result["ingest_queries"]
    return [
        f"events:                 {result['events']} ({result['creates']} creates, "
        f"{result['updates']} updates), answers {result['responses']}",
        f"outcome:                {result['event_status']}; {result['reservations']} "
        f"reservations, {result['mappings']} mappings",
        f"ingest:                 {result['events'] / result['ingest_seconds']:.0f} events/s, "
        f"{mean(ingest):.2f} queries/event (median {median(ingest):g}, max {max(ingest)})",
        f"processing:             {result['processed'] / result['process_seconds']:.0f} "
        f"events/s over {result['process_seconds']:.1f} s, "
        f"{result['process_total_queries'] / max(result['processed'], 1):.2f} queries/event "
        "with the batch look-ups",
        f"first {size} processed: {window(first, None)}",
        f"last {size} processed:  {window(last, before_last)}",
        f"database:               {database}, {os.cpu_count()} cores",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--update-share", type=float, default=0.5,
                        help="share of events updating an earlier booking")
    parser.add_argument("--write-results", action="store_true",
                        help=f"write the '{HEADING}' section of benchmarks/RESULTS.md")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="hub-bench-")
    configure_django(workdir)
    from django.db import connection

    outbox_without_broker()
    from apps.core import webhooks

    webhooks._nudge = lambda: None  # no broker: the benchmark runs the worker's loop itself
    result = inbound_run(events=args.events, update_share=args.update_share)
    lines = report(result, connection.vendor)
    print("\n".join(lines))
    if args.write_results:
        results_section_write(HEADING, (
            f"`python benchmarks/restosync_inbound.py --events {args.events} "
            f"--update-share {args.update_share}` ({time.strftime('%Y-%m-%d')}):\n\n```\n"
            + "\n".join(lines) + "\n```\n"))


if __name__ == "__main__":
    main()
