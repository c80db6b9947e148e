"""The inbox: inbound webhooks stored, verified, de-duplicated, then processed.

The receiving view does the least it can while the sender waits: it reads
the raw body (refusing more than WEBHOOK_MAX_BODY_BYTES), checks the HMAC
signature in constant time and the timestamp window, and stores the
delivery in a single INSERT whatever the verdict, so rejected deliveries
stay visible. An accepted event gets a unique `dedupe_key`; a second
delivery of the same event is stored as a duplicate and answered 200 so
the sender stops retrying. Processing happens in a Celery task sent after
the commit; the sweep re-sends events whose task was lost, and events whose
worker died while processing them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from apps.core.api.errors import error_response
from apps.core.context import current_request_id
from apps.core.models import WebhookEvent
from apps.core.redaction import redact_headers

logger = logging.getLogger(__name__)
Status = WebhookEvent.Status


class WebhookRejected(Exception):
    def __init__(self, code: str, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class WebhookSource:
    """How one platform signs and identifies its webhooks."""

    platform: str
    secret: Callable[[], str]
    signature_header: str
    # Either "sha256=<hex>" or bare hex is accepted.
    signature_prefix: str = "sha256="
    event_id_header: str = ""
    event_id_field: str = "id"
    event_type_field: str = "event"
    timestamp_field: str = "timestamp"
    tolerance: timedelta = timedelta(minutes=5)

    def verify_signature(self, body: bytes, header_value: str) -> bool:
        secret = self.secret()
        if not secret or not header_value:
            return False
        expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
        given = header_value.strip()
        if self.signature_prefix and given.startswith(self.signature_prefix):
            given = given[len(self.signature_prefix):]
        # Compared as bytes: compare_digest refuses str with non-ASCII
        # characters, which a forged header may well hold.
        return hmac.compare_digest(expected.encode(), given.lower().encode("utf-8", "replace"))

    def event_id(self, headers: Mapping[str, str], payload: dict[str, Any], body: bytes) -> str:
        if self.event_id_header and headers.get(self.event_id_header):
            return headers[self.event_id_header][:200]
        if payload.get(self.event_id_field):
            return str(payload[self.event_id_field])[:200]
        # No id from the platform: an identical body is the same event.
        return "sha256:" + hashlib.sha256(body).hexdigest()

    def timestamp(self, payload: dict[str, Any]) -> datetime | None:
        """When the platform sent the event (aware), or None if unreadable."""
        value = payload.get(self.timestamp_field)
        try:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return datetime.fromtimestamp(value, tz=UTC)
            if isinstance(value, str):
                sent_at = parse_datetime(value)
                if sent_at is not None and timezone.is_naive(sent_at):
                    # ISO 8601 without an offset: platforms mean UTC.
                    sent_at = sent_at.replace(tzinfo=UTC)
                return sent_at
        except (ValueError, OverflowError, OSError):
            # An impossible date, or epoch milliseconds read as seconds.
            return None
        return None


WebhookHandler = Callable[[WebhookEvent, dict[str, Any]], str | None]

_processors: dict[str, WebhookHandler] = {}


def webhook_processor(platform: str) -> Callable[[WebhookHandler], WebhookHandler]:
    """Register the function that applies a platform's events.

    It receives the event and its parsed payload and returns the status to
    record: PROCESSED (default) or IGNORED for event types it does not know.
    """

    def register(func: WebhookHandler) -> WebhookHandler:
        _processors[platform] = func
        return func

    return register


# -- receiving ----------------------------------------------------------------

def _read_body(request: HttpRequest) -> bytes:
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise WebhookRejected("payload_too_large", f"Body larger than {limit} bytes.", 413)
    body = request.read(limit + 1)
    if len(body) > limit:
        raise WebhookRejected("payload_too_large", f"Body larger than {limit} bytes.", 413)
    return body


def _check(source: WebhookSource, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    if not source.verify_signature(body, headers.get(source.signature_header, "")):
        raise WebhookRejected("invalid_signature", "The webhook signature is invalid.")
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookRejected("invalid_body", "The body is not valid JSON.", 400) from exc
    if not isinstance(payload, dict):
        raise WebhookRejected("invalid_body", "The body must be a JSON object.", 400)
    sent_at = source.timestamp(payload)
    if sent_at is None:
        raise WebhookRejected("missing_timestamp", "The event has no readable timestamp.", 400)
    if abs(timezone.now() - sent_at) > source.tolerance:
        raise WebhookRejected(
            "stale_timestamp",
            f"The event timestamp is outside the "
            f"{int(source.tolerance.total_seconds() // 60)}-minute window.",
        )
    return payload


def webhook_receive(source: WebhookSource, request: HttpRequest) -> HttpResponse:
    try:
        body = _read_body(request)
    except WebhookRejected as exc:
        # Too big to store; logged so the refusal is not silent.
        logger.warning("%s webhook refused: %s", source.platform, exc.message)
        return error_response(exc.status, exc.code, exc.message)
    # request.headers, not a dict copy: header names are case-insensitive, and
    # a source may spell its signature header differently from Django.
    headers = request.headers
    stored = {
        "platform": source.platform,
        "headers": redact_headers(dict(headers)),
        "body": body.decode("utf-8", errors="replace"),
        "remote_addr": request.META.get("REMOTE_ADDR") or None,
        "request_id": current_request_id(),
    }
    try:
        payload = _check(source, body, headers)
    except WebhookRejected as exc:
        WebhookEvent.objects.create(status=Status.REJECTED, error=exc.message,
                                    signature_valid=exc.code != "invalid_signature", **stored)
        return error_response(exc.status, exc.code, exc.message)

    event_id = source.event_id(headers, payload, body)
    event_type = str(payload.get(source.event_type_field) or "")[:120]
    stored.update(event_id=event_id, event_type=event_type, signature_valid=True)
    event = _insert_unless_duplicate(status=Status.ACCEPTED,
                                     dedupe_key=f"{source.platform}:{event_id}", **stored)
    if event is None:
        WebhookEvent.objects.create(status=Status.DUPLICATE, **stored)
        return JsonResponse({"status": "duplicate", "event_id": event_id})
    transaction.on_commit(_nudge)
    return JsonResponse({"status": "accepted", "event_id": event_id}, status=202)


def _insert_unless_duplicate(**fields: Any) -> WebhookEvent | None:
    """One INSERT (autocommit); None if this event was already received."""
    try:
        if transaction.get_connection().in_atomic_block:
            # Inside a caller's transaction, a savepoint keeps it usable after a clash.
            with transaction.atomic():
                return WebhookEvent.objects.create(**fields)
        return WebhookEvent.objects.create(**fields)
    except IntegrityError:
        return None


def webhook_view(source: WebhookSource) -> Callable[[HttpRequest], HttpResponse]:
    """A Django view receiving `source`'s webhooks (POST only)."""

    @csrf_exempt
    def view(request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return error_response(405, "method_not_allowed", "Webhooks are POSTed.")
        try:
            return webhook_receive(source, request)
        except DatabaseError:
            # Not stored, so not acknowledged: the platform keeps it and retries.
            logger.exception("%s webhook could not be stored", source.platform)
            response = error_response(503, "service_unavailable",
                                      "The event could not be stored; send it again later.")
            response["Retry-After"] = "30"
            return response

    return view


# -- processing ---------------------------------------------------------------

def _dispatch(event_id: int) -> None:
    from apps.core.tasks import process_webhook

    process_webhook.delay(event_id)


# A Celery message per delivery would cost the sender more than storing it.
# Instead each web process sends at most one "process what is waiting" nudge
# per window, plus one trailing nudge due at the end of the window, so every
# committed event is picked up within NUDGE_WINDOW by a batch task.
NUDGE_WINDOW = 0.2
_clock = time.monotonic
_nudge_lock = threading.Lock()
_last_nudge = -NUDGE_WINDOW
_trailing_due = 0.0


def _nudge() -> None:
    from apps.core.tasks import process_waiting_webhooks

    global _last_nudge, _trailing_due
    if process_waiting_webhooks.app.conf.task_always_eager:
        # Eager tasks run at once and ignore countdowns: nothing to save.
        process_waiting_webhooks.delay()
        return
    now = _clock()
    with _nudge_lock:
        if now - _last_nudge >= NUDGE_WINDOW:
            _last_nudge = now
            countdown = None
        elif _trailing_due <= now:
            _trailing_due = _last_nudge + NUDGE_WINDOW
            countdown = _trailing_due - now
        else:
            return  # the trailing nudge already scheduled will see this event
    if countdown is None:
        process_waiting_webhooks.delay()
    else:
        process_waiting_webhooks.apply_async(countdown=countdown)


def webhooks_process_waiting(*, batch: int = 200, limit: int = 5000) -> int:
    """Process accepted events, oldest first, until none is left (bounded)."""
    done = 0
    while done < limit:
        ids = list(WebhookEvent.objects.filter(status=Status.ACCEPTED)
                   .order_by("received_at").values_list("pk", flat=True)[:batch])
        if not ids:
            break
        for event_id in ids:
            if webhook_process(event_id) is not None:
                done += 1
    return done


# Processing is one short transaction; an event still "processing" after this
# long lost its worker (killed mid-task: the redelivered message finds it
# claimed), and is taken again.
PROCESSING_TIMEOUT = timedelta(minutes=10)


def _claimable(now: datetime) -> Q:
    abandoned = Q(status=Status.PROCESSING, claimed_at__lt=now - PROCESSING_TIMEOUT)
    return Q(status=Status.ACCEPTED) | abandoned


class _ClaimLost(Exception):
    """Another worker took the event (ours outlived PROCESSING_TIMEOUT)."""


def _record_outcome(event: WebhookEvent, claimed_at: datetime, status: str, error: str) -> None:
    """Write the outcome, only while the event is still ours to process."""
    updated = WebhookEvent.objects.filter(
        pk=event.pk, status=Status.PROCESSING, claimed_at=claimed_at,
    ).update(status=status, error=error, processed_at=timezone.now())
    if not updated:
        raise _ClaimLost(event.pk)


def webhook_process(event_id: int) -> WebhookEvent | None:
    """Apply one accepted event; claimed with a conditional update.

    The processor's changes and the event's new status commit together: a
    worker dying in between leaves neither, and the event is taken again.
    """
    now = timezone.now()
    claimed = WebhookEvent.objects.filter(_claimable(now), pk=event_id).update(
        status=Status.PROCESSING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return None
    event = WebhookEvent.objects.get(pk=event_id)
    processor = _processors.get(event.platform)
    try:
        if processor is None:
            raise LookupError(f"no webhook processor for {event.platform}")
        with transaction.atomic():
            outcome = processor(event, json.loads(event.body)) or Status.PROCESSED
            _record_outcome(event, now, outcome, "")
    except _ClaimLost:
        logger.warning("Webhook event %s was taken by another worker; ours undone", event.pk)
        return None
    except Exception as exc:
        logger.exception("Webhook event %s (%s) failed", event.pk, event.event_type)
        try:
            _record_outcome(event, now, Status.FAILED, f"{type(exc).__name__}: {exc}"[:4000])
        except _ClaimLost:
            return None
    event.refresh_from_db()
    return event


def webhook_replay(*, event: WebhookEvent) -> WebhookEvent:
    """Process a stored event again (admin action). Never for unverified ones."""
    with transaction.atomic():
        # The status as it is now, not as the admin page read it.
        current = WebhookEvent.objects.select_for_update().get(pk=event.pk)
        if current.status in (Status.REJECTED, Status.DUPLICATE):
            raise ValueError("only verified, unique events can be replayed")
        if current.status == Status.PROCESSING:
            raise ValueError("the event is being processed right now")
        current.status = Status.ACCEPTED
        current.save(update_fields=["status"])
        transaction.on_commit(lambda: _dispatch(current.pk))
    return current


# Accepted events older than this are assumed to have lost their task.
STUCK_AFTER = timedelta(minutes=2)


def webhooks_stuck_ids(limit: int = 500) -> list[int]:
    now = timezone.now()
    lost_task = Q(status=Status.ACCEPTED, received_at__lt=now - STUCK_AFTER)
    lost_worker = Q(status=Status.PROCESSING, claimed_at__lt=now - PROCESSING_TIMEOUT)
    return list(
        WebhookEvent.objects.filter(lost_task | lost_worker)
        .order_by("received_at").values_list("pk", flat=True)[:limit]
    )
