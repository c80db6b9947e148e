"""The inbox: inbound webhooks stored, verified, de-duplicated, then processed.

The receiving view does the least it can while the sender waits: it reads
the raw body however it is framed (refusing more than WEBHOOK_MAX_BODY_BYTES),
checks the HMAC signature in constant time and the timestamp window, and
stores the delivery in a single INSERT whatever the verdict, so rejected
deliveries stay visible. A rejected delivery keeps only the start of its
body, and those with an invalid signature are throttled per source address,
so forgeries cannot fill the disk. An accepted event gets a unique
`dedupe_key` (its id) and `content_dedupe_key` (what was signed); a second
delivery of the same event is stored as a duplicate and answered 200 so
the sender stops retrying. Processing happens in a Celery task sent after
the commit; the sweep re-sends events whose task was lost, and events whose
worker died while processing them. Old rejected and finished rows are
purged every night.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import math
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
from redis.exceptions import RedisError

from apps.core.api.errors import error_response
from apps.core.context import current_request_id
from apps.core.models import WebhookEvent
from apps.core.redaction import redact_headers
from apps.core.registry_names import refuse_duplicate as _refuse_duplicate
from apps.core.store import shared_store

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

    def signed_content(self, body: bytes, headers: Mapping[str, str]) -> bytes:
        """What the signature covers: the body here; a scheme that also signs a
        timestamp header (`t.body`) returns that instead."""
        return body

    def verify_signature(self, content: bytes, header_value: str) -> bool:
        """Check `header_value` against the HMAC of `signed_content(...)`."""
        secret = self.secret()
        if not secret or not header_value:
            return False
        expected = hmac.new(secret.encode("utf-8"), content, hashlib.sha256).hexdigest()
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
        _refuse_duplicate(_processors, platform, func)
        _processors[platform] = func
        return func

    return register


# -- receiving ----------------------------------------------------------------

# A rejected delivery keeps this much of its body (its size and SHA-256 are
# kept too): enough to see what was sent, too little to fill the disk.
REJECTED_BODY_KEPT = 2048


def _read_body(request: HttpRequest) -> bytes:
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    too_large = WebhookRejected("payload_too_large", f"Body larger than {limit} bytes.", 413)
    meta = request.META
    chunked = "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
    # Only under WSGI: Django's ASGI handler reads such a body itself.
    if chunked and not meta.get("CONTENT_LENGTH") and "wsgi.input" in meta:
        body = _read_chunked(meta, limit + 1)
    else:
        try:
            declared = int(request.headers.get("Content-Length") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            raise too_large
        body = request.read(limit + 1)
    if len(body) > limit:
        raise too_large
    return body


def _read_chunked(meta: Mapping[str, Any], at_most: int) -> bytes:
    """A body without Content-Length, which Django reads as empty.

    Only a server that de-chunks the input and ends it with the body says so
    with `wsgi.input_terminated` (gunicorn does); elsewhere the input may be
    the raw connection, where reading to the end would wait for a sender who
    is waiting for us.
    """
    if not meta.get("wsgi.input_terminated"):
        raise WebhookRejected("length_required",
                              "A chunked body cannot be read here; send a Content-Length.", 411)
    stream, parts, size = meta["wsgi.input"], [], 0
    while size < at_most:
        part = stream.read(at_most - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _check(source: WebhookSource, content: bytes, body: bytes,
           headers: Mapping[str, str]) -> dict[str, Any]:
    if not source.verify_signature(content, headers.get(source.signature_header, "")):
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
        # Too big (or unreadable) to store; logged so the refusal is not silent.
        logger.warning("%s webhook refused: %s", source.platform, exc.message)
        return error_response(exc.status, exc.code, exc.message)
    # request.headers, not a dict copy: header names are case-insensitive, and
    # a source may spell its signature header differently from Django.
    headers = request.headers
    body_sha256 = hashlib.sha256(body).hexdigest()
    stored = {
        "platform": source.platform,
        "headers": redact_headers(dict(headers)),
        "body_bytes": len(body),
        "body_sha256": body_sha256,
        "remote_addr": request.META.get("REMOTE_ADDR") or None,
        "request_id": current_request_id(),
    }
    content = source.signed_content(body, headers)
    try:
        payload = _check(source, content, body, headers)
    except WebhookRejected as exc:
        return _reject(source, exc, body, stored)

    event_id = source.event_id(headers, payload, body)
    event_type = str(payload.get(source.event_type_field) or "")[:120]
    content_sha256 = body_sha256 if content is body else hashlib.sha256(content).hexdigest()
    stored.update(event_id=event_id, event_type=event_type, signature_valid=True,
                  body=body.decode("utf-8", errors="replace"))
    event = _insert_unless_duplicate(status=Status.ACCEPTED,
                                     dedupe_key=f"{source.platform}:{event_id}",
                                     content_dedupe_key=f"{source.platform}:{content_sha256}",
                                     **stored)
    if event is None:
        WebhookEvent.objects.create(status=Status.DUPLICATE, **stored)
        return JsonResponse({"status": "duplicate", "event_id": event_id})
    transaction.on_commit(_nudge)
    return JsonResponse({"status": "accepted", "event_id": event_id}, status=202)


def _reject(source: WebhookSource, exc: WebhookRejected, body: bytes,
            stored: dict[str, Any]) -> HttpResponse:
    signature_valid = exc.code != "invalid_signature"
    if not signature_valid:
        wait = _rejection_wait(source, stored["remote_addr"])
        if wait:
            retry_after = max(1, math.ceil(wait))
            response = error_response(
                429, "throttled",
                "Too many deliveries with an invalid signature from this address; "
                "try again later.", {"retry_after": retry_after})
            response["Retry-After"] = str(retry_after)
            return response
    WebhookEvent.objects.create(status=Status.REJECTED, error=exc.message,
                                signature_valid=signature_valid, body=_body_head(body), **stored)
    return error_response(exc.status, exc.code, exc.message)


def _body_head(body: bytes) -> str:
    """The start of a rejected body as text, within REJECTED_BODY_KEPT bytes once stored."""
    # PostgreSQL text cannot hold NUL, which a forged body may well contain.
    text = body[:REJECTED_BODY_KEPT].decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    # Each undecodable byte became a three-byte replacement character: cut again.
    return text.encode("utf-8")[:REJECTED_BODY_KEPT].decode("utf-8", errors="ignore")


def _throttle_key(remote_addr: str | None) -> str:
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return "unknown"
    if address.version == 6:
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        # An IPv6 sender usually holds a whole /64: counted per address, it
        # would get a fresh quota with every one it picks.
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _rejection_wait(source: WebhookSource, remote_addr: str | None) -> float:
    """Count one more forged delivery from this address; or, past the limit,
    the seconds until one may be stored again (nothing is counted then)."""
    limit = settings.WEBHOOK_REJECTED_PER_ADDRESS_LIMIT
    if limit <= 0:
        return 0.0
    window = settings.WEBHOOK_REJECTED_PER_ADDRESS_WINDOW_SECONDS
    sender = _throttle_key(remote_addr)
    key = f"webhooks:rejected:{sender}"
    store = shared_store()
    try:
        wait = store.sliding_window_acquire([(key, limit, window)])
        # One line when an address starts being refused, not one per delivery
        # (a flood would otherwise fill the logs instead of the database).
        logged = bool(wait) and store.add(f"{key}:logged", "1", ttl=wait)
    except RedisError:
        # The count guards the disk; it is no reason to answer a sender 500.
        # The rejected delivery is stored (truncated) as if it were counted.
        logger.warning("%s webhooks: the rejection count is unavailable", source.platform,
                       exc_info=True)
        return 0.0
    if logged:
        logger.warning(
            "%s webhooks: more than %d deliveries with an invalid signature from %s in %d s; "
            "further ones are answered 429 and not stored for the next %d s",
            source.platform, limit, sender, window, math.ceil(wait))
    return wait


def _insert_unless_duplicate(**fields: Any) -> WebhookEvent | None:
    """One INSERT (autocommit); None if this event, or this signed content
    under another id, was already received (either unique key clashes)."""
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


# -- retention ----------------------------------------------------------------

# Which rows each retention setting covers. Accepted, processing and failed
# events are never purged: they still need a worker or a manager's look.
_RETENTION = {
    "rejected": ("WEBHOOK_REJECTED_RETENTION_DAYS", [Status.REJECTED]),
    "processed": ("WEBHOOK_PROCESSED_RETENTION_DAYS",
                  [Status.PROCESSED, Status.IGNORED, Status.DUPLICATE]),
}


def webhooks_purge(*, batch: int = 500, limit: int = 100_000) -> dict[str, int]:
    """Delete rejected and finished deliveries older than their retention period.

    Oldest first, `batch` rows per short transaction (each walks the
    (status, received_at) index), at most `limit` rows of each kind per run;
    what is left waits for the next run.
    """
    now = timezone.now()
    deleted = {}
    for kind, (setting, statuses) in _RETENTION.items():
        cutoff = now - timedelta(days=getattr(settings, setting))
        count = 0
        for status in statuses:
            while count < limit:
                ids = list(WebhookEvent.objects
                           .filter(status=status, received_at__lt=cutoff)
                           .order_by("received_at")
                           .values_list("pk", flat=True)[:min(batch, limit - count)])
                if not ids:
                    break
                # Only the keys are loaded: bodies can be a mebibyte each, and
                # the delete needs no more to clear links to them (SET_NULL).
                _, per_model = WebhookEvent.objects.filter(pk__in=ids).only("pk").delete()
                count += per_model.get(WebhookEvent._meta.label, 0)
        deleted[kind] = count
    return deleted
