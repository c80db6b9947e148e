"""What managers, the API and the evening cron do with shifts and Dimonas.

Every function changes the database and records the Dimona it implies as
an outbox operation in the same transaction; nothing here talks HTTP. The
outbox handler in `apps.dimona.operations` sends and polls.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.core.attention import attention_clear, attention_raise
from apps.core.errors import ServiceError
from apps.core.models import Connection
from apps.core.operations import operation_enqueue, operation_reopen
from apps.dimona.client import PLATFORM
from apps.dimona.mapping import BRUSSELS
from apps.dimona.models import (
    FLEXI_JOINT_COMMISSION,
    MAX_SHIFT_LENGTH,
    DimonaDeclaration,
    Employer,
    Shift,
    Worker,
)
from apps.dimona.selectors import (
    NO_SHOW_AFTER,
    shift_active_in,
    shift_declared_hours,
    shifts_to_declare,
)
from apps.dimona.validators import normalise_digits

# Leaves an optional argument as it is (None has a meaning of its own).
KEEP = object()

logger = logging.getLogger(__name__)

DECLARATION_OPERATION = "dimona.declaration"
NO_SHOW_REASON = "no_show"
Kind = DimonaDeclaration.Kind
Status = DimonaDeclaration.Status

ATTENTION_DOMAIN = "dimona"
# Why a shift is in the attention queue; one open item per shift and kind.
ATTENTION_REFUSED = "dimona.refused"
ATTENTION_MANUAL_CHECK = "dimona.manual_check"
ATTENTION_WARNINGS = "dimona.warnings"
# Said once per kind, so every item of a kind tells the manager the same next step.
ATTENTION_HINTS = {
    ATTENTION_REFUSED: _("Read the anomalies of the shift's declarations, correct the shift or "
                       "the worker, then declare again (or declare on the ONSS portal)."),
    ATTENTION_MANUAL_CHECK: _("Look the declaration up on the ONSS portal, or use "
                            "\"Poll the ONSS now\" on the shift."),
    ATTENTION_WARNINGS: _("Read the warnings of the shift's declarations; the Dimona stands, "
                        "but the ONSS may ask for a correction."),
}


def _locked(shift: Shift) -> Shift:
    # One writer per shift at a time: two managers clicking "declare" at once
    # must not both create a Dimona-In.
    return Shift.objects.select_for_update().with_parties().get(pk=shift.pk)


def _enqueue(declaration: DimonaDeclaration) -> None:
    operation, _ = operation_enqueue(
        platform=PLATFORM,
        kind=DECLARATION_OPERATION,
        idempotency_key=f"dimona:declaration:{declaration.pk}",
        payload={"declaration_id": declaration.pk},
        entity_type="dimona.declaration",
        entity_id=declaration.pk,
        connection=declaration.shift.employer.connection,
    )
    declaration.operation = operation
    declaration.save(update_fields=["operation"])


# -- refusals of what the shift's state does not allow (409, a code per state) ------

# Named after the state that forbids the action, so a client can tell a
# cancelled shift from one nobody accepted yet without reading the message.
STATE_CODES = {
    Shift.Status.PROPOSED: "shift_not_accepted",
    Shift.Status.ACCEPTED: "shift_accepted",
    Shift.Status.REFUSED: "shift_refused",
    Shift.Status.CANCELLED: "shift_cancelled",
    Shift.Status.IN_PROGRESS: "shift_in_progress",
    Shift.Status.COMPLETED: "shift_completed",
    Shift.Status.NO_SHOW: "shift_no_show",
}


def _state_error(shift: Shift, action: str, hint: str = "") -> ServiceError:
    """`action`: what cannot be done, in words ("declared", "cancelled")."""
    message = str(_("A shift that is %(status)s cannot be %(action)s.") % {
        "status": shift.get_status_display().lower(), "action": action})
    if hint:
        message = f"{message} {hint}"
    return ServiceError(STATE_CODES.get(shift.status, "invalid_status"), message,
                        details={"status": [shift.status]}, status=409)


# -- what the ONSS would refuse later, refused now ----------------------------------

SHIFT_OVERLAPS = "shift_overlaps"
SHIFT_IN_PAST = "shift_in_past"
# These shifts have no Dimona period (or a cancelled one), so they cannot clash.
OVERLAP_IGNORED = (Shift.Status.CANCELLED, Shift.Status.NO_SHOW, Shift.Status.REFUSED)


def _overlapping(*, worker: Worker, start: datetime, end: datetime,
                 shift: Shift | None = None) -> Shift | None:
    others = (Shift.objects.filter(worker=worker, start__lt=end, end__gt=start)
              .exclude(status__in=OVERLAP_IGNORED).order_by("start"))
    if shift is not None and shift.pk:
        others = others.exclude(pk=shift.pk)
    return others.first()


def _lock_worker(worker: Worker) -> None:
    # Serialises the shifts written for one worker, so two of them cannot
    # both pass the overlap check at once.
    list(Worker.objects.select_for_update().filter(pk=worker.pk).values_list("pk", flat=True))


def shift_local_problems(*, worker: Worker, start: datetime, end: datetime,
                         declared_late: bool = False, shift: Shift | None = None,
                         now: datetime | None = None) -> list[ServiceError]:
    """What the ONSS would refuse about these hours, found before anything is sent;
    writes nothing. `shift`: the shift being edited (then the past is not checked:
    a shift under way has started), None for a new one."""
    problems = []
    if shift is None and not declared_late and start < (now or timezone.now()):
        message = str(_("The shift starts in the past; say declared_late to record it anyway "
                        "(the Dimona will be late)."))
        problems.append(ServiceError(SHIFT_IN_PAST, message, details={"start": [message]}))
    other = _overlapping(worker=worker, start=start, end=end, shift=shift)
    if other is not None:
        # The ONSS refuses a second period over the same hours (90373-333).
        # In the reader's time zone (their preference, else the hub's), named.
        message = gettext(
            "The worker already has shift %(id)s from %(start)s to %(end)s (%(zone)s).") % {
            "id": other.pk,
            "start": f"{timezone.localtime(other.start):%d/%m/%Y %H:%M}",
            "end": f"{timezone.localtime(other.end):%d/%m/%Y %H:%M}",
            "zone": timezone.get_current_timezone_name()}
        problems.append(ServiceError(SHIFT_OVERLAPS, message,
                                     details={"start": [message], "overlapping_shift": other.pk}))
    return problems


def _raise_problems(problems: list[ServiceError]) -> None:
    # One problem keeps its own code; several are reported together, by field.
    if len(problems) == 1:
        raise problems[0]
    if problems:
        details: dict[str, list[str]] = {}
        for problem in problems:
            for field, messages in problem.details.items():
                if isinstance(messages, list):
                    details.setdefault(field, []).extend(messages)
        raise ServiceError("validation_error", " ".join(p.message for p in problems),
                           details=details)


def _check_hours(start: datetime, end: datetime) -> None:
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ServiceError("invalid_hours", gettext("Start and end need a time zone offset."))
    if end <= start:
        message = gettext("The end must be after the start.")
        raise ServiceError("invalid_hours", message, details={"end": [message]})
    if end - start > MAX_SHIFT_LENGTH:
        message = gettext("A shift cannot last more than 24 hours.")
        raise ServiceError("invalid_hours", message, details={"end": [message]})


# -- the attention queue -----------------------------------------------------------

def shift_attention_raise(*, shift: Shift, kind: str, summary: str,
                          values: dict | None = None) -> None:
    """Put the shift in the attention queue (or refresh its open item of this kind).

    `summary` is an English source text marked for translation, filled with
    `values` when read (see `apps.core.attention`).
    """
    attention_raise(domain=ATTENTION_DOMAIN, kind=kind, summary=summary, subject=shift,
                    action_hint=ATTENTION_HINTS.get(kind, ""), values=values)


def shift_attention_clear(*, shift: Shift, kinds: tuple[str, ...] = ()) -> int:
    """Close the shift's open items (of these kinds, or all of Dimona's)."""
    return attention_clear(subject=shift, kinds=kinds, domain=ATTENTION_DOMAIN)


# -- employers, workers, shifts ------------------------------------------------

def employer_create(*, name: str, enterprise_number: str,
                    joint_commission: str = FLEXI_JOINT_COMMISSION,
                    connection: Connection | None = None) -> Employer:
    """`connection`: the ONSS account it declares with; None for the deployment's own."""
    _check_onss_connection(connection)
    employer = Employer(name=name, enterprise_number=enterprise_number,
                        joint_commission=joint_commission, connection=connection)
    employer.clean()
    employer.full_clean()
    employer.save()
    return employer


@transaction.atomic
def employer_update(*, employer: Employer, name: str | None = None,
                    enterprise_number: str | None = None,
                    joint_commission: str | None = None,
                    connection: Connection | object | None = KEEP) -> Employer:
    """Change what is given; the rest stays. Checked as a new employer would be.
    `connection=None` moves the employer back to the deployment's ONSS account."""
    employer = Employer.objects.select_for_update().get(pk=employer.pk)
    changes = {"name": name, "enterprise_number": enterprise_number,
               "joint_commission": joint_commission}
    changes = {field: value for field, value in changes.items() if value is not None}
    if connection is not KEEP:
        _check_onss_connection(connection)
        changes["connection"] = connection
    if not changes:
        return employer
    for field, value in changes.items():
        setattr(employer, field, value)
    employer.clean()
    employer.full_clean()
    employer.save(update_fields=list(changes))
    return employer


def _check_onss_connection(connection: Connection | None) -> None:
    if connection is not None and connection.platform != PLATFORM:
        raise ServiceError("invalid_connection", _(
            "%(connection)s is not an ONSS account.") % {"connection": connection})


def _check_ssin_free(ssin: str, *, worker: Worker | None = None) -> None:
    clash = Worker.objects.filter(ssin_index=Worker.index_for(ssin))
    if worker is not None:
        clash = clash.exclude(pk=worker.pk)
    if clash.exists():
        message = gettext("A worker with this national number exists.")
        raise ServiceError("duplicate_worker", message, details={"ssin": [message]})


def worker_create(*, first_name: str, last_name: str, ssin: str) -> Worker:
    worker = Worker(first_name=first_name, last_name=last_name, ssin=ssin)
    worker.full_clean(exclude=["ssin_index"])
    _check_ssin_free(ssin)
    worker.save()
    return worker


@transaction.atomic
def worker_update_names(*, worker: Worker, first_name: str | None = None,
                        last_name: str | None = None) -> Worker:
    """Rename a worker; a name not given stays as it is."""
    worker = Worker.objects.select_for_update().get(pk=worker.pk)
    changes = {field: value for field, value in
               (("first_name", first_name), ("last_name", last_name)) if value is not None}
    if not changes:
        return worker
    for field, value in changes.items():
        setattr(worker, field, value)
    worker.full_clean(exclude=["ssin", "ssin_index"])
    worker.save(update_fields=list(changes))
    return worker


@transaction.atomic
def worker_set_ssin(*, worker: Worker, ssin: str) -> Worker:
    """Correct a worker's national number (its blind index follows)."""
    worker = Worker.objects.select_for_update().get(pk=worker.pk)
    worker.ssin = ssin
    worker.full_clean(exclude=["first_name", "last_name", "ssin_index"])
    worker.ssin = normalise_digits(ssin)
    _check_ssin_free(worker.ssin, worker=worker)
    worker.save(update_fields=["ssin", "ssin_index"])
    return worker


@transaction.atomic
def shift_create(*, employer: Employer, worker: Worker, start: datetime, end: datetime,
                 status: str = Shift.Status.PROPOSED, declared_late: bool = False,
                 now: datetime | None = None) -> Shift:
    """A new shift. One starting before `now` is refused unless `declared_late`
    (it is then simply recorded; its Dimona goes out late, as any other)."""
    _check_hours(start, end)
    if status not in (Shift.Status.PROPOSED, Shift.Status.ACCEPTED):
        raise ServiceError("invalid_status", gettext("A new shift is proposed or accepted."))
    _lock_worker(worker)
    _raise_problems(shift_local_problems(worker=worker, start=start, end=end,
                                         declared_late=declared_late, now=now))
    return Shift.objects.create(employer=employer, worker=worker, start=start, end=end,
                                status=status)


@transaction.atomic
def shift_accept(*, shift: Shift) -> Shift:
    shift = _locked(shift)
    if shift.status == Shift.Status.ACCEPTED:
        return shift
    if shift.status != Shift.Status.PROPOSED:
        raise _state_error(shift, str(_("accepted")))
    shift.status = Shift.Status.ACCEPTED
    shift.save(update_fields=["status", "updated_at"])
    return shift


@transaction.atomic
def shift_clock_in(*, shift: Shift, at: datetime | None = None) -> Shift:
    shift = _locked(shift)
    if shift.status != Shift.Status.ACCEPTED:
        raise _state_error(shift, str(_("clocked in")))
    shift.clock_in_at = at or timezone.now()
    shift.status = Shift.Status.IN_PROGRESS
    shift.save(update_fields=["clock_in_at", "status", "updated_at"])
    return shift


# -- Dimona-In -------------------------------------------------------------------

@transaction.atomic
def shift_declare(*, shift: Shift) -> DimonaDeclaration:
    """Declare the shift (Dimona-In), once: an active In is returned as is."""
    shift = _locked(shift)
    # Checked before the active In: a cancelled shift keeps its (accepted) In,
    # and answering with it would say "declared" for a shift that is not on.
    if shift.status not in (Shift.Status.ACCEPTED, Shift.Status.IN_PROGRESS):
        raise _state_error(shift, str(_("declared")))
    existing = shift_active_in(shift)
    if existing:
        return existing
    # The row lock above serialises declares of one shift; the database's
    # one-active-In constraint is the last line of defence behind it.
    declaration = DimonaDeclaration.objects.create(
        shift=shift, kind=Kind.IN, declared_start=shift.start, declared_end=shift.end)
    _enqueue(declaration)
    return declaration


def shifts_declare_for_date(*, day: date) -> list[DimonaDeclaration]:
    """The evening job: declare every accepted shift of `day` not declared yet.

    Each shift in its own transaction, so one bad shift does not hold back
    the others.
    """
    declarations = []
    for shift in shifts_to_declare(day=day):
        try:
            declarations.append(shift_declare(shift=shift))
        except ServiceError as exc:
            logger.warning("Shift %s not declared: %s", shift.pk, exc.message)
    return declarations


def tomorrow_declare(*, now: datetime | None = None) -> list[DimonaDeclaration]:
    now = timezone.localtime(now or timezone.now(), BRUSSELS)
    return shifts_declare_for_date(day=(now + timedelta(days=1)).date())


# -- Dimona-Cancel ---------------------------------------------------------------

def _cancel(shift: Shift, *, reason: str, now: datetime) -> DimonaDeclaration:
    active_in = shift_active_in(shift)
    if active_in is None:
        raise ServiceError("no_declaration", gettext("This shift has no Dimona-In to cancel."))
    open_cancel = shift.declarations.filter(kind=Kind.CANCEL).exclude(
        status__in=DimonaDeclaration.INACTIVE_STATUSES).first()
    if open_cancel:
        return open_cancel
    if not active_in.period_id:
        raise ServiceError(
            "declaration_pending",
            gettext("The Dimona-In has no result yet; cancel it once the ONSS has accepted it."))
    declared = shift_declared_hours(shift) or (active_in.declared_start, active_in.declared_end)
    start_day = timezone.localtime(declared[0], BRUSSELS).date()
    if timezone.localtime(now, BRUSSELS).date() > start_day:
        raise ServiceError(
            "cancel_deadline_passed",
            gettext("A Dimona can only be cancelled until its start date (%(day)s); declare "
                    "the real hours with an update instead.") % {"day": f"{start_day:%d/%m/%Y}"})
    declaration = DimonaDeclaration.objects.create(
        shift=shift, kind=Kind.CANCEL, period_id=active_in.period_id, reason=reason)
    shift.status = Shift.Status.NO_SHOW if reason == NO_SHOW_REASON else Shift.Status.CANCELLED
    shift.save(update_fields=["status", "updated_at"])
    # What was wrong with the shift's earlier declarations no longer matters
    # once it is cancelled; only the Cancel's own outcome may raise it again.
    shift_attention_clear(shift=shift)
    _enqueue(declaration)
    return declaration


@transaction.atomic
def shift_cancel(*, shift: Shift, reason: str, now: datetime | None = None
                 ) -> DimonaDeclaration:
    """Cancel the shift and its Dimona-In (allowed until the declared start date)."""
    shift = _locked(shift)
    if shift.status in (Shift.Status.COMPLETED, Shift.Status.NO_SHOW):
        raise _state_error(shift, str(_("cancelled")))
    return _cancel(shift, reason=reason or "cancelled", now=now or timezone.now())


@transaction.atomic
def shift_mark_no_show(*, shift: Shift, now: datetime | None = None) -> DimonaDeclaration:
    """The worker did not come: cancel the Dimona with reason `no_show`."""
    now = now or timezone.now()
    shift = _locked(shift)
    if shift.clock_in_at:
        raise ServiceError("worker_clocked_in",
                           gettext("The worker clocked in; this is not a no-show."), status=409)
    if shift.status != Shift.Status.ACCEPTED:
        raise _state_error(shift, str(_("marked as a no-show")))
    if now < shift.start + NO_SHOW_AFTER:
        raise ServiceError(
            "too_early",
            gettext("A no-show can be recorded 30 minutes after the start of the shift."))
    return _cancel(shift, reason=NO_SHOW_REASON, now=now)


# -- Dimona-Update ---------------------------------------------------------------

def update_threshold() -> timedelta:
    return timedelta(minutes=settings.DIMONA_UPDATE_THRESHOLD_MINUTES)


@transaction.atomic
def shift_validate_hours(*, shift: Shift, start: datetime, end: datetime
                         ) -> DimonaDeclaration | None:
    """Record the hours worked; declare an update if they moved past the threshold."""
    _check_hours(start, end)
    shift = _locked(shift)
    if shift.status in (Shift.Status.CANCELLED, Shift.Status.NO_SHOW, Shift.Status.REFUSED):
        raise _state_error(shift, str(_("given worked hours")))
    shift.validated_start, shift.validated_end = start, end
    shift.status = Shift.Status.COMPLETED
    shift.save(update_fields=["validated_start", "validated_end", "status", "updated_at"])
    return _declare_update_if_moved(shift, start=start, end=end, reason="hours_validated",
                                    pending_message=VALIDATE_HOURS_LATER)


def _declare_update_if_moved(shift: Shift, *, start: datetime, end: datetime, reason: str,
                             pending_message: str) -> DimonaDeclaration | None:
    """A Dimona-Update if the ONSS knows other hours (past the threshold). Shift locked."""
    active_in = _update_basis(shift, start=start, end=end, pending_message=pending_message)
    if active_in is None:
        return None
    declaration = DimonaDeclaration.objects.create(
        shift=shift, kind=Kind.UPDATE, period_id=active_in.period_id,
        declared_start=start, declared_end=end, reason=reason)
    _enqueue(declaration)
    return declaration


def _update_basis(shift: Shift, *, start: datetime, end: datetime, pending_message: str
                  ) -> DimonaDeclaration | None:
    """The active Dimona-In an Update to these hours amends; None if none is needed.
    Refuses while the ONSS cannot take one yet."""
    active_in = shift_active_in(shift)
    if active_in is None:
        return None
    if not active_in.period_id:
        raise ServiceError("declaration_pending", str(pending_message))
    if shift.declarations.filter(kind=Kind.UPDATE, status__in=[
            Status.PENDING, Status.SENT, Status.WAITING_SIGEDIS]).exists():
        raise ServiceError("update_pending",
                           gettext("An update of this Dimona is still waiting for its result."))
    declared_start, declared_end = shift_declared_hours(shift) or (
        active_in.declared_start, active_in.declared_end)
    threshold = update_threshold()
    if abs(start - declared_start) <= threshold and abs(end - declared_end) <= threshold:
        return None
    return active_in


# Planned hours can move while the shift is still ahead or under way; after
# that its hours are the validated ones (validate-hours).
HOURS_EDITABLE = (Shift.Status.PROPOSED, Shift.Status.ACCEPTED, Shift.Status.IN_PROGRESS)
# Whole sentences rather than a fragment each, so that translators see them whole.
CHANGE_HOURS_LATER = _("The Dimona-In has no result yet; change the hours once it has.")
VALIDATE_HOURS_LATER = _("The Dimona-In has no result yet; validate the hours once it has.")


def shift_update_check(*, shift: Shift, employer: Employer, worker: Worker, start: datetime,
                       end: datetime) -> None:
    """Refuse (ServiceError) what `shift_update` would refuse; writes nothing.

    For forms that must report a refusal before they save (the admin's).
    """
    _check_hours(start, end)
    parties_moved = (employer.pk, worker.pk) != (shift.employer_id, shift.worker_id)
    hours_moved = (start, end) != (shift.start, shift.end)
    if parties_moved and shift_active_in(shift) is not None:
        raise ServiceError(
            "shift_declared",
            gettext("This shift is declared for its worker and employer; cancel it and create "
                    "another shift instead."))
    if hours_moved and shift.status not in HOURS_EDITABLE:
        raise _state_error(shift, str(_("given other hours")), str(
            _("Validate the hours worked instead.")) if shift.status == Shift.Status.COMPLETED
            else "")
    if (hours_moved or worker.pk != shift.worker_id) and shift.status not in OVERLAP_IGNORED:
        _raise_problems(shift_local_problems(worker=worker, start=start, end=end, shift=shift))
    if hours_moved:
        _update_basis(shift, start=start, end=end, pending_message=CHANGE_HOURS_LATER)


@transaction.atomic
def shift_update(*, shift: Shift, employer: Employer, worker: Worker, start: datetime,
                 end: datetime) -> DimonaDeclaration | None:
    """Edit a shift (the admin's form): a declared shift whose hours moved past
    the threshold gets a Dimona-Update, as validated hours do. Returns it, if any."""
    shift = _locked(shift)
    _lock_worker(worker)
    shift_update_check(shift=shift, employer=employer, worker=worker, start=start, end=end)
    hours_moved = (start, end) != (shift.start, shift.end)
    shift.employer, shift.worker, shift.start, shift.end = employer, worker, start, end
    shift.save(update_fields=["employer", "worker", "start", "end", "updated_at"])
    if not hours_moved:
        return None
    return _declare_update_if_moved(shift, start=start, end=end, reason="hours_changed",
                                    pending_message=CHANGE_HOURS_LATER)


# -- follow-up -------------------------------------------------------------------

@transaction.atomic
def shift_poll_now(*, shift: Shift) -> list[DimonaDeclaration]:
    """A manager's "poll now" on a shift: each of its declarations still waiting
    for a result is asked for once more. Refused when none is waiting."""
    waiting = list(shift.declarations.filter(
        status__in=[Status.SENT, Status.WAITING_SIGEDIS, Status.MANUAL_CHECK])
        .order_by("created_at", "pk"))
    if not waiting:
        raise ServiceError("nothing_to_poll",
                           gettext("No declaration of this shift is waiting for a result."))
    return [declaration_poll_now(declaration=declaration) for declaration in waiting]


@transaction.atomic
def declaration_poll_now(*, declaration: DimonaDeclaration) -> DimonaDeclaration:
    """A manager's "poll now": ask the ONSS for the result once more."""
    declaration = DimonaDeclaration.objects.select_for_update().get(pk=declaration.pk)
    if declaration.status not in (Status.SENT, Status.WAITING_SIGEDIS, Status.MANUAL_CHECK):
        raise ServiceError("nothing_to_poll", gettext(
            "This declaration is %(status)s; there is no result to wait for.") % {
                "status": declaration.get_status_display().lower()})
    if declaration.operation is None:
        raise ServiceError("nothing_to_poll", gettext("This declaration was never sent."))
    try:
        operation_reopen(operation=declaration.operation)
    except ValueError as exc:
        raise ServiceError("poll_in_progress", str(exc)) from exc
    return declaration
