"""A bare view and a benchmark webhook source, next to the hub's own URLs."""

from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from apps.core.webhooks import WebhookSource, webhook_view
from config.urls import urlpatterns as hub_urlpatterns

BENCH_SOURCE = WebhookSource(
    platform="bench",
    secret=lambda: settings.BENCH_WEBHOOK_SECRET,
    signature_header="X-Bench-Signature",
    event_id_header="X-Bench-Event-Id",
)


@csrf_exempt
def bare(request):
    return HttpResponse(b'{"status": "ok"}', content_type="application/json")


FLOOR_TABLE = "bench_durable_write"


def floor_table_create() -> None:
    """The leanest durable row there is: a key and the body, nothing indexed."""
    key = ("id bigserial PRIMARY KEY" if connection.vendor == "postgresql"
           else "id INTEGER PRIMARY KEY")
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {FLOOR_TABLE} ({key}, body TEXT NOT NULL)")


@csrf_exempt
def durable_write_floor(request):
    """The bare view plus the one write any store-first inbox must make.

    No signature check, no ORM, no enqueue: what no inbox implementation can
    go below on this machine, so the target can be judged against it.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {FLOOR_TABLE} (body) VALUES (%s)",  # noqa: S608 - a constant
                       [request.body.decode("utf-8", "replace")])
    return HttpResponse(b'{"status": "ok"}', content_type="application/json")


urlpatterns = [
    path("bench/bare/", bare),
    path("bench/durable-write/", durable_write_floor),
    path("bench/webhook/", webhook_view(BENCH_SOURCE)),
    *hub_urlpatterns,
]
