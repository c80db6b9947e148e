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
"""

from __future__ import annotations

import contextvars
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
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from apps.core.http import OutcomeUnknownError, PermanentError, PlatformError
from apps.core.models import OutboundOperation
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


Handler = Callable[..., "Done | Reschedule"]

_handlers: dict[str, Handler] = {}
_policies: dict[str, OutboxRetryPolicy] = {}
_rng = random.Random()  # noqa: S311 - jitter, not security


def operation_handler(kind: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        _refuse_duplicate(_handlers, kind, func)
        _handlers[kind] = func
        return func

    return register


def register_retry_policy(platform: str, policy: OutboxRetryPolicy) -> None:
    _policies[platform] = policy


def retry_policy_for(platform: str) -> OutboxRetryPolicy:
    return _policies.get(platform, OutboxRetryPolicy())


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
) -> tuple[OutboundOperation, bool]:
    """Record the intent (once per key) and dispatch it after commit.

    Returns (operation, created). A second call with the same key returns
    the existing operation and sends nothing.
    """
    if kind not in _handlers:
        raise ValueError(f"no outbox handler registered for {kind!r}")
    existing = OutboundOperation.objects.filter(idempotency_key=idempotency_key).first()
    if existing:
        return existing, False
    try:
        # A savepoint, so a concurrent insert of the same key does not break
        # the caller's transaction.
        with transaction.atomic():
            operation = OutboundOperation.objects.create(
                platform=platform,
                kind=kind,
                idempotency_key=idempotency_key,
                payload=payload or {},
                entity_type=entity_type,
                entity_id=str(entity_id),
                next_attempt_at=run_at or timezone.now(),
            )
    except IntegrityError:
        return OutboundOperation.objects.get(idempotency_key=idempotency_key), False
    _dispatch_on_commit(operation.pk, run_at)
    return operation, True


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
    return current


# -- running ------------------------------------------------------------------

def _claimable(now: datetime) -> Q:
    due = Q(state__in=[State.PENDING, State.FAILED, State.UNKNOWN], next_attempt_at__lte=now)
    abandoned = Q(state=State.IN_FLIGHT, lease_expires_at__lt=now)
    return due | abandoned


def operation_claim(operation_id: int) -> OutboundOperation | None:
    """Take the operation for this worker, or None if it is not ours to run."""
    now = timezone.now()
    claimed = (
        OutboundOperation.objects.filter(pk=operation_id)
        .filter(_claimable(now))
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
                connection.close()
                continue
            if not renewed:
                logger.warning("Outbox operation %s: lease lost, no longer renewed",
                               operation_id)
                return
    finally:
        connection.close()


def _save(operation: OutboundOperation, **changes: Any) -> OutboundOperation:
    # Only the worker holding the lease may write the outcome: if the lease
    # was lost (a very slow call), another worker owns the operation now.
    updated = OutboundOperation.objects.filter(
        pk=operation.pk, state=State.IN_FLIGHT, attempts=operation.attempts
    ).update(lease_expires_at=None, **changes)
    if not updated:
        logger.warning("Outbox operation %s changed hands; outcome not saved", operation.pk)
    operation.refresh_from_db()
    return operation


def _finish_succeeded(operation: OutboundOperation, outcome: Done) -> OutboundOperation:
    return _save(operation, state=State.SUCCEEDED, result=outcome.result, failures=0,
                 needs_reconcile=False, completed_at=timezone.now(), next_attempt_at=None,
                 last_error="")


def _finish_dead(operation: OutboundOperation, error: str,
                 status_code: int | None = None) -> OutboundOperation:
    return _save(operation, state=State.DEAD, last_error=error[:4000],
                 last_status_code=status_code, next_attempt_at=None,
                 completed_at=timezone.now())


def _finish_failed(operation: OutboundOperation, exc: Exception, *, state: str
                   ) -> OutboundOperation:
    policy = retry_policy_for(operation.platform)
    failures = operation.failures + 1
    status_code = getattr(exc, "status_code", None)
    if failures >= policy.max_failures:
        operation = _save(operation, state=State.DEAD, failures=failures,
                          needs_reconcile=state == State.UNKNOWN or operation.needs_reconcile,
                          last_error=f"gave up after {failures} failures: {exc}"[:4000],
                          last_status_code=status_code, next_attempt_at=None)
        return operation
    delay = max(policy.delay(failures, _rng), getattr(exc, "retry_after", None) or 0)
    at = timezone.now() + timedelta(seconds=delay)
    operation = _save(operation, state=state, failures=failures, last_error=str(exc)[:4000],
                      needs_reconcile=state == State.UNKNOWN or operation.needs_reconcile,
                      last_status_code=status_code, next_attempt_at=at)
    _dispatch_on_commit(operation.pk, at)
    return operation


def _reschedule(operation: OutboundOperation, outcome: Reschedule) -> OutboundOperation:
    operation = _save(operation, state=State.PENDING, failures=0, next_attempt_at=outcome.at,
                      last_error=outcome.note)
    _dispatch_on_commit(operation.pk, outcome.at)
    return operation


# -- the sweep ----------------------------------------------------------------

# Operations due for longer than this are re-sent by the sweep; sooner ones
# are expected to arrive through their own delayed Celery message.
SWEEP_GRACE = timedelta(seconds=20)


def operations_due_ids(now: datetime | None = None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    return list(
        OutboundOperation.objects.filter(_claimable(now - SWEEP_GRACE) | Q(
            state=State.IN_FLIGHT, lease_expires_at__lt=now))
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
        _dispatch_on_commit(current.pk, at)
    return current
