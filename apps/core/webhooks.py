"""The inbox: inbound webhooks stored, verified, de-duplicated, then processed.

The receiving view does the least it can while the sender waits: it reads
the raw body however it is framed (refusing more than WEBHOOK_MAX_BODY_BYTES),
has the channel's verifier (apps.core.channels) check the proof in constant
time, checks the timestamp window, and stores the delivery in a single
INSERT whatever the verdict, so rejected deliveries stay visible. A rejected
delivery keeps only the start of its body, and those with an invalid
signature or token are throttled per source address, so forgeries cannot
fill the disk. An accepted event gets a unique `dedupe_key` (its id) and
`content_dedupe_key` (what was signed); a second delivery of the same event
is stored as a duplicate and answered 200 so the sender stops retrying.
Handshakes (Zoom's URL validation, Graph's validationToken) are answered and
not stored. Changes found by polling enter through `inbox_record_polled`,
with the same keys, so a change seen both ways is processed once.

Processing happens in a Celery task sent after the commit. A failed event is
due again after each delay of its channel's schedule, then dead with an
attention item, which a successful replay clears. The sweep re-sends events
whose task was lost, whose worker died, and whose retry is due. Old
rejected and finished rows are purged every night.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, IntegrityError, models, transaction
from django.db import connection as db_connection
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.csrf import csrf_exempt
from redis.exceptions import RedisError

from apps.core.api.errors import error_response
from apps.core.attention import attention_clear, attention_raise
from apps.core.channels import (
    FORGERY_CODES,
    WEBHOOK_RETRY_DELAYS,
    BodyHmac,
    Channel,
    Inbound,
    Verified,
    Verifier,
    WebhookRejected,
    channel_for,
    dedupe_prefix,
)
from apps.core.context import current_request_id, reset_request_id, set_request_id
from apps.core.models import Connection, CredentialsUnreadable, WebhookEvent
from apps.core.redaction import redact_headers
from apps.core.registry_names import refuse_duplicate as _refuse_duplicate
from apps.core.store import shared_store

logger = logging.getLogger(__name__)
Status = WebhookEvent.Status

__all__ = ["Channel", "WebhookRejected", "WebhookSource"]


@dataclass(frozen=True)
class WebhookSource(Channel):
    """The inbox's first scheme, kept as a shorthand: a hex HMAC of the body in
    `signature_header` (`sha256=<hex>` or bare hex) and the send time in the
    JSON. Any other scheme is a Channel with its verifier."""

    verifier: Verifier | None = None
    signature_header: str = ""
    signature_prefix: str = "sha256="
    timestamp_field: str = "timestamp"

    def __post_init__(self) -> None:
        if self.verifier is None:
            object.__setattr__(self, "verifier", BodyHmac(header=self.signature_header,
                                                          prefix=self.signature_prefix))


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


def _check(source: Channel, inbound: Inbound, secret: str) -> tuple[Verified, dict[str, Any]]:
    verified = source.verifier.verify(inbound, secret)
    if verified.payload is not None:
        # A bodiless scheme (Google's push): the verifier read the event elsewhere.
        payload = verified.payload
    else:
        try:
            payload = json.loads(inbound.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise WebhookRejected("invalid_body", "The body is not valid JSON.", 400) from exc
        if not isinstance(payload, dict):
            raise WebhookRejected("invalid_body", "The body must be a JSON object.", 400)
    # A time the scheme signs in a header wins over one in the body.
    sent_at = verified.sent_at
    if sent_at is None and source.timestamp_field:
        sent_at = source.timestamp(payload)
        if sent_at is None:
            raise WebhookRejected("missing_timestamp", "The event has no readable timestamp.",
                                  400)
    if sent_at is not None and abs(timezone.now() - sent_at) > source.tolerance:
        raise WebhookRejected(
            "stale_timestamp",
            f"The event timestamp is outside the "
            f"{int(source.tolerance.total_seconds() // 60)}-minute window.",
        )
    return verified, payload


def _unavailable(message: str, retry_after: int = 30) -> HttpResponse:
    response = error_response(503, "service_unavailable", message)
    response["Retry-After"] = str(retry_after)
    return response


def webhook_receive(source: Channel, request: HttpRequest, *,
                    connection: Connection | None = None) -> HttpResponse:
    """Verify, store and acknowledge one delivery to `source` (for `connection`)."""
    try:
        body = _read_body(request)
    except WebhookRejected as exc:
        # Too big (or unreadable) to store; logged so the refusal is not silent.
        logger.warning("%s webhook refused: %s", source.platform, exc.message)
        return error_response(exc.status, exc.code, exc.message)
    # request.headers, not a dict copy: header names are case-insensitive, and
    # a source may spell its signature header differently from Django.
    headers = request.headers
    inbound = Inbound(body=body, headers=headers, query=request.GET)
    try:
        # A handshake with no proof (Graph's validationToken) is answered and
        # not stored: it changes nothing, and anyone may send one.
        answer = source.verifier.challenge(inbound)
    except WebhookRejected as exc:
        return error_response(exc.status, exc.code, exc.message)
    if answer is not None:
        logger.info("%s webhook handshake answered", source.platform)
        return answer
    try:
        secret = source.secret_for(connection)
    except (CredentialsUnreadable, ImproperlyConfigured):
        # The key that encrypted them is gone (Connection.credentials() lets
        # decrypt_str's ImproperlyConfigured through, hence both). Our fault,
        # not the sender's: not acknowledged, so it is sent again.
        logger.error("%s webhook for %s not verified: its credentials are unreadable",
                     source.platform, connection)
        return _unavailable(_("The connection's credentials cannot be read; "
                              "send the event again later."), 300)
    body_sha256 = hashlib.sha256(body).hexdigest()
    stored = {
        "platform": source.platform,
        "connection": connection,
        "headers": redact_headers(dict(headers)),
        "body_bytes": len(body),
        "body_sha256": body_sha256,
        "remote_addr": request.META.get("REMOTE_ADDR") or None,
        "request_id": current_request_id(),
    }
    try:
        verified, payload = _check(source, inbound, secret)
        # A verified handshake (Zoom's URL validation) is answered, not stored:
        # it carries no change, and the platform repeats it every few days.
        answer = source.verifier.handshake(payload, secret)
    except WebhookRejected as exc:
        return _reject(source, exc, body, stored)
    if answer is not None:
        logger.info("%s webhook handshake answered", source.platform)
        return answer

    received_at = timezone.now()
    event_id = verified.event_id or source.event_id(headers, payload, body, received_at)
    event_type = str(payload.get(source.event_type_field) or "")[:120]
    content = verified.content
    content_sha256 = body_sha256 if content is body else hashlib.sha256(content).hexdigest()
    prefix = source.key_prefix(connection)
    # The event as processing reads it: the body, or for a bodiless scheme the
    # payload its verifier gave (canonical JSON, the content its key hashes).
    stored_body = (body.decode("utf-8", errors="replace") if verified.payload is None
                   else content.decode())
    stored.update(event_id=event_id, event_type=event_type, signature_valid=True,
                  received_at=received_at, body=stored_body)
    stored_first = _insert_accepted(
        status=Status.ACCEPTED, dedupe_key=f"{prefix}:{event_id}",
        content_dedupe_key=f"{prefix}:{content_sha256}{source.repeat_suffix(received_at)}",
        **stored)
    if not stored_first:
        WebhookEvent.objects.create(status=Status.DUPLICATE, **stored)
        return _acknowledge(source, event_id, duplicate=True)
    transaction.on_commit(_nudge)
    return _acknowledge(source, event_id, duplicate=False)


def _acknowledge(source: Channel, event_id: str, *, duplicate: bool) -> HttpResponse:
    if source.acknowledge is not None:
        return source.acknowledge(event_id, duplicate)
    if duplicate:
        return JsonResponse({"status": "duplicate", "event_id": event_id})
    return JsonResponse({"status": "accepted", "event_id": event_id}, status=202)


def _reject(source: Channel, exc: WebhookRejected, body: bytes,
            stored: dict[str, Any]) -> HttpResponse:
    signature_valid = exc.code not in FORGERY_CODES
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


def _rejection_wait(source: Channel, remote_addr: str | None) -> float:
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
    except (RedisError, DatabaseError):
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


@functools.cache
def _accepted_insert(vendor: str) -> tuple[str, tuple[tuple[str, Callable, models.Field], ...]]:
    """The INSERT of an accepted delivery, built once per process and database.

    The ORM builds and checks the same statement again for every delivery,
    which cost the sender more than the write itself (benchmarks/RESULTS.md,
    "Webhook ingest"). `ON CONFLICT DO NOTHING` (PostgreSQL, SQLite 3.35+)
    turns a clash on either unique key into no row returned, with no error
    and so no savepoint.
    """
    quote = db_connection.ops.quote_name
    fields = [f for f in WebhookEvent._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = (f"INSERT INTO {quote(WebhookEvent._meta.db_table)} ({columns}) "  # noqa: S608 - names
           f"VALUES ({placeholders}) ON CONFLICT DO NOTHING RETURNING {quote('id')}")
    return sql, tuple((f.name, _adapter(f), f) for f in fields)


def _adapter(field: models.Field) -> Callable[[Any], Any]:
    """What turns a value into a query parameter: the field's own preparation only
    where the driver cannot take the Python value as it is."""
    if isinstance(field, models.ForeignKey):
        return lambda value: value.pk if isinstance(value, models.Model) else value
    if isinstance(field, models.JSONField | models.DateTimeField):
        return lambda value: field.get_db_prep_save(value, db_connection)
    return lambda value: value


def _insert_accepted(**fields: Any) -> bool:
    """One INSERT (autocommit); False if this event, or this signed content
    under another id, was already received (either unique key clashes)."""
    sql, columns = _accepted_insert(db_connection.vendor)
    params = [adapt(fields[name] if name in fields else field.get_default())
              for name, adapt, field in columns]
    with db_connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


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


# What finds the channel and connection of a request: None when there is none.
Finder = Callable[[], "tuple[Channel, Connection | None] | None"]


def webhook_respond(request: HttpRequest, find: Finder) -> HttpResponse:
    """Receive a delivery for the channel and connection `find` returns."""
    if request.method != "POST":
        return error_response(405, "method_not_allowed", "Webhooks are POSTed.")
    try:
        found = find()
        if found is None:
            # Nothing is stored: an address that is no channel is nobody's inbox.
            return error_response(404, "not_found", _("No webhook channel at this address."))
        channel, connection = found
        return webhook_receive(channel, request, connection=connection)
    except DatabaseError:
        # Not stored, so not acknowledged: the platform keeps it and retries.
        logger.exception("A webhook to %s could not be stored", request.path)
        return _unavailable("The event could not be stored; send it again later.")


def webhook_view(source: Channel, *,
                 default_connection: bool = False) -> Callable[[HttpRequest], HttpResponse]:
    """A Django view receiving `source`'s webhooks (POST only).

    `default_connection`: the deliveries belong to the platform's default
    connection (a URL registered before connections existed).
    """

    def find() -> tuple[Channel, Connection | None]:
        if not default_connection:
            return source, None
        return source, Connection.objects.default_for(source.platform)

    @csrf_exempt
    def view(request: HttpRequest) -> HttpResponse:
        return webhook_respond(request, find)

    return view


@csrf_exempt
def webhook_channel_view(request: HttpRequest, platform: str,
                         connection_id: int) -> HttpResponse:
    """/api/webhooks/<platform>/<connection id>/: one connection's channel."""

    def find() -> tuple[Channel, Connection] | None:
        channel = channel_for(platform)
        if channel is None:
            return None
        connection = Connection.objects.filter(pk=connection_id, platform=platform).first()
        return None if connection is None else (channel, connection)

    return webhook_respond(request, find)


# -- polling ------------------------------------------------------------------

# Marks a change found by polling, in the event's headers (it came with
# none). A colon cannot be in an HTTP header's name, so no delivery can
# pretend to be polled (and skip its channel's fetch).
ORIGIN_HEADER = "hub:origin"
POLLED = "poll"


def inbox_record_polled(*, platform: str, connection: Connection | None, event_id: str,
                        event_type: str, payload: dict[str, Any]) -> WebhookEvent | None:
    """Store a change found by polling as an accepted event, processed like a
    webhook by the platform's processor; None if the inbox already has it.

    The keys are a webhook's: `event_id` (choose the one the platform's
    webhook of the same change carries, so whichever comes second is a
    duplicate) and a hash of the payload (give it the platform's version or
    update time, so a change back to an earlier state is a new event).
    A repeat is not stored: polls see the same change again and again.
    """
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    raw = body.encode()
    body_sha256 = hashlib.sha256(raw).hexdigest()
    prefix = dedupe_prefix(platform, connection)
    event = _insert_unless_duplicate(
        platform=platform, connection=connection, status=Status.ACCEPTED,
        event_id=event_id[:200], event_type=event_type[:120],
        dedupe_key=f"{prefix}:{event_id[:200]}", content_dedupe_key=f"{prefix}:{body_sha256}",
        headers={ORIGIN_HEADER: POLLED}, body=body, body_bytes=len(raw), body_sha256=body_sha256,
        # Read with the connection's own credentials: as proven as a signature.
        signature_valid=True, request_id=current_request_id())
    if event is not None:
        transaction.on_commit(_nudge)
    return event


def _polled(event: WebhookEvent) -> bool:
    return isinstance(event.headers, dict) and event.headers.get(ORIGIN_HEADER) == POLLED


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
    retry_due = Q(status=Status.FAILED, next_attempt_at__lte=now)
    return Q(status=Status.ACCEPTED) | abandoned | retry_due


class _ClaimLost(Exception):
    """Another worker took the event (ours outlived PROCESSING_TIMEOUT)."""


def _record_outcome(event: WebhookEvent, claimed_at: datetime, status: str, error: str,
                    next_attempt_at: datetime | None = None) -> None:
    """Write the outcome, only while the event is still ours to process."""
    updated = WebhookEvent.objects.filter(
        pk=event.pk, status=Status.PROCESSING, claimed_at=claimed_at,
    ).update(status=status, error=error, processed_at=timezone.now(),
             next_attempt_at=next_attempt_at)
    if not updated:
        raise _ClaimLost(event.pk)


DEAD_KIND = "webhook.dead"


def webhook_process(event_id: int) -> WebhookEvent | None:
    """Apply one accepted (or failed and due) event; claimed with a conditional update.

    The processor's changes and the event's new status commit together: a
    worker dying in between leaves neither, and the event is taken again.
    While it runs, the request id is the delivery's, so the audit rows the
    processor writes point back to the request that brought the event.
    """
    now = timezone.now()
    claimed = WebhookEvent.objects.filter(_claimable(now), pk=event_id).update(
        status=Status.PROCESSING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return None
    event = WebhookEvent.objects.get(pk=event_id)
    token = set_request_id(event.request_id or current_request_id())
    try:
        return _process_claimed(event, now)
    finally:
        reset_request_id(token)


def _process_claimed(event: WebhookEvent, claimed_at: datetime) -> WebhookEvent | None:
    channel = channel_for(event.platform)
    processor = _processors.get(event.platform)
    try:
        if processor is None:
            raise LookupError(f"no webhook processor for {event.platform}")
        payload = json.loads(event.body)
        if channel is not None and channel.fetch is not None and not _polled(event):
            # A thin webhook only names what changed: read it with the
            # connection's credentials, outside the transaction (HTTP).
            payload = channel.fetch(event=event, payload=payload)
        with transaction.atomic():
            outcome = processor(event, payload) or Status.PROCESSED
            _record_outcome(event, claimed_at, outcome, "")
            if event.attempts > 1:
                # A retry or a manager's replay that worked: nothing left to look at.
                attention_clear(kind=DEAD_KIND, subject=event)
    except _ClaimLost:
        logger.warning("Webhook event %s was taken by another worker; ours undone", event.pk)
        return None
    except Exception as exc:
        logger.exception("Webhook event %s (%s) failed", event.pk, event.event_type)
        delays = channel.retry_delays if channel is not None else WEBHOOK_RETRY_DELAYS
        try:
            _record_failure(event, claimed_at, f"{type(exc).__name__}: {exc}"[:4000], delays)
        except _ClaimLost:
            return None
    event.refresh_from_db()
    return event


def _record_failure(event: WebhookEvent, claimed_at: datetime, error: str,
                    delays: tuple[timedelta, ...]) -> None:
    """Failed: due again after the schedule's next delay, or dead after its last."""
    # attempts counts this one: the first failure waits delays[0].
    if event.attempts <= len(delays):
        _record_outcome(event, claimed_at, Status.FAILED, error,
                        next_attempt_at=timezone.now() + delays[event.attempts - 1])
        return
    with transaction.atomic():
        _record_outcome(event, claimed_at, Status.DEAD, error)
        attention_raise(
            domain=event.platform, kind=DEAD_KIND, subject=event,
            summary=gettext_noop(
                "%(platform)s event %(event)s failed %(attempts)d times: %(error)s"),
            values={"platform": event.platform, "event": event.event_type or event.event_id,
                    "attempts": event.attempts, "error": error[:150]},
            action_hint=gettext_noop(
                "Fix the cause, then replay the event from the webhook inbox."))


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
        current.next_attempt_at = None
        current.save(update_fields=["status", "next_attempt_at"])
        transaction.on_commit(lambda: _dispatch(current.pk))
    return current


# Accepted events older than this are assumed to have lost their task.
STUCK_AFTER = timedelta(minutes=2)


def webhooks_stuck_ids(limit: int = 500) -> list[int]:
    """Events the sweep sends to a worker: lost tasks, dead workers, retries due."""
    now = timezone.now()
    lost_task = Q(status=Status.ACCEPTED, received_at__lt=now - STUCK_AFTER)
    lost_worker = Q(status=Status.PROCESSING, claimed_at__lt=now - PROCESSING_TIMEOUT)
    retry_due = Q(status=Status.FAILED, next_attempt_at__lte=now)
    return list(
        WebhookEvent.objects.filter(lost_task | lost_worker | retry_due)
        .order_by("received_at").values_list("pk", flat=True)[:limit]
    )


# -- retention ----------------------------------------------------------------

# Which rows each retention setting covers. Accepted, processing, failed and
# dead events are never purged: they still need a worker or a manager's look.
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
