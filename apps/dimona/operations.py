"""The outbox handler that sends a Dimona and follows it to its result.

One outbox operation per declaration does both halves: the first run POSTs
it and reschedules itself on the polling grid; later runs GET the result
until A, W or B arrives, S turns into A, or 20 minutes pass.

A Dimona-In is never sent twice for one shift. If a POST may have reached
the ONSS without us seeing the answer, the next run searches the worker's
periods first: a matching period means the In went through, and it is
adopted instead of sent again. Only when nothing shows up after
DIMONA_RECONCILE_WAIT_SECONDS is the In sent again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy, gettext_noop

from apps.core.attention import attention_join, attention_message
from apps.core.audit import LogContext
from apps.core.http import PermanentError, PlatformError
from apps.core.operations import Done, OutboxRetryPolicy, Reschedule, operation_handler
from apps.dimona.client import DimonaClient, dimona_client
from apps.dimona.mapping import (
    DeclarationResult,
    anomaly_label,
    dimona_cancel_payload,
    dimona_in_payload,
    dimona_update_payload,
    onss_date,
    onss_hour,
)
from apps.dimona.models import DimonaDeclaration, Shift
from apps.dimona.polling import next_poll_at
from apps.dimona.services import (
    ATTENTION_MANUAL_CHECK,
    ATTENTION_REFUSED,
    ATTENTION_WARNINGS,
    DECLARATION_OPERATION,
    shift_attention_clear,
    shift_attention_raise,
)

logger = logging.getLogger(__name__)
Kind = DimonaDeclaration.Kind
Status = DimonaDeclaration.Status

DIMONA_RETRY = OutboxRetryPolicy(
    # Half a minute, doubling to a quarter of an hour: a Dimona-In is due
    # before the shift starts, so a recovered ONSS must be used again soon.
    base_delay=30.0,
    max_delay=900.0,
    # Dead after eight failed runs in a row (about an hour of failures): the
    # manager then sees it and can declare on the portal before the shift.
    max_failures=8,
)

# A shift whose Dimona-In is (being) cancelled: only its Cancel's outcome is raised.
SHIFT_ENDED = (Shift.Status.CANCELLED, Shift.Status.NO_SHOW)

DUPLICATE_PERIOD = "90373-333"
ALREADY_CANCELLED = "00913-355"


@operation_handler(DECLARATION_OPERATION)
def declaration_send_and_follow(operation, *, reconcile: bool) -> Done | Reschedule:
    declaration = (DimonaDeclaration.objects
                   .select_related("shift__employer", "shift__worker")
                   .get(pk=operation.payload["declaration_id"]))
    if not declaration.is_open:
        return Done({"status": declaration.status})
    # The account the declaration was enqueued with sends and polls it.
    client = dimona_client(operation.connection)
    if not declaration.declaration_id:
        if reconcile and declaration.kind == Kind.IN:
            outcome = _reconcile_in(declaration, client)
            if outcome is not None:
                return outcome
        return _send(declaration, client)
    return _poll(declaration, client)


def _log(declaration: DimonaDeclaration, action: str) -> LogContext:
    return LogContext(
        action=action,
        entity_type="dimona.declaration",
        entity_id=str(declaration.pk),
        context=declaration.shift.employer.enterprise_number,
        operation_id=declaration.operation_id,
        secrets=(declaration.shift.worker.ssin,),
    )


def _payload(declaration: DimonaDeclaration) -> dict:
    shift = declaration.shift
    if declaration.kind == Kind.IN:
        return dimona_in_payload(
            enterprise_number=shift.employer.enterprise_number,
            ssin=shift.worker.ssin,
            joint_commission=shift.employer.joint_commission,
            start=declaration.declared_start,
            end=declaration.declared_end,
        )
    if declaration.kind == Kind.UPDATE:
        return dimona_update_payload(period_id=declaration.period_id,
                                     start=declaration.declared_start,
                                     end=declaration.declared_end)
    return dimona_cancel_payload(period_id=declaration.period_id)


def _send(declaration: DimonaDeclaration, client: DimonaClient) -> Reschedule:
    try:
        # Built first: a payload we refuse to send (bad stored data) was never attempted.
        payload = _payload(declaration)
    except PermanentError as exc:
        _refuse_locally(declaration, exc, reached_api=False)
        raise
    # Saved before the POST: if no answer comes back, this is when to look from.
    declaration.send_attempted_at = timezone.now()
    declaration.save(update_fields=["send_attempted_at"])
    try:
        declaration_id = client.submit(payload,
                                       log=_log(declaration, f"dimona.{declaration.kind}.send"))
    except PermanentError as exc:
        _refuse_locally(declaration, exc)
        raise
    except PlatformError as exc:
        declaration.error = str(exc)
        declaration.save(update_fields=["error"])
        raise
    now = timezone.now()
    declaration.declaration_id = declaration_id
    declaration.status = Status.SENT
    declaration.sent_at = now
    declaration.error = ""
    declaration.save(update_fields=["declaration_id", "status", "sent_at", "error"])
    return Reschedule(next_poll_at(now, now), "sent; waiting for the ONSS to process it")


def _refuse_locally(declaration: DimonaDeclaration, exc: PermanentError, *,
                    reached_api: bool = True) -> None:
    """Refused before the ONSS files: by its API (400/403), or by us before sending."""
    declaration.status = Status.FAILED
    declaration.error = exc.error.message or str(exc)
    declaration.completed_at = timezone.now()
    declaration.save(update_fields=["status", "error", "completed_at"])
    # The error is the API's message (or our check's) as it was given.
    summary = (gettext_noop("Dimona-%(kind)s not accepted by the API: %(error)s") if reached_api
               else gettext_noop("Dimona-%(kind)s not accepted by the hub, not sent: %(error)s"))
    _flag_shift(declaration, ATTENTION_REFUSED, summary,
                {"kind": declaration.kind, "error": declaration.error})


def _poll(declaration: DimonaDeclaration, client: DimonaClient) -> Done | Reschedule:
    DimonaDeclaration.objects.filter(pk=declaration.pk).update(poll_count=F("poll_count") + 1)
    result = client.fetch(declaration.declaration_id,
                          log=_log(declaration, f"dimona.{declaration.kind}.poll"))
    if result is None:
        return _wait_or_give_up(declaration, gettext_noop("not processed yet"))
    if result.result in ("A", "W"):
        return _accept(declaration, result)
    if result.result == "B":
        return _refused(declaration, result, client)
    if result.result == "S":
        _record(declaration, result, Status.WAITING_SIGEDIS, completed=False)
        return _wait_or_give_up(declaration, gettext_noop("waiting for SIGeDIS"),
                                slow_only=True)
    _record(declaration, result, Status.MANUAL_CHECK)
    _flag_shift(declaration, ATTENTION_MANUAL_CHECK,
                gettext_noop("Unknown Dimona result %(result)s; check the portal."),
                {"result": repr(result.result)})
    return Done({"result": result.result})


def _wait_or_give_up(declaration: DimonaDeclaration, why: str, *, slow_only: bool = False
                     ) -> Done | Reschedule:
    at = next_poll_at(declaration.sent_at, timezone.now(), slow_only=slow_only)
    if at is not None:
        return Reschedule(at, why)
    DimonaDeclaration.objects.filter(pk=declaration.pk).update(status=Status.MANUAL_CHECK)
    _flag_shift(declaration, ATTENTION_MANUAL_CHECK,
                gettext_noop("No Dimona result after 20 minutes (%(why)s); check it or use "
                             "'poll now'."),
                {"why": attention_message(why)})
    return Done({"manual_check": why})


def _record(declaration: DimonaDeclaration, result: DeclarationResult, status: str, *,
            completed: bool = True) -> None:
    declaration.status = status
    declaration.result = result.result
    declaration.anomalies = [anomaly.as_dict() for anomaly in result.anomalies]
    declaration.raw_status = result.raw
    if result.period_id and declaration.kind == Kind.IN:
        declaration.period_id = result.period_id
    if completed:
        declaration.completed_at = timezone.now()
    declaration.save(update_fields=["status", "result", "anomalies", "raw_status", "period_id",
                                    "completed_at"])


def _accept(declaration: DimonaDeclaration, result: DeclarationResult) -> Done:
    status = Status.ACCEPTED if result.result == "A" else Status.ACCEPTED_WITH_WARNINGS
    _record(declaration, result, status)
    # Accepted: an earlier refusal or an unanswered declaration of the shift is behind it.
    shift_attention_clear(shift=declaration.shift, kinds=(ATTENTION_REFUSED,
                                                          ATTENTION_MANUAL_CHECK))
    if status == Status.ACCEPTED_WITH_WARNINGS:
        _flag_shift(declaration, ATTENTION_WARNINGS,
                    gettext_noop("Dimona accepted with warnings: %(codes)s"),
                    {"codes": _codes(result)})
    return Done({"result": result.result, "period_id": declaration.period_id})


def _refused(declaration: DimonaDeclaration, result: DeclarationResult,
             client: DimonaClient) -> Done:
    codes = {anomaly.code for anomaly in result.anomalies}
    if declaration.kind == Kind.CANCEL and ALREADY_CANCELLED in codes:
        # The period is cancelled, which is what we wanted.
        _record(declaration, result, Status.ACCEPTED_WITH_WARNINGS)
        return Done({"result": "B", "already_cancelled": True})
    if declaration.kind == Kind.IN and DUPLICATE_PERIOD in codes:
        # Our own earlier send may have gone through after all: adopt its period.
        period_id = _find_matching_period(declaration, client)
        if period_id:
            _adopt_period(declaration, period_id, gettext_noop(
                "Refused as a duplicate of our own period, which was found at the ONSS and "
                "adopted; not sent again."))
            return Done({"adopted_period": period_id})
    _record(declaration, result, Status.REFUSED)
    _flag_shift(declaration, ATTENTION_REFUSED,
                gettext_noop("Dimona-%(kind)s refused: %(codes)s"),
                {"kind": declaration.kind, "codes": _codes(result)})
    return Done({"result": "B"})


def _codes(result: DeclarationResult):
    """The anomalies as a value of an attention item: "code label; code label",
    rendered in the reader's language when the item is read."""
    if not result.anomalies:
        return gettext_lazy("no anomaly")
    with translation.override(None):
        # With no language active, a known code's label is its source text
        # (translated when read); an unknown code's stays as the ONSS sent it.
        labels = [anomaly_label(anomaly.as_dict()) for anomaly in result.anomalies]
    return [attention_join([anomaly.code, attention_message(label)], " ") if label
            else anomaly.code for anomaly, label in zip(result.anomalies, labels, strict=True)]


def _flag_shift(declaration: DimonaDeclaration, kind: str, summary: str, values: dict) -> None:
    # `summary` is an English source text, filled with `values` and translated when read.
    if declaration.kind != Kind.CANCEL and Shift.objects.filter(
            pk=declaration.shift_id, status__in=SHIFT_ENDED).exists():
        # A late outcome of an earlier In or Update: the shift is cancelled (or a
        # no-show) and only its Cancel's own trouble is the manager's concern.
        # Read afresh: the Cancel may have been made while this was sent or polled.
        logger.info("dimona %s of shift %s not raised: the shift is cancelled (declaration %s)",
                    kind, declaration.shift_id, declaration.pk)
        return
    shift_attention_raise(shift=declaration.shift, kind=kind, summary=summary, values=values)


# -- unknown outcome --------------------------------------------------------------

def _find_matching_period(declaration: DimonaDeclaration, client: DimonaClient) -> str:
    shift = declaration.shift
    start, end = declaration.declared_start, declaration.declared_end
    periods = client.search_periods(
        enterprise_number=shift.employer.enterprise_number,
        ssin=shift.worker.ssin,
        start_date=onss_date(start),
        end_date=onss_date(end),
        log=_log(declaration, "dimona.in.reconcile"),
    )
    wanted = (onss_date(start), onss_hour(start), onss_date(end), onss_hour(end))
    for period in periods:
        found = (period.start_date, period.start_hour, period.end_date, period.end_hour)
        if not period.cancelled and found == wanted:
            return period.period_id
    return ""


def _adopt_period(declaration: DimonaDeclaration, period_id: str, note: str) -> None:
    declaration.period_id = period_id
    declaration.status = Status.ACCEPTED
    declaration.completed_at = timezone.now()
    # A source text marked for translation, with no value in it (the period
    # is in period_id): a reader's page shows it with gettext(error). The
    # other errors are the ONSS's or the HTTP layer's, as received.
    declaration.error = note
    declaration.save(update_fields=["period_id", "status", "completed_at", "error"])


def _reconcile_in(declaration: DimonaDeclaration, client: DimonaClient) -> Done | Reschedule | None:
    """After an uncertain send: adopt the period if the ONSS has it, else wait or resend."""
    period_id = _find_matching_period(declaration, client)
    if period_id:
        _adopt_period(declaration, period_id, gettext_noop(
            "The earlier send reached the ONSS: its period was found there and adopted; not "
            "sent again."))
        return Done({"adopted_period": period_id})
    waited_since = declaration.send_attempted_at or declaration.created_at
    resend_after = waited_since + timedelta(seconds=settings.DIMONA_RECONCILE_WAIT_SECONDS)
    if timezone.now() < resend_after:
        # The ONSS may still be processing the first send; look again shortly.
        return Reschedule(min(resend_after, timezone.now() + timedelta(seconds=15)),
                          "outcome unknown; looking for the period before resending")
    return None
