"""The import of claim batches from MY TUNICLAIM: a core SyncRun, page by page.

One run at a time (core `sync_run_start`: a second trigger gets the running
run back). A run reads the listing page by page; per page:

1. each bordereau record is parsed; a bad one is quarantined;
2. one query reads the stored hash and id of every bordereau of the page,
   one the open quarantine entries of the page's batches, one the number
   of BS held per batch;
3. a batch is *due* when its hash changed (any field, the client's name,
   the contract's delays and the platform's `updatedAt` included), when it
   or one of its BS is in quarantine (a fix is taken as soon as the batch
   is listed), or, on a full run only, when we hold another number of BS
   than it declares (`nombreBS`). Every other batch is unchanged: its
   bulletins are neither fetched nor written. That is what makes a
   re-import of unchanged data cheap on full runs too: a full run re-reads
   the whole listing, but only the bulletins of what changed;
4. the clients and contracts of the due batches are resolved by code and
   by (client, number) in one query each, the missing ones created in bulk,
   a client's new name written (its name is a label, never a key);
5. each due batch's bulletins are fetched (outside any transaction), then
   the batch, its BS and their items are written in ONE transaction: the
   batch and its BS with the core `bulk_upsert` (hashes: an unchanged BS
   writes nothing), platform-owned BS fields only, the items of changed BS
   replaced as a set, and the status of BS nobody here decided on set from
   the platform's in one UPDATE. A failure fetching or writing one batch is
   an error of that batch; the run goes on and ends partial.

The number of queries per page does not grow with the number of records:
a constant per page, plus a constant per *due* batch (its own transaction),
whatever its number of BS and items (up to ITEM_BATCH_SIZE items a
statement). Run counters count records: each bordereau and each BS is one
(an unchanged batch counts itself and the BS we hold of it).

Incremental runs ask for `updatedSince` = the start of the last run that
ended without errors, minus TUNICLAIM_LOOKBACK_MINUTES, kept in the core
`SyncCursor` (stream "bordereaux"): a run with invalid records only (they
are in quarantine, and come back when the platform changes them) moves it
on, a run with errors does not (the batches it missed are read again), and
a manager's reset, or `import_trigger(full=True)`, empties it so that the
next run reads everything; a reset made during a run survives that run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Count, F, Q, Value, When
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext, gettext_noop

from apps.core.attention import attention_clear, attention_raise
from apps.core.bulk import UpsertResult, bulk_upsert, content_hash
from apps.core.errors import ServiceError
from apps.core.fields import mask
from apps.core.http import PlatformError
from apps.core.models import SyncRun
from apps.core.sync import (
    SyncRunRecorder,
    cursor_get,
    cursor_reset,
    cursor_set,
    sync_run_progress,
    sync_run_start,
)
from apps.tuniclaim.client import TuniclaimClient, tuniclaim_client, tuniclaim_connection
from apps.tuniclaim.mapping import (
    DEFAULT_DELAY_DAYS,
    BadDate,
    InvalidRecord,
    ParsedBordereau,
    ParsedBulletin,
    bordereau_keys,
    bulletin_key,
    parse_bordereau,
    parse_bulletin,
    parse_moment,
)
from apps.tuniclaim.models import (
    Bordereau,
    BulletinSoin,
    BulletinSoinItem,
    Client,
    Contract,
    QuarantinedRecord,
)

logger = logging.getLogger(__name__)

DOMAIN = "tuniclaim"
IMPORT_KIND = "tuniclaim.import"
ATTENTION_INVALID_RECORD = "tuniclaim.invalid_record"
CURSOR_STREAM = "bordereaux"
IMPORT_RUNNING = "import_running"
# Personal data in a BS as received: masked before the record is kept in
# quarantine (the model encrypts it; the quarantine's JSON is not encrypted).
PERSONAL_KEYS = ("nomAssure", "nomBeneficiaire")
# Items are inserted in statements of this many rows (SQLite's cap on
# parameters per statement allows about 80 rows of 12 columns).
ITEM_BATCH_SIZE = 500
# No flush by number of records: see _recorder.
PAGE_FLUSH_ONLY = 2**31

Kind = QuarantinedRecord.Kind


# --- triggers -----------------------------------------------------------------

def import_trigger(*, full: bool = False, user=None,
                   trigger: str = SyncRun.Trigger.MANUAL) -> tuple[SyncRun, bool]:
    """Start an import and send its task after the commit; or return the run
    already going (started False), with its progress. `full` reads the whole
    listing instead of what changed since the last good run."""
    # Imported here: the tasks module imports this one.
    from apps.tuniclaim.tasks import run_import

    connection = tuniclaim_connection()
    run, started = sync_run_start(kind=IMPORT_KIND, connection=connection, trigger=trigger,
                                  user=user, direction="inbound")
    if started:
        if full:
            # An empty cursor is the core's "read everything next time"; the
            # run is ours alone, so no other run can take the reset.
            cursor_reset(connection=connection, stream=CURSOR_STREAM)
        transaction.on_commit(lambda: run_import.delay(run.pk))
    return run, started


def import_run(*, run_id: int) -> SyncRun:
    """The work of a started run: every page, then the report. Returns the
    finished run (a run no longer running is returned as it is)."""
    run = SyncRun.objects.select_related("connection").get(pk=run_id)
    if run.status != SyncRun.Status.RUNNING:
        return run
    connection = run.connection
    cursor = cursor_get(connection=connection, stream=CURSOR_STREAM)
    since = _since(cursor)
    recorder = _recorder(run)
    run = _execute(run, recorder, lambda: _Importer(
        run=run, recorder=recorder, full=since is None, client=tuniclaim_client(connection),
    ).read_listing(updated_since=since.isoformat() if since else None))
    if run.status != SyncRun.Status.ERROR and not run.errors:
        cursor_set(connection=connection, stream=CURSOR_STREAM,
                   value=run.started_at.isoformat(), expected=cursor)
    _report(run)
    return run


def quarantine_retry(*, record: QuarantinedRecord, user=None) -> SyncRun:
    """Import the quarantined record's bordereau again, now, in a run of its
    own: its bulletins are fetched whatever the hashes say. Refused (409)
    while an import is running."""
    if record.released_at is not None:
        raise ServiceError("record_released",
                           gettext("This record was imported since; there is nothing to retry."),
                           status=409)
    connection = tuniclaim_connection()
    run, started = sync_run_start(kind=IMPORT_KIND, connection=connection,
                                  trigger=SyncRun.Trigger.MANUAL, user=user,
                                  direction="inbound")
    if not started:
        raise ServiceError(IMPORT_RUNNING, gettext(
            "An import is running; retry this record when it has finished."), status=409)
    recorder = _recorder(run)
    run = _execute(run, recorder, lambda: _Importer(
        run=run, recorder=recorder, full=False, force=True, client=tuniclaim_client(connection),
    ).retry(record))
    _report(run)
    return run


def import_records(*, run: SyncRun, records: list[dict[str, Any]],
                   bulletins_of: Callable[[str], list[dict[str, Any]]]) -> SyncRun:
    """Import bordereau records given here (their bulletins from
    `bulletins_of`) in `run`, and finish it: the import's path without the
    listing, for the demo's fixed records. Nothing is sent, nobody is e-mailed."""
    recorder = _recorder(run)
    return _execute(run, recorder, lambda: _Importer(
        run=run, recorder=recorder, full=True, fetch_bulletins=bulletins_of,
    ).import_page(records))


def _execute(run: SyncRun, recorder: SyncRunRecorder, work: Callable[[], None]) -> SyncRun:
    """Do the run's work and finish it whatever happens: a run left running
    would refuse every import for two hours."""
    error = None
    try:
        work()
    except PlatformError as exc:
        error = gettext("MY TUNICLAIM could not be read: %(error)s") % {"error": exc}
    except Exception as exc:
        logger.exception("tuniclaim: import run %s failed", run.pk)
        error = f"{type(exc).__name__}: {exc}"
    return recorder.finish(error=error[:1000] if error else None)


def _recorder(run: SyncRun) -> SyncRunRecorder:
    # The counts are written once per page (`read_listing` flushes): a page's
    # queries stay the same however many records it counts.
    return SyncRunRecorder(run, flush_every=PAGE_FLUSH_ONLY)


def _since(cursor: str) -> datetime | None:
    """The updatedSince of an incremental run; None for a full one."""
    started = parse_datetime(cursor) if cursor else None
    if started is None:
        return None
    return started - timedelta(minutes=settings.TUNICLAIM_LOOKBACK_MINUTES)


def _report(run: SyncRun) -> None:
    # helper C's module; by its contract it never raises.
    from apps.tuniclaim.reports import report_after_run

    report_after_run(run=run)


# --- the importer -------------------------------------------------------------

@dataclass
class _Stored:
    """What the database holds of one page's bordereaux."""

    by_reference: dict[str, tuple[int, str]] = field(default_factory=dict)
    bulletin_counts: dict[int, int] = field(default_factory=dict)
    # bordereau external id → its open quarantine entries.
    quarantined: dict[str, list[QuarantinedRecord]] = field(default_factory=dict)
    # reference → open entries of a batch refused before it had an id we could use.
    quarantined_by_reference: dict[str, list[QuarantinedRecord]] = field(default_factory=dict)


class _Importer:
    """One run's work. `fetch_bulletins` is the platform's (the demo gives its own)."""

    def __init__(self, *, run: SyncRun, recorder: SyncRunRecorder, full: bool,
                 client: TuniclaimClient | None = None, force: bool = False,
                 fetch_bulletins: Callable[[str], list[dict[str, Any]]] | None = None) -> None:
        self.run = run
        self.recorder = recorder
        self.full = full
        self.force = force
        self.client = client
        self.fetch_bulletins = fetch_bulletins or self._fetch_from_platform

    def _fetch_from_platform(self, external_id: str) -> list[dict[str, Any]]:
        return self.client.bulletins(bordereau_external_id=external_id)

    # -- reading ------------------------------------------------------------
    def read_listing(self, *, updated_since: str | None) -> None:
        page_size = settings.TUNICLAIM_PAGE_SIZE
        number, total = 1, None
        while True:
            page = self.client.bordereaux_page(page=number, page_size=page_size,
                                               updated_since=updated_since)
            self.import_page(page.items)
            if page.total_pages != total:
                total = page.total_pages
                sync_run_progress(run=self.run, total=total)
            # Progress is counted in pages: the unit the platform reports a total in.
            self.recorder.advance(1)
            self.recorder.flush()
            if number >= page.total_pages or not page.items:
                return
            number += 1

    def retry(self, record: QuarantinedRecord) -> None:
        bordereau = Bordereau.objects.select_related("client", "contract").filter(
            external_id=record.bordereau_external_id).first() \
            if record.bordereau_external_id else None
        if record.kind == Kind.BULLETIN and bordereau is not None:
            self._retry_bulletins(bordereau, record)
            return
        # A refused bordereau: the listing since it was last sent holds it
        # again if the platform corrected it (its updatedAt moved on).
        since = _readable_moment(record.payload)
        wanted_id, wanted_reference = record.bordereau_external_id, record.record_key
        number = 1
        while True:
            page = self.client.bordereaux_page(page=number,
                                               page_size=settings.TUNICLAIM_PAGE_SIZE,
                                               updated_since=since)
            matches = [item for item in page.items
                       if (wanted_id and bordereau_keys(item)[0] == wanted_id)
                       or (wanted_reference and bordereau_keys(item)[1] == wanted_reference)]
            if matches:
                self.import_page(matches)
                return
            if number >= page.total_pages or not page.items:
                break
            number += 1
        self.recorder.error(record=wanted_reference or wanted_id,
                            message=gettext("MY TUNICLAIM no longer lists this bordereau."))

    def _retry_bulletins(self, bordereau: Bordereau, record: QuarantinedRecord) -> None:
        raw = self.fetch_bulletins(bordereau.external_id)
        stored = self._stored([bordereau.reference], [bordereau.external_id])
        parsed = _stored_as_parsed(bordereau)
        self._write_one(parsed, raw, client_id=bordereau.client_id,
                        contract_id=bordereau.contract_id, stored=stored)

    # -- one page -----------------------------------------------------------
    def import_page(self, records: Iterable[dict[str, Any]]) -> None:
        parsed: dict[str, ParsedBordereau] = {}
        for record in records:
            try:
                item = parse_bordereau(record)
            except InvalidRecord as exc:
                self._quarantine_bordereau(record, exc)
                continue
            # The same batch twice in a page: the last copy wins.
            parsed[item.reference] = item
        if not parsed:
            return
        stored = self._stored(list(parsed), [item.external_id for item in parsed.values()])
        due: list[ParsedBordereau] = []
        for item in parsed.values():
            if self._is_due(item, stored):
                due.append(item)
            else:
                pk, _digest = stored.by_reference[item.reference]
                self.recorder.count("unchanged", 1 + stored.bulletin_counts.get(pk, 0))
        if not due:
            return
        client_ids = _clients_resolve(due)
        contract_ids = _contracts_resolve(due, client_ids)
        for item in due:
            try:
                raw = self.fetch_bulletins(item.external_id)
            except PlatformError as exc:
                self.recorder.error(record=item.reference, message=gettext(
                    "Its bulletins could not be read: %(error)s") % {"error": exc})
                continue
            client_id = client_ids[item.client_code]
            self._write_one(item, raw, client_id=client_id,
                            contract_id=contract_ids.get((client_id, item.contract_number)),
                            stored=stored)

    def _is_due(self, item: ParsedBordereau, stored: _Stored) -> bool:
        if self.force or item.reference not in stored.by_reference:
            return True
        pk, digest = stored.by_reference[item.reference]
        if digest != item.content_hash:
            return True
        # Something of it is in quarantine: read it again, so a record the
        # platform corrected (or restored) is taken and its entry released.
        if stored.quarantined.get(item.external_id) or \
                stored.quarantined_by_reference.get(item.reference):
            return True
        return self.full and stored.bulletin_counts.get(pk, 0) != item.declared_claims

    def _stored(self, references: list[str], external_ids: list[str]) -> _Stored:
        """Three queries, whatever the number of records on the page."""
        stored = _Stored()
        for pk, reference, digest in Bordereau.objects.filter(
                reference__in=references).values_list("pk", "reference", "content_hash"):
            stored.by_reference[reference] = (pk, digest)
        if stored.by_reference:
            stored.bulletin_counts = dict(
                BulletinSoin.objects.filter(bordereau_id__in=[
                    pk for pk, _ in stored.by_reference.values()])
                .values("bordereau_id").annotate(n=Count("pk")).values_list("bordereau_id", "n")
                .order_by())
        entries = QuarantinedRecord.objects.filter(released_at__isnull=True).filter(
            Q(bordereau_external_id__in=external_ids)
            | Q(kind=Kind.BORDEREAU, record_key__in=references))
        for entry in entries:
            if entry.bordereau_external_id:
                stored.quarantined.setdefault(entry.bordereau_external_id, []).append(entry)
            if entry.kind == Kind.BORDEREAU and entry.record_key:
                stored.quarantined_by_reference.setdefault(entry.record_key, []).append(entry)
        return stored

    # -- one bordereau ------------------------------------------------------
    def _write_one(self, item: ParsedBordereau, raw_bulletins: list[dict[str, Any]], *,
                   client_id: int, contract_id: int | None, stored: _Stored) -> None:
        bulletins: dict[str, ParsedBulletin] = {}
        refused: list[tuple[dict[str, Any], InvalidRecord]] = []
        for raw in raw_bulletins:
            try:
                bulletin = parse_bulletin(raw)
            except InvalidRecord as exc:
                refused.append((raw, exc))
                continue
            bulletins[bulletin.number] = bulletin
        try:
            with transaction.atomic():
                counts = self._write_bordereau(item, bulletins, client_id=client_id,
                                               contract_id=contract_id)
                kept = {(Kind.BULLETIN, item.external_id,
                         self._quarantine_bulletin(item, raw, exc).record_key)
                        for raw, exc in refused}
                self._release(item, stored, kept)
        except Exception as exc:
            # Nothing of the batch was written; the next run tries it again.
            logger.exception("tuniclaim: bordereau %s not written", item.reference)
            self.recorder.error(record=item.reference, message=gettext(
                "It could not be written: %(error)s") % {"error": f"{type(exc).__name__}: {exc}"})
            return
        self.recorder.add(counts)
        for raw, exc in refused:
            self.recorder.invalid(record=f"{item.reference}/{bulletin_key(raw)}",
                                  message=f"{exc.reason}: {exc.detail}")

    def _write_bordereau(self, item: ParsedBordereau, bulletins: dict[str, ParsedBulletin], *,
                         client_id: int, contract_id: int | None) -> UpsertResult:
        counts = bulk_upsert(model=Bordereau, key_fields=["reference"],
                             rows=[item.row(client_id=client_id, contract_id=contract_id)])
        bordereau_id = Bordereau.objects.values_list("pk", flat=True).get(
            reference=item.reference)
        held = {number: (pk, digest) for number, pk, digest in BulletinSoin.objects.filter(
            bordereau_id=bordereau_id).values_list("number", "pk", "content_hash")}
        counts += bulk_upsert(model=BulletinSoin, key_fields=["bordereau", "number"],
                              rows=[bulletin.row(bordereau_id=bordereau_id)
                                    for bulletin in bulletins.values()])
        changed = [bulletin for number, bulletin in bulletins.items()
                   if held.get(number, (None, None))[1] != bulletin.content_hash]
        if changed:
            ids = dict(BulletinSoin.objects.filter(
                bordereau_id=bordereau_id, number__in=[b.number for b in changed])
                .values_list("number", "pk"))
            replaced = [ids[b.number] for b in changed if b.number in held]
            if replaced:
                BulletinSoinItem.objects.filter(bulletin_id__in=replaced).delete()
            BulletinSoinItem.objects.bulk_create(
                [BulletinSoinItem(bulletin_id=ids[b.number], **line)
                 for b in changed for line in b.items], batch_size=ITEM_BATCH_SIZE)
            _follow_platform_status(bordereau_id, {ids[b.number]: b.status for b in changed})
        return counts

    # -- quarantine ---------------------------------------------------------
    def _quarantine_bordereau(self, record: Any, exc: InvalidRecord) -> None:
        external_id, reference = bordereau_keys(record)
        key = reference or ("" if external_id else _fingerprint(record))
        quarantine_record(kind=Kind.BORDEREAU, bordereau_external_id=external_id,
                          record_key=key, error=exc, payload=record, run=self.run)
        self.recorder.invalid(record=reference or external_id or key,
                              message=f"{exc.reason}: {exc.detail}")

    def _quarantine_bulletin(self, item: ParsedBordereau, raw: Any,
                             exc: InvalidRecord) -> QuarantinedRecord:
        key = bulletin_key(raw) or _fingerprint(raw)
        return quarantine_record(kind=Kind.BULLETIN, bordereau_external_id=item.external_id,
                                 record_key=key, error=exc, payload=_masked(raw), run=self.run)

    def _release(self, item: ParsedBordereau, stored: _Stored,
                 kept: set[tuple[str, str, str]]) -> None:
        """The batch imported: its entries not refused again are settled."""
        entries = [*stored.quarantined.get(item.external_id, ()),
                   *stored.quarantined_by_reference.get(item.reference, ())]
        settled = {entry.pk: entry for entry in entries
                   if (entry.kind, entry.bordereau_external_id, entry.record_key) not in kept}
        if not settled:
            return
        QuarantinedRecord.objects.filter(pk__in=list(settled), released_at__isnull=True).update(
            released_at=timezone.now())
        for entry in settled.values():
            attention_clear(subject=entry, kind=ATTENTION_INVALID_RECORD)


def quarantine_record(*, kind: str, bordereau_external_id: str, record_key: str,
                      error: InvalidRecord, payload: Any, run: SyncRun | None
                      ) -> QuarantinedRecord:
    """Keep a refused record (refreshing its open entry if it has one) and
    tell the managers, with the reason, on the attention queue."""
    now = timezone.now()
    values = {"reason": error.reason, "detail": error.detail[:500], "payload": _json_safe(payload),
              "run": run, "last_seen_at": now}
    identity = {"kind": kind, "bordereau_external_id": bordereau_external_id[:64],
                "record_key": record_key[:100]}
    entry = QuarantinedRecord.objects.filter(released_at__isnull=True, **identity).first()
    if entry is None:
        entry = QuarantinedRecord.objects.create(**identity, **values, first_seen_at=now)
    else:
        QuarantinedRecord.objects.filter(pk=entry.pk).update(**values)
        for name, value in values.items():
            setattr(entry, name, value)
    attention_raise(
        domain=DOMAIN, kind=ATTENTION_INVALID_RECORD, subject=entry,
        summary=gettext_noop("MY TUNICLAIM %(kind)s %(record)s not imported: %(reason)s "
                             "(%(detail)s)"),
        values={"kind": QuarantinedRecord.Kind(kind).label,
                "record": record_key or bordereau_external_id,
                "reason": QuarantinedRecord.Reason(error.reason).label,
                "detail": error.detail},
        action_hint=gettext_noop("Have it corrected on MY TUNICLAIM, then retry import from "
                                 "the quarantine."))
    return entry


# --- clients and contracts ------------------------------------------------------

def _clients_resolve(due: list[ParsedBordereau]) -> dict[str, int]:
    """Client ids by code: one query, the missing ones created, new names written."""
    wanted: dict[str, str] = {}
    for item in due:
        # A record without a name does not erase the one we have.
        if item.client_name or item.client_code not in wanted:
            wanted[item.client_code] = item.client_name
    existing = {code: (pk, name) for pk, code, name in Client.objects.filter(
        code__in=list(wanted)).values_list("pk", "code", "name")}
    missing = [Client(code=code, name=name) for code, name in wanted.items()
               if code not in existing]
    renamed = [Client(pk=existing[code][0], code=code, name=name)
               for code, name in wanted.items()
               if code in existing and name and name != existing[code][1]]
    if missing:
        # On conflict (another worker created it meanwhile) its name is updated.
        Client.objects.bulk_create(missing, update_conflicts=True, unique_fields=["code"],
                                   update_fields=["name"])
    if renamed:
        Client.objects.bulk_update(renamed, ["name"])
    ids = {code: pk for code, (pk, _name) in existing.items()}
    ids.update({client.code: client.pk for client in missing})
    if any(pk is None for pk in ids.values()):
        # A database that cannot return the ids of an upsert.
        ids = dict(Client.objects.filter(code__in=list(wanted)).values_list("code", "pk"))
    return ids


def _contracts_resolve(due: list[ParsedBordereau],
                       client_ids: dict[str, int]) -> dict[tuple[int, str], int]:
    """Contract ids by (client, number): one query, the missing created, new delays written."""
    wanted = {(client_ids[item.client_code], item.contract_number):
              (item.settlement_days, item.claim_days)
              for item in due if item.contract_number}
    if not wanted:
        return {}
    existing = {(client_id, number): (pk, settlement, claim)
                for pk, client_id, number, settlement, claim in Contract.objects.filter(
                    client_id__in={key[0] for key in wanted},
                    number__in={key[1] for key in wanted}).values_list(
                    "pk", "client_id", "number", "settlement_days", "claim_days")
                if (client_id, number) in wanted}
    missing = [Contract(client_id=client_id, number=number, settlement_days=settlement,
                        claim_days=claim)
               for (client_id, number), (settlement, claim) in wanted.items()
               if (client_id, number) not in existing]
    changed = [Contract(pk=existing[key][0], client_id=key[0], number=key[1],
                        settlement_days=delays[0], claim_days=delays[1])
               for key, delays in wanted.items()
               if key in existing and existing[key][1:] != delays]
    if missing:
        Contract.objects.bulk_create(missing, update_conflicts=True,
                                     unique_fields=["client", "number"],
                                     update_fields=["settlement_days", "claim_days"])
    if changed:
        Contract.objects.bulk_update(changed, ["settlement_days", "claim_days"])
    ids = {key: pk for key, (pk, *_delays) in existing.items()}
    ids.update({(contract.client_id, contract.number): contract.pk for contract in missing})
    if any(pk is None for pk in ids.values()):
        ids = {(client_id, number): pk for pk, client_id, number in Contract.objects.filter(
            client_id__in={key[0] for key in wanted}, number__in={key[1] for key in wanted}
        ).values_list("pk", "client_id", "number")}
    return ids


# --- helpers ----------------------------------------------------------------------

def _follow_platform_status(bordereau_id: int, statuses: dict[int, str]) -> None:
    """One UPDATE: the BS nobody here decided on take the platform's status."""
    by_status: dict[str, list[int]] = {}
    for pk, status in statuses.items():
        by_status.setdefault(status, []).append(pk)
    BulletinSoin.objects.filter(
        bordereau_id=bordereau_id, pk__in=list(statuses), status_decided_at__isnull=True,
    ).update(status=Case(*(When(pk__in=pks, then=Value(status))
                           for status, pks in by_status.items()), default=F("status")))


def _stored_as_parsed(bordereau: Bordereau) -> ParsedBordereau:
    """A stored batch as the importer's input, for re-reading its bulletins
    alone: the same values, so writing it again changes nothing."""
    contract = bordereau.contract
    return ParsedBordereau(
        external_id=bordereau.external_id, reference=bordereau.reference,
        client_code=bordereau.client.code, client_name=bordereau.client.name,
        contract_number=contract.number if contract else "",
        settlement_days=contract.settlement_days if contract else DEFAULT_DELAY_DAYS,
        claim_days=contract.claim_days if contract else DEFAULT_DELAY_DAYS,
        received_on=bordereau.received_on, declared_claims=bordereau.declared_claims,
        provider=bordereau.provider, status=bordereau.status,
        platform_status=bordereau.platform_status,
        platform_updated_at=bordereau.platform_updated_at,
        content_hash=bordereau.content_hash)


def _readable_moment(payload: Any) -> str | None:
    """The record's updatedAt as the listing's updatedSince, if it is readable."""
    value = payload.get("updatedAt") if isinstance(payload, dict) else None
    try:
        return parse_moment(value).isoformat()
    except BadDate:
        return None


def _json_safe(payload: Any) -> Any:
    # Amounts arrive as Decimal: kept as their exact text.
    return json.loads(json.dumps(payload, default=_text_of))


def _text_of(value: Any) -> str:
    return str(value) if isinstance(value, Decimal) else repr(value)


def _masked(record: Any) -> Any:
    if not isinstance(record, dict):
        return record
    return {key: mask(value) if key in PERSONAL_KEYS and value else value
            for key, value in record.items()}


def _fingerprint(record: Any) -> str:
    """A record without its key is still one entry however often it is seen."""
    return f"#{content_hash(_json_safe(record))[:16]}"
