"""A bare view and a benchmark webhook source, next to the hub's own URLs."""

from django.conf import settings
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


urlpatterns = [
    path("bench/bare/", bare),
    path("bench/webhook/", webhook_view(BENCH_SOURCE)),
    *hub_urlpatterns,
]
