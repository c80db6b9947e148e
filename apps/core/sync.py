"""Sync runs, cursors and external mappings: the services every sync and import shares.

A run is started, counted while the domain works, and finished:

    run, started = sync_run_start(kind="tuniclaim.import", connection=connection)
    if not started:
        return run  # one is already running: the trigger gets it back
    with SyncRunRecorder(run) as recorder:
        for page in pages:
            recorder.add(bulk_upsert(...))
            recorder.advance(len(page))

At most one run per kind and connection is running: the database's partial
unique constraint decides, so two triggers at the same moment (the hourly
beat and a manager's click) make one run, never two.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from types import TracebackType
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from apps.core.bulk import UpsertResult, content_hash
from apps.core.errors import ServiceError
from apps.core.models import Connection, ExternalMapping, SyncCursor, SyncRun

logger = logging.getLogger(__name__)

# A run still "running" this long after it started is taken to be one whose
# worker died (a killed process cannot finish its run); the next start of
# the same kind and connection closes it as an error. Two hours is several
# times the longest full resync we expect (50,000 claims import in minutes),
# so a live run is not cut short.
SYNC_RUN_TIMEOUT = timedelta(hours=2)
# The first errors of a run are kept, each with its record: enough for a
# manager to see what is wrong without the run storing every failure of a
# bad import.
ERROR_SAMPLES_MAX = 20
# A recorder writes its counts every this many records (one UPDATE), so the
# admin's progress bar moves during a long run at a small cost.
RECORDER_FLUSH_EVERY = 200

COUNTERS = ("created", "updated", "unchanged", "deleted", "invalid", "errors")


# --- Runs -------------------------------------------------------------------

def sync_run_start(*, kind: str, connection: Connection,
                   trigger: str = SyncRun.Trigger.AUTOMATIC, user=None,
                   total: int | None = None, direction: str = "",
                   timeout: timedelta = SYNC_RUN_TIMEOUT) -> tuple[SyncRun, bool]:
    """Start a run, or get back the one already running (and False).

    A run left running for longer than `timeout` is closed as an error first.
    """
    _close_stale_run(kind=kind, connection=connection, timeout=timeout)
    # The row the constraint refused may finish before we read it: then the
    # next insert succeeds. Three rounds cover any realistic interleaving.
    for _attempt in range(3):
        try:
            with transaction.atomic():
                run = SyncRun.objects.create(
                    kind=kind, connection=connection, trigger=trigger, triggered_by=user,
                    direction=direction, progress_total=total)
            return run, True
        except IntegrityError:
            running = SyncRun.objects.filter(kind=kind, connection=connection,
                                             status=SyncRun.Status.RUNNING).first()
            if running is not None:
                return running, False
    raise ServiceError("SYNC_RUN_BUSY", gettext("The run could not be started; try again."),
                       status=409)


def _close_stale_run(*, kind: str, connection: Connection, timeout: timedelta) -> None:
    now = timezone.now()
    stale = SyncRun.objects.filter(kind=kind, connection=connection,
                                   status=SyncRun.Status.RUNNING,
                                   started_at__lt=now - timeout).first()
    if stale is None:
        return
    message = gettext("Closed: still running %(minutes)d minutes after it started, its worker "
                      "is presumed dead.") % {"minutes": timeout.total_seconds() // 60}
    closed = SyncRun.objects.filter(pk=stale.pk, status=SyncRun.Status.RUNNING).update(
        status=SyncRun.Status.ERROR, finished_at=now,
        error_samples=[*stale.error_samples, {"record": "", "message": message}])
    if closed:
        logger.warning("sync run %s (%s) closed as dead after %s", stale.pk, kind, timeout)


def sync_run_progress(*, run: SyncRun, done: int | None = None, advance: int = 0,
                      total: int | None = None) -> None:
    """Set (`done`) or move on (`advance`) the progress; `total` once it is known."""
    fields: dict[str, Any] = {}
    if done is not None:
        fields["progress_done"] = done
    elif advance:
        fields["progress_done"] = F("progress_done") + advance
    if total is not None:
        fields["progress_total"] = total
    if fields:
        SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING).update(**fields)


def sync_run_count(*, run: SyncRun, created: int = 0, updated: int = 0, unchanged: int = 0,
                   deleted: int = 0, invalid: int = 0, errors: int = 0,
                   samples: list[dict[str, str]] | tuple = (), advance: int = 0) -> None:
    """Add to the run's counters (safe when several workers count into one run)
    and keep the error samples while there is room for them."""
    increments = {"created": created, "updated": updated, "unchanged": unchanged,
                  "deleted": deleted, "invalid": invalid, "errors": errors,
                  "progress_done": advance}
    fields: dict[str, Any] = {name: F(name) + n for name, n in increments.items() if n}
    with transaction.atomic():
        if samples:
            # Locked so that two workers adding samples do not drop each other's.
            kept = (SyncRun.objects.select_for_update().values_list("error_samples", flat=True)
                    .get(pk=run.pk))
            room = ERROR_SAMPLES_MAX - len(kept)
            if room > 0:
                fields["error_samples"] = [*kept, *samples[:room]]
        if fields:
            SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING).update(**fields)


def sync_run_finish(*, run: SyncRun, error: str | None = None) -> SyncRun:
    """Close the run: error when `error` is given, partial when some records were
    invalid or failed, success otherwise. A run already closed (as dead, by
    a later start) stays as it was."""
    with transaction.atomic():
        current = SyncRun.objects.select_for_update().get(pk=run.pk)
        if current.status != SyncRun.Status.RUNNING:
            logger.warning("sync run %s finished after it was closed as %s", run.pk,
                           current.status)
            return current
        if error is not None:
            current.status = SyncRun.Status.ERROR
            # The reason the run stopped is kept even when the samples are full.
            current.error_samples = [*current.error_samples, {"record": "", "message": error}]
        elif current.invalid or current.errors:
            current.status = SyncRun.Status.PARTIAL
        else:
            current.status = SyncRun.Status.SUCCESS
        current.finished_at = timezone.now()
        current.save(update_fields=["status", "error_samples", "finished_at"])
    return current


class SyncRunRecorder:
    """What a domain counts while it works, written to its run now and then.

    Used as a context manager it finishes the run: with an error if the
    block raised (and the exception goes on), by its counts otherwise.
    """

    def __init__(self, run: SyncRun, *, flush_every: int = RECORDER_FLUSH_EVERY) -> None:
        self.run = run
        self.flush_every = flush_every
        self._counts = dict.fromkeys(COUNTERS, 0)
        self._advance = 0
        self._samples: list[dict[str, str]] = []
        self._pending = 0
        self._sampled = len(run.error_samples)

    def count(self, outcome: str, n: int = 1) -> None:
        if outcome not in self._counts:
            raise ValueError(f"unknown counter {outcome!r}; one of {', '.join(COUNTERS)}")
        self._counts[outcome] += n
        self._note(n)

    def add(self, result: UpsertResult) -> None:
        """The counts of one `bulk_upsert`."""
        self._counts["created"] += result.created
        self._counts["updated"] += result.updated
        self._counts["unchanged"] += result.unchanged
        self._note(result.created + result.updated + result.unchanged)

    def invalid(self, *, record: str, message: str) -> None:
        """A record refused by validation (quarantined, not retried)."""
        self._fail("invalid", record, message)

    def error(self, *, record: str, message: str) -> None:
        """A record that failed to be written or sent."""
        self._fail("errors", record, message)

    def advance(self, n: int = 1) -> None:
        self._advance += n
        self._note(n)

    def flush(self) -> None:
        sync_run_count(run=self.run, samples=self._samples, advance=self._advance,
                       **self._counts)
        self._counts = dict.fromkeys(COUNTERS, 0)
        self._advance = 0
        self._samples = []
        self._pending = 0

    def finish(self, *, error: str | None = None) -> SyncRun:
        self.flush()
        self.run = sync_run_finish(run=self.run, error=error)
        return self.run

    def __enter__(self) -> SyncRunRecorder:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.finish(error=None if exc is None else f"{exc_type.__name__}: {exc}"[:1000])

    def _fail(self, counter: str, record: str, message: str) -> None:
        self._counts[counter] += 1
        # Counted here too, so a run with thousands of failures does not take
        # a row lock per failure to learn that the samples are full.
        if self._sampled < ERROR_SAMPLES_MAX:
            self._samples.append({"record": str(record)[:200], "message": str(message)[:500]})
            self._sampled += 1
        self._note(1)

    def _note(self, n: int) -> None:
        self._pending += n
        if self._pending >= self.flush_every:
            self.flush()


# --- Cursors ----------------------------------------------------------------

def cursor_get(*, connection: Connection, stream: str) -> str:
    """Where the last run of this stream stopped; "" means start with a full resync."""
    value = (SyncCursor.objects.filter(connection=connection, stream=stream)
             .values_list("value", flat=True).first())
    return value or ""


def cursor_set(*, connection: Connection, stream: str, value: str,
               expected: str | None = None) -> bool:
    """Store the new position. With `expected` (the value the run started
    from), only if nobody moved or reset the cursor meanwhile: a reset asked
    for during a run must survive that run's end. Returns whether it was stored."""
    rows = SyncCursor.objects.filter(connection=connection, stream=stream)
    if expected is not None:
        rows = rows.filter(value=expected)
    if rows.update(value=value, updated_at=timezone.now()):
        return True
    if expected:
        return False
    try:
        with transaction.atomic():
            SyncCursor.objects.create(connection=connection, stream=stream, value=value)
        return True
    except IntegrityError:
        if expected is not None:
            return False
        return bool(SyncCursor.objects.filter(connection=connection, stream=stream)
                    .update(value=value, updated_at=timezone.now()))


def cursor_reset(*, connection: Connection, stream: str | None = None) -> int:
    """The next run of this stream (of every stream when None) is a full resync."""
    rows = SyncCursor.objects.filter(connection=connection)
    if stream is not None:
        rows = rows.filter(stream=stream)
    return rows.exclude(value="").update(value="", updated_at=timezone.now())


# --- Mappings ---------------------------------------------------------------

def mapping_get(*, entity_type: str, local_id: str | int,
                connection: Connection) -> ExternalMapping | None:
    return ExternalMapping.objects.filter(entity_type=entity_type, local_id=str(local_id),
                                          connection=connection).first()


def mapping_find_local(*, connection: Connection, external_id: str | int,
                       entity_type: str) -> str | None:
    """Our id of the object the platform calls `external_id`, if we know it."""
    return (ExternalMapping.objects.filter(connection=connection, external_id=str(external_id),
                                           entity_type=entity_type)
            .values_list("local_id", flat=True).first())


def mapping_find_locals(*, connection: Connection, external_ids: list[str],
                        entity_type: str) -> dict[str, str]:
    """`mapping_find_local` for a whole page of records, in one query."""
    return dict(ExternalMapping.objects.filter(
        connection=connection, entity_type=entity_type,
        external_id__in=[str(external_id) for external_id in external_ids],
    ).values_list("external_id", "local_id"))


def mapping_upsert(*, entity_type: str, local_id: str | int, connection: Connection,
                   external_id: str | int, secondary_id: str = "",
                   raw: dict[str, Any] | None = None,
                   status: str = ExternalMapping.Status.SYNCED) -> ExternalMapping:
    """Link our object to its counterpart (or move the link to a new external id).

    An external object already linked to another of ours is refused: one of
    the two links is wrong, and a person must say which.
    """
    fields: dict[str, Any] = {"external_id": str(external_id), "secondary_id": secondary_id,
                              "status": status, "synced_at": timezone.now()}
    if raw is not None:
        fields.update(raw=raw, content_hash=content_hash(raw))
    try:
        with transaction.atomic():
            mapping, _created = ExternalMapping.objects.update_or_create(
                entity_type=entity_type, local_id=str(local_id), connection=connection,
                defaults=fields)
    except IntegrityError as exc:
        taken = mapping_find_local(connection=connection, external_id=external_id,
                                   entity_type=entity_type)
        raise ServiceError(
            "MAPPING_TAKEN",
            gettext("%(entity)s %(external)s on %(connection)s is already linked to our "
                    "%(entity)s %(local)s.") % {
                "entity": entity_type, "external": external_id, "connection": connection,
                "local": taken},
            details={"local_id": taken}, status=409) from exc
    return mapping

