"""The outbox: durable outbound operations, each performed exactly once.

A domain service calls `operation_enqueue()` inside the transaction that
makes the change; the operation row commits with it, and a Celery task is
sent only after the commit. Workers claim an operation with a conditional
UPDATE (no row locks held across the HTTP call) and a short lease, which
they renew while the handler runs (a heartbeat); when a worker dies, its
lease expires within OUTBOX_LEASE_SECONDS and the one-minute sweep hands
the operation to another worker, flagged `needs_reconcile`, because the
dead worker may have reached the platform.

Handlers are plain functions registered per `kind`:

    @operation_handler("dimona.declaration.send")
    def send_declaration(operation, *, reconcile: bool) -> Done | Reschedule: ...

They return Done(result) or Reschedule(at) (to poll later), or raise a
PlatformError: PermanentError kills the operation, TransientError retries
it on the platform's schedule, OutcomeUnknownError retries it with
`reconcile=True` so the handler checks the platform before resending.

A kind may declare its own retry schedule, an explicit list of delays
(`operation_handler(kind, retry_schedule=RetrySchedule(delays=(60, 300)))`);
kinds without one follow their platform's OutboxRetryPolicy.

Operations of one entity (the same entity_type and entity_id) run one at a
time, in the order they were enqueued: a claim is refused while an older
operation of the entity is open (pending, failed, unknown, in flight) or
dead, or while another one of the entity is in flight; when one finishes the
next is dispatched. A dead operation holds its entity's later ones back
until a manager retries it or marks it resolved (their order may matter:
an update sent before the create it follows would be refused or, worse,
applied to the wrong state). `supersedes=True` at enqueue (or declared for
the kind) retires older operations of the same kind and entity that have
not taken effect, since only the newest state needs sending.

The worker runs a handler under the request id of the request that
enqueued its operation, so the audit rows it writes trace back to it.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db import connection as db_connection
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from apps.core.attention import attention_clear, attention_raise
from apps.core.context import current_request_id, reset_request_id, set_request_id
from apps.core.errors import ServiceError
from apps.core.http import OutcomeUnknownError, PermanentError, PlatformError
from apps.core.models import Connection, OutboundOperation
from apps.core.registry_names import refuse_duplicate as _refuse_duplicate

logger = logging.getLogger(__name__)
State = OutboundOperation.State


@dataclass(frozen=True)
class Done:
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reschedule:
    """Not a failure: run again at `at` (polling for an asynchronous result)."""

    at: datetime
    note: str = ""


@dataclass(frozen=True)
class OutboxRetryPolicy:
    """When failed operations run again, per platform."""

    # Full-jitter exponential backoff between attempts, in seconds.
    base_delay: float = 30.0
    max_delay: float = 3600.0
    # After this many consecutive failures the operation is dead and waits
    # for a manager ("retry now" in the admin).
    max_failures: int = 8

    def delay(self, failures: int, rng: random.Random) -> float:
        ceiling = min(self.max_delay, self.base_delay * 2 ** max(failures - 1, 0))
        # Never sooner than half the ceiling: a failed call retried at once
        # would just fail again.
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class RetrySchedule:
    """A kind's own schedule: the delay before each retry, in seconds, then dead.

    `delays=(60, 300)` retries a minute after the first failure, five
    minutes after the second, and the third failure is final.
    """

    delays: tuple[float, ...]
    # Each delay is lengthened by up to this fraction, never shortened: the
    # operations one outage failed together do not all come back in the same
    # second, and none is retried sooner than the platform's contract says.
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if not self.delays or any(delay < 0 for delay in self.delays):
            raise ValueError("a retry schedule needs one or more delays, none negative")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter is a fraction of the delay, between 0 and 1")

    @property
    def max_failures(self) -> int:
        return len(self.delays) + 1

    def delay(self, failures: int, rng: random.Random) -> float:
        base = self.delays[min(failures, len(self.delays)) - 1]
        return base + rng.uniform(0, base * self.jitter) if self.jitter else base


class IdempotencyKeyReused(ServiceError):
    """The same key was enqueued before for another payload: a different intent."""

    def __init__(self, *, idempotency_key: str, existing: OutboundOperation) -> None:
        super().__init__(
            "idempotency_key_reused",
            str(_("This idempotency key was already used for a different request.")),
            details={"idempotency_key": idempotency_key, "operation_id": existing.pk},
            status=409,
        )
        self.existing = existing


Handler = Callable[..., "Done | Reschedule"]

_handlers: dict[str, Handler] = {}
_schedules: dict[str, RetrySchedule] = {}
_supersedes: dict[str, bool] = {}
_policies: dict[str, OutboxRetryPolicy] = {}
_rng = random.Random()  # noqa: S311 - jitter, not security


def operation_handler(kind: str, *, retry_schedule: RetrySchedule | None = None,
                      supersedes: bool = False) -> Callable[[Handler], Handler]:
    """Register the handler of `kind`, with its retry schedule and whether a
    newer operation of an entity retires its older pending ones by default."""
    def register(func: Handler) -> Handler:
        _refuse_duplicate(_handlers, kind, func)
        _handlers[kind] = func
        if retry_schedule is not None:
            _schedules[kind] = retry_schedule
        else:
            _schedules.pop(kind, None)
        _supersedes[kind] = supersedes
        return func

    return register


def register_retry_policy(platform: str, policy: OutboxRetryPolicy) -> None:
    _policies[platform] = policy


def retry_policy_for(platform: str) -> OutboxRetryPolicy:
    return _policies.get(platform, OutboxRetryPolicy())


def retry_schedule_for(operation: OutboundOperation) -> RetrySchedule | OutboxRetryPolicy:
    """The kind's own schedule, else its platform's policy."""
    return _schedules.get(operation.kind) or retry_policy_for(operation.platform)


def payload_hash(payload: dict[str, Any]) -> str:
    """SHA-256 of the payload's canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


# -- writing ------------------------------------------------------------------

def operation_enqueue(
    *,
    platform: str,
    kind: str,
    idempotency_key: str,
    payload: dict[str, Any] | None = None,
    entity_type: str = "",
    entity_id: str | int = "",
    run_at: datetime | None = None,
    connection: Connection | None = None,
    supersedes: bool | None = None,
) -> tuple[OutboundOperation, bool]:
    """Record the intent (once per key) and dispatch it after commit.

    Returns (operation, created). A second call with the same key and the
    same payload returns the existing operation and sends nothing; with
    another payload it raises IdempotencyKeyReused. `supersedes` (default:
    the kind's declaration) retires the entity's older operations of this
    kind that have not taken effect, in the same transaction.
    """
    if kind not in _handlers:
        raise ValueError(f"no outbox handler registered for {kind!r}")
    payload = payload or {}
    digest = payload_hash(payload)
    existing = OutboundOperation.objects.filter(idempotency_key=idempotency_key).first()
    if existing:
        return _same_intent(existing, digest), False
    if supersedes is None:
        supersedes = _supersedes.get(kind, False)
    try:
        # A savepoint, so a concurrent insert of the same key does not break
        # the caller's transaction, and the supersede goes with the insert.
        with transaction.atomic():
            operation = OutboundOperation.objects.create(
                platform=platform,
                connection=connection,
                kind=kind,
                idempotency_key=idempotency_key,
                payload=payload,
                payload_hash=digest,
                entity_type=entity_type,
                entity_id=str(entity_id),
                next_attempt_at=run_at or timezone.now(),
                request_id=current_request_id(),
            )
            if supersedes and operation.entity_type:
                _supersede_older(operation)
    except IntegrityError:
        existing = OutboundOperation.objects.get(idempotency_key=idempotency_key)
        return _same_intent(existing, digest), False
    _dispatch_on_commit(operation.pk, run_at)
    return operation, True


def _same_intent(existing: OutboundOperation, digest: str) -> OutboundOperation:
    # Rows enqueued before payloads were hashed have no hash to compare.
    if existing.payload_hash and existing.payload_hash != digest:
        raise IdempotencyKeyReused(idempotency_key=existing.idempotency_key, existing=existing)
    return existing


def _supersede_older(operation: OutboundOperation) -> int:
    """Retire the entity's older operations of this kind that cannot have taken
    effect: never run, or failed with a known outcome. Not those in flight,
    polling (rescheduled) or whose outcome is unknown: they run as usual."""
    not_started = Q(state=State.PENDING, attempts=0) | Q(state=State.FAILED,
                                                         needs_reconcile=False)
    return (
        OutboundOperation.objects.filter(
            kind=operation.kind, entity_type=operation.entity_type,
            entity_id=operation.entity_id, created_at__lte=operation.created_at)
        .exclude(pk=operation.pk)
        .filter(not_started)
        .update(state=State.SUPERSEDED, next_attempt_at=None, completed_at=timezone.now(),
                result={"superseded_by": operation.pk}, updated_at=timezone.now())
    )


def _dispatch_on_commit(operation_id: int, at: datetime | None = None) -> None:
    from apps.core.tasks import run_operation

    def send() -> None:
        if at and at > timezone.now():
            run_operation.apply_async((operation_id,), eta=at)
        else:
            run_operation.delay(operation_id)

    transaction.on_commit(send)


def _locked(operation: OutboundOperation) -> OutboundOperation:
    """The row as it is now, locked until the end of the caller's transaction.

    Manager actions decide on the current state, not on the copy the admin
    page read: a worker may have claimed the operation since.
    """
    return OutboundOperation.objects.select_for_update().get(pk=operation.pk)


def operation_retry_now(*, operation: OutboundOperation) -> OutboundOperation:
    """A manager's "retry now": dead or waiting operations run at once."""
    with transaction.atomic():
        current = _locked(operation)
        if current.state in (State.SUCCEEDED, State.IN_FLIGHT):
            raise ValueError(f"operation is {current.get_state_display().lower()}")
        current.state = State.FAILED if current.state == State.DEAD else current.state
        current.next_attempt_at, current.failures = timezone.now(), 0
        current.save(update_fields=["state", "next_attempt_at", "failures", "updated_at"])
        _attention_clear(current)
        _dispatch_on_commit(current.pk)
    return current


def operation_mark_resolved(*, operation: OutboundOperation, note: str) -> OutboundOperation:
    """A manager settled it by hand (e.g. declared on the portal)."""
    with transaction.atomic():
        current = _locked(operation)
        if current.state == State.IN_FLIGHT:
            raise ValueError("operation is in flight; wait for it to finish")
        current.state = State.SUCCEEDED
        current.completed_at = timezone.now()
        current.next_attempt_at = None
        current.result = {**current.result, "resolved_by_hand": note}
        current.save(update_fields=["state", "completed_at", "next_attempt_at", "result",
                                    "updated_at"])
        _attention_clear(current)
        # A dead operation held its entity's later ones back.
        _dispatch_next_of_entity(current)
    return current


# -- running ------------------------------------------------------------------

# What holds an entity's later operations back: an older one not finished
# yet, or a dead one a manager has not dealt with.
BLOCKING_STATES = (*OutboundOperation.OPEN_STATES, State.DEAD)


def _held_back() -> Exists:
    """True for an operation another one of its entity must go before or is
    running: an older open or dead one, or any one in flight (an older one
    enqueued in a transaction that committed late must still wait for it)."""
    return Exists(
        OutboundOperation.objects.filter(
            entity_type=OuterRef("entity_type"), entity_id=OuterRef("entity_id"),
            state__in=BLOCKING_STATES)
        .exclude(pk=OuterRef("pk"))
        .filter(Q(created_at__lt=OuterRef("created_at"))
                | Q(created_at=OuterRef("created_at"), pk__lt=OuterRef("pk"))
                | Q(state=State.IN_FLIGHT))
    )


def _in_turn() -> Q:
    return Q(entity_type="") | ~_held_back()


def _claimable(now: datetime) -> Q:
    due = Q(state__in=[State.PENDING, State.FAILED, State.UNKNOWN], next_attempt_at__lte=now)
    abandoned = Q(state=State.IN_FLIGHT, lease_expires_at__lt=now)
    return due | abandoned


def operation_claim(operation_id: int) -> OutboundOperation | None:
    """Take the operation for this worker, or None if it is not ours to run
    (not due, taken, or waiting for an older operation of its entity)."""
    now = timezone.now()
    # One conditional UPDATE: the turn of the entity is checked in the same
    # statement as the state, so no lock is held across the handler's call.
    claimed = (
        OutboundOperation.objects.filter(pk=operation_id)
        .filter(_claimable(now))
        .filter(_in_turn())
        .update(
            state=State.IN_FLIGHT,
            lease_expires_at=now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS),
            attempts=F("attempts") + 1,
            # An operation left in flight by a dead worker, or whose last
            # outcome is unknown, may have reached the platform.
            needs_reconcile=Case(
                When(state__in=[State.IN_FLIGHT, State.UNKNOWN], then=Value(True)),
                default=F("needs_reconcile"),
            ),
        )
    )
    if not claimed:
        return None
    return OutboundOperation.objects.get(pk=operation_id)


def operation_run(operation_id: int) -> OutboundOperation | None:
    """Claim and perform one operation; record what happened."""
    operation = operation_claim(operation_id)
    if operation is None:
        return None
    # The worker's audit rows and log lines carry the id of the request that
    # enqueued the operation (the heartbeat thread copies this context).
    token = set_request_id(operation.request_id or current_request_id())
    try:
        return _perform(operation)
    finally:
        reset_request_id(token)


def _perform(operation: OutboundOperation) -> OutboundOperation:
    handler = _handlers.get(operation.kind)
    if handler is None:
        return _finish_dead(operation, f"no handler for {operation.kind!r}")
    try:
        with _lease_heartbeat(operation):
            outcome = handler(operation, reconcile=operation.needs_reconcile)
    except PermanentError as exc:
        return _finish_dead(operation, str(exc), exc.status_code)
    except OutcomeUnknownError as exc:
        return _finish_failed(operation, exc, state=State.UNKNOWN)
    except PlatformError as exc:
        return _finish_failed(operation, exc, state=State.FAILED)
    except Exception as exc:
        # A bug or a database hiccup: keep the operation alive, retry later,
        # and make the traceback visible in the logs. The crash may have come
        # after the request went out, so the next attempt checks first.
        logger.exception("Outbox operation %s (%s) crashed", operation.pk, operation.kind)
        return _finish_failed(operation, exc, state=State.UNKNOWN)
    if isinstance(outcome, Reschedule):
        return _reschedule(operation, outcome)
    outcome = outcome or Done()
    try:
        json.dumps(outcome.result)
    except (TypeError, ValueError) as exc:
        # The call was made but its result cannot be stored: retried with a
        # check first, so it ends dead instead of crashing at every lease expiry.
        logger.exception("Outbox operation %s (%s): result not storable",
                         operation.pk, operation.kind)
        return _finish_failed(operation, exc, state=State.UNKNOWN)
    return _finish_succeeded(operation, outcome)


# Renewals per lease: a renewal or two may be lost to a slow database before
# another worker can take the operation.
HEARTBEATS_PER_LEASE = 3


@contextmanager
def _lease_heartbeat(operation: OutboundOperation) -> Iterator[None]:
    """Renew the operation's lease until the block ends.

    A daemon thread renews it on its own database connection, in autocommit:
    no transaction stays open across the handler's HTTP calls, and the
    handler's own transactions do not hold the renewals back.
    """
    stop = threading.Event()
    # The copied context carries the request id into the thread's log lines.
    beat = threading.Thread(
        target=contextvars.copy_context().run,
        args=(_renew_lease, operation.pk, operation.attempts, stop),
        name=f"outbox-lease-{operation.pk}", daemon=True,
    )
    beat.start()
    try:
        yield
    finally:
        stop.set()
        # Not waiting for ever on a renewal stuck in the database: a renewal
        # after the outcome is saved matches nothing (the same fence as _save).
        beat.join(timeout=settings.OUTBOX_LEASE_SECONDS)


def _renew_lease(operation_id: int, attempts: int, stop: threading.Event) -> None:
    lease = timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    try:
        while not stop.wait(lease.total_seconds() / HEARTBEATS_PER_LEASE):
            try:
                renewed = OutboundOperation.objects.filter(
                    pk=operation_id, state=State.IN_FLIGHT, attempts=attempts
                ).update(lease_expires_at=timezone.now() + lease)
            except DatabaseError:
                # The lease has room for the next beat to try on a new connection.
                logger.warning("Outbox operation %s: lease renewal failed", operation_id,
                               exc_info=True)
                db_connection.close()
                continue
            if not renewed:
                logger.warning("Outbox operation %s: lease lost, no longer renewed",
                               operation_id)
                return
    finally:
        db_connection.close()


def _save(operation: OutboundOperation, **changes: Any) -> bool:
    """Write the outcome if this worker still holds the lease; True if written."""
    # Only the worker holding the lease may write the outcome: if the lease
    # was lost (a very slow call), another worker owns the operation now.
    changes = {"lease_expires_at": None, **changes, "updated_at": timezone.now()}
    updated = OutboundOperation.objects.filter(
        pk=operation.pk, state=State.IN_FLIGHT, attempts=operation.attempts
    ).update(**changes)
    if not updated:
        logger.warning("Outbox operation %s changed hands; outcome not saved", operation.pk)
        operation.refresh_from_db()
        return False
    # What was written is what the row holds: no read back (a query per operation).
    for name, value in changes.items():
        setattr(operation, name, value)
    return True


def _finish_succeeded(operation: OutboundOperation, outcome: Done) -> OutboundOperation:
    if _save(operation, state=State.SUCCEEDED, result=outcome.result, failures=0,
             needs_reconcile=False, completed_at=timezone.now(), next_attempt_at=None,
             last_error=""):
        if operation.attempts > 1:
            # Only an operation run before can have been dead (then retried or
            # reopened); a first run saves the query.
            _attention_clear(operation)
        _dispatch_next_of_entity(operation)
    return operation


def _finish_dead(operation: OutboundOperation, error: str,
                 status_code: int | None = None) -> OutboundOperation:
    if _save(operation, state=State.DEAD, last_error=error[:4000],
             last_status_code=status_code, next_attempt_at=None,
             completed_at=timezone.now()):
        _attention_raise(operation)
    return operation


def _finish_failed(operation: OutboundOperation, exc: Exception, *, state: str
                   ) -> OutboundOperation:
    schedule = retry_schedule_for(operation)
    failures = operation.failures + 1
    status_code = getattr(exc, "status_code", None)
    needs_reconcile = state == State.UNKNOWN or operation.needs_reconcile
    if failures >= schedule.max_failures:
        if _save(operation, state=State.DEAD, failures=failures, needs_reconcile=needs_reconcile,
                 last_error=f"gave up after {failures} failures: {exc}"[:4000],
                 last_status_code=status_code, next_attempt_at=None):
            _attention_raise(operation)
        return operation
    delay = max(schedule.delay(failures, _rng), getattr(exc, "retry_after", None) or 0)
    at = timezone.now() + timedelta(seconds=delay)
    if _save(operation, state=state, failures=failures, last_error=str(exc)[:4000],
             needs_reconcile=needs_reconcile, last_status_code=status_code, next_attempt_at=at):
        _dispatch_on_commit(operation.pk, at)
    return operation


def _reschedule(operation: OutboundOperation, outcome: Reschedule) -> OutboundOperation:
    if _save(operation, state=State.PENDING, failures=0, next_attempt_at=outcome.at,
             last_error=outcome.note):
        _dispatch_on_commit(operation.pk, outcome.at)
    return operation


def _dispatch_next_of_entity(operation: OutboundOperation) -> None:
    """Send the entity's next operation, now that this one no longer holds it back."""
    if not operation.entity_type:
        return
    following = (
        OutboundOperation.objects.filter(
            entity_type=operation.entity_type, entity_id=operation.entity_id,
            state__in=BLOCKING_STATES)
        .exclude(pk=operation.pk)
        .order_by("created_at", "pk")
        .values_list("pk", "state", "next_attempt_at")
        .first()
    )
    # An in-flight or dead one ahead keeps the turn; the in-flight one
    # dispatches the next when it finishes, the dead one waits for a manager.
    if following and following[1] in (State.PENDING, State.FAILED, State.UNKNOWN):
        _dispatch_on_commit(following[0], following[2])


DEAD_KIND = "outbox.dead"


def _attention_raise(operation: OutboundOperation) -> None:
    attention_raise(
        domain=operation.platform, kind=DEAD_KIND, subject=operation,
        summary=gettext_noop("%(kind)s %(key)s gave up: %(error)s"),
        values={"kind": operation.kind, "key": operation.idempotency_key,
                "error": operation.last_error},
        action_hint=gettext_noop("Fix the cause, then \"retry now\"; or \"mark resolved\" if "
                                 "it was done by hand. Later operations of the same entity "
                                 "wait."))


def _attention_clear(operation: OutboundOperation) -> None:
    attention_clear(kind=DEAD_KIND, subject=operation)


# -- the sweep ----------------------------------------------------------------

# Operations due for longer than this are re-sent by the sweep; sooner ones
# are expected to arrive through their own delayed Celery message.
SWEEP_GRACE = timedelta(seconds=20)


def operations_due_ids(now: datetime | None = None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    return list(
        OutboundOperation.objects.filter(_claimable(now - SWEEP_GRACE) | Q(
            state=State.IN_FLIGHT, lease_expires_at__lt=now))
        # Those waiting for an older operation of their entity would only be
        # refused; the older one dispatches them when it finishes.
        .filter(_in_turn())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def operation_reopen(*, operation: OutboundOperation, at: datetime | None = None
                     ) -> OutboundOperation:
    """Run a finished operation's handler once more (e.g. "poll now")."""
    at = at or timezone.now()
    with transaction.atomic():
        current = _locked(operation)
        if current.state == State.IN_FLIGHT:
            raise ValueError("operation is in flight; wait for it to finish")
        current.state, current.next_attempt_at = State.PENDING, at
        current.failures, current.completed_at = 0, None
        current.save(update_fields=["state", "next_attempt_at", "failures", "completed_at",
                                    "updated_at"])
        _attention_clear(current)
        _dispatch_on_commit(current.pk, at)
    return current
