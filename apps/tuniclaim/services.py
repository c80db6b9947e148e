"""What the back-office decides on a bulletin de soin, and its push to MY TUNICLAIM.

A manager changes a BS's status (validated, rejected, on hold, returned to
the team lead) and, once it is validated, follows its payment. Each change
is checked against a reviewed transition table, saved on the BS row locked
for the change, and recorded in the same transaction as an outbox operation
carrying the request MY TUNICLAIM expects (`apps.tuniclaim.operations`
sends it). The outbox entity is the BS, so the pushes of one BS reach the
platform in the order they were decided (a status before the payment that
follows it); a push that keeps failing ends dead with the core's attention
item and holds the BS's later pushes back until a manager acts.

What is decided here is ours: `status_decided_at` tells the import to leave
the status alone, and the import never writes the payment fields.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from apps.core.errors import ServiceError
from apps.core.operations import operation_enqueue
from apps.tuniclaim.client import PLATFORM, tuniclaim_connection
from apps.tuniclaim.mapping import BS_STATUS_TO_PLATFORM
from apps.tuniclaim.models import AMOUNT, BulletinSoin

PUSH_STATUS = "tuniclaim.push_status"
PUSH_PAYMENT = "tuniclaim.push_payment"
# The outbox names a BS as the core names any object ("<app>.<model>", its
# pk), so the operation's page links to the BS and the BS's to its pushes.
ENTITY_TYPE = BulletinSoin._meta.label_lower

VALIDATION_ERROR = "validation_error"
INVALID_STATUS_TRANSITION = "invalid_status_transition"
INVALID_PAYMENT_TRANSITION = "invalid_payment_transition"

Status = BulletinSoin.Status
Payment = BulletinSoin.PaymentStatus

# Where a BS may go from each status: the handler's actions of the ARS
# workflow (validate, reject, put on hold, return to the team lead). A BS on
# hold is taken up again or decided; a returned one comes back to be
# processed. Validated, rejected and deleted are final: a manager's mistake
# there is refused (409), never silently changed, since the platform and the
# payment have already followed the decision.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.IN_PROGRESS: frozenset({Status.VALIDATED, Status.REJECTED, Status.ON_HOLD,
                                   Status.RETURNED}),
    Status.ON_HOLD: frozenset({Status.IN_PROGRESS, Status.VALIDATED, Status.REJECTED}),
    Status.RETURNED: frozenset({Status.IN_PROGRESS}),
    Status.VALIDATED: frozenset(),
    Status.REJECTED: frozenset(),
    Status.DELETED: frozenset(),
}

# The transfer's life, from the specification's six states ("" is no payment
# yet): ordered, then in execution, then executed (in full or in part),
# rejected or blocked. A rejected or blocked transfer is executed again; a
# partial one is completed; an executed one is final. Only a validated BS is
# paid.
PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    "": frozenset({Payment.NOT_EXECUTED}),
    Payment.NOT_EXECUTED: frozenset({Payment.IN_EXECUTION}),
    Payment.IN_EXECUTION: frozenset({Payment.EXECUTED, Payment.PARTLY_EXECUTED,
                                     Payment.REJECTED, Payment.BLOCKED}),
    Payment.PARTLY_EXECUTED: frozenset({Payment.EXECUTED}),
    Payment.BLOCKED: frozenset({Payment.IN_EXECUTION}),
    Payment.REJECTED: frozenset({Payment.IN_EXECUTION}),
    Payment.EXECUTED: frozenset(),
}

# The model's amounts: dinars to the millime.
AMOUNT_DECIMALS = AMOUNT["decimal_places"]
AMOUNT_MAX = Decimal(10) ** (AMOUNT["max_digits"] - AMOUNT_DECIMALS)
MILLIME = Decimal(1).scaleb(-AMOUNT_DECIMALS)
TRANSFER_REFERENCE_MAX = BulletinSoin._meta.get_field("transfer_reference").max_length


def _locked(bulletin: BulletinSoin) -> BulletinSoin:
    # One decision at a time per BS: two managers (or the API and the admin)
    # deciding at once are served in turn, each on the row as it is now.
    return (BulletinSoin.objects.select_for_update(of=("self",))
            .select_related("bordereau").get(pk=bulletin.pk))


def _label(choices: type, value: str) -> str:
    return str(choices(value).label).lower() if value in choices.values else value


def _stamp(moment: datetime) -> str:
    """ISO 8601 with its offset, to the microsecond: as sent, and as a key part."""
    return moment.isoformat(timespec="microseconds")


# -- status ---------------------------------------------------------------------------

def bs_status_change(*, bulletin: BulletinSoin, status: str, user) -> BulletinSoin:
    """A manager's decision on a BS, pushed to MY TUNICLAIM.

    Refused: an unknown status (400), a change the transition table does not
    allow, the same status again and any change of a final one (409
    `invalid_status_transition`: there is nothing to push).
    """
    if status not in Status.values:
        message = gettext("%(status)s is not a status of a bulletin de soin.") % {
            "status": status}
        raise ServiceError(VALIDATION_ERROR, message, details={"status": [message]})
    with transaction.atomic():
        current = _locked(bulletin)
        old = current.status
        if status not in STATUS_TRANSITIONS.get(old, frozenset()):
            if status == old:
                message = gettext("The bulletin de soin is already %(status)s.") % {
                    "status": _label(Status, old)}
            else:
                message = gettext("A bulletin de soin that is %(from)s cannot become "
                                  "%(to)s.") % {"from": _label(Status, old),
                                                "to": _label(Status, status)}
            raise ServiceError(INVALID_STATUS_TRANSITION, message,
                               details={"status": [message]}, status=409)
        decided_at = timezone.now()
        current.status = status
        current.status_decided_at = decided_at
        current.processed_by = user.get_username()
        current.save(update_fields=["status", "status_decided_at", "processed_by"])
        body = {
            # The platform knows a batch by its reference and a BS by its number.
            "bordereauId": current.bordereau.reference,
            "bsId": current.number,
            "oldStatus": BS_STATUS_TO_PLATFORM[old],
            "newStatus": BS_STATUS_TO_PLATFORM[status],
            "processedBy": current.processed_by,
            "processedAt": _stamp(decided_at),
            "gestionnaireId": user.pk,
        }
        _enqueue(current, kind=PUSH_STATUS, body=body,
                 # One key per decision: the BS is locked while it is decided,
                 # so its decision times differ, and a status may come back
                 # (on hold, then in progress, then on hold again).
                 key=f"tuniclaim.status:{current.pk}:{status}:{_stamp(decided_at)}")
    return current


# -- payment --------------------------------------------------------------------------

def _amount(value: Any, problems: dict[str, list[str]]) -> Decimal | None:
    """The amount as an exact Decimal, or None with the reason in `problems`."""
    if value is None:
        return None
    if isinstance(value, float | bool):
        # A float is not exact to the millime: amounts come as text or Decimal.
        problems.setdefault("amount", []).append(
            gettext("Give the amount as text or a decimal, not a floating-point number."))
        return None
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        problems.setdefault("amount", []).append(gettext("Enter a number."))
        return None
    if amount <= 0:
        problems.setdefault("amount", []).append(gettext("The amount must be more than 0."))
        return None
    if amount >= AMOUNT_MAX:
        problems.setdefault("amount", []).append(gettext("The amount is too large."))
        return None
    millimes = amount.quantize(MILLIME)
    if millimes != amount:
        # Refused, never rounded: a millime more or less is someone's money.
        problems.setdefault("amount", []).append(
            gettext("Dinars have %(places)d decimals (millimes) at most.") % {
                "places": AMOUNT_DECIMALS})
        return None
    return millimes


def _payment_problems(*, payment_status: str, payment_date: date | None,
                      amount: Any, transfer_reference: str
                      ) -> tuple[dict[str, list[str]], Decimal | None]:
    problems: dict[str, list[str]] = {}
    if payment_status not in Payment.values:
        problems["payment_status"] = [gettext("%(status)s is not a payment status.") % {
            "status": payment_status}]
    parsed = _amount(amount, problems)
    if payment_date is not None:
        if isinstance(payment_date, datetime) or not isinstance(payment_date, date):
            problems["payment_date"] = [gettext("Enter a date.")]
        elif payment_date > timezone.localdate():
            problems["payment_date"] = [gettext("The payment date cannot be in the future.")]
    if len(transfer_reference.splitlines()) > 1:
        problems["transfer_reference"] = [gettext("The transfer reference is one line.")]
    elif len(transfer_reference) > TRANSFER_REFERENCE_MAX:
        problems["transfer_reference"] = [
            gettext("The transfer reference has %(max)d characters at most.") % {
                "max": TRANSFER_REFERENCE_MAX}]
    return problems, parsed


def _refuse(problems: dict[str, list[str]]) -> None:
    if problems:
        message = " ".join(message for messages in problems.values() for message in messages)
        raise ServiceError(VALIDATION_ERROR, message, details=problems)


def bs_payment_update(*, bulletin: BulletinSoin, payment_status: str,
                      payment_date: date | None = None, amount: Decimal | str | None = None,
                      transfer_reference: str = "", user) -> BulletinSoin:
    """The next step of a validated BS's payment, pushed to MY TUNICLAIM.

    `payment_date`, `amount` and `transfer_reference` left out keep what the
    BS has. Refused: a bad value (400 with the field), a BS not validated, a
    step the transition table does not allow or the same status again (409
    `invalid_payment_transition`), an amount above what the BS covers (400).
    """
    transfer_reference = (transfer_reference or "").strip()
    problems, parsed_amount = _payment_problems(
        payment_status=payment_status, payment_date=payment_date, amount=amount,
        transfer_reference=transfer_reference)
    _refuse(problems)
    with transaction.atomic():
        current = _locked(bulletin)
        old = current.payment_status
        if current.status != Status.VALIDATED:
            message = gettext("Only a validated bulletin de soin is paid; this one is "
                              "%(status)s.") % {"status": _label(Status, current.status)}
            raise ServiceError(INVALID_PAYMENT_TRANSITION, message,
                               details={"payment_status": [message]}, status=409)
        if payment_status not in PAYMENT_TRANSITIONS.get(old, frozenset()):
            if payment_status == old:
                message = gettext("The payment is already %(status)s.") % {
                    "status": _label(Payment, old)}
            elif old:
                message = gettext("A payment that is %(from)s cannot become %(to)s.") % {
                    "from": _label(Payment, old), "to": _label(Payment, payment_status)}
            else:
                message = gettext("A payment starts as %(first)s, not %(to)s.") % {
                    "first": _label(Payment, Payment.NOT_EXECUTED),
                    "to": _label(Payment, payment_status)}
            raise ServiceError(INVALID_PAYMENT_TRANSITION, message,
                               details={"payment_status": [message]}, status=409)
        if parsed_amount is not None and parsed_amount > current.amount_covered:
            _refuse({"amount": [gettext(
                "The amount paid cannot be more than the amount covered (%(covered)s).") % {
                    "covered": f"{current.amount_covered:.{AMOUNT_DECIMALS}f}"}]})
        if (payment_status == Payment.PARTLY_EXECUTED and parsed_amount is None
                and current.payment_amount is None):
            # "Partly" says nothing without how much.
            _refuse({"amount": [gettext("A partly executed payment needs the amount paid.")]})
        current.payment_status = payment_status
        if payment_date is not None:
            current.payment_date = payment_date
        if parsed_amount is not None:
            current.payment_amount = parsed_amount
        if transfer_reference:
            current.transfer_reference = transfer_reference
        current.save(update_fields=["payment_status", "payment_date", "payment_amount",
                                    "transfer_reference"])
        changed_at = timezone.now()
        body = {
            "bordereauId": current.bordereau.reference,
            "bsId": current.number,
            "paymentStatus": payment_status,
            "paymentDate": current.payment_date.isoformat() if current.payment_date else None,
            # Text with the three decimals: never a float on the wire.
            "amount": (f"{current.payment_amount:.{AMOUNT_DECIMALS}f}"
                       if current.payment_amount is not None else None),
            "virementReference": current.transfer_reference,
            "processedBy": user.get_username(),
        }
        _enqueue(current, kind=PUSH_PAYMENT, body=body,
                 # The BS is locked while its payment moves on, so the times of
                 # two steps differ; a status may come back (blocked, then in
                 # execution, then blocked again).
                 key=f"tuniclaim.payment:{current.pk}:{payment_status}:{_stamp(changed_at)}")
    return current


def _enqueue(bulletin: BulletinSoin, *, kind: str, body: dict[str, Any], key: str) -> None:
    operation_enqueue(
        platform=PLATFORM,
        kind=kind,
        idempotency_key=key,
        # Everything the request needs: it is sent as decided, even if the
        # BS changes again before the push runs (the next push follows it).
        payload={"bordereau_external_id": bulletin.bordereau.external_id, "body": body},
        entity_type=ENTITY_TYPE,
        entity_id=bulletin.pk,
        connection=tuniclaim_connection(),
    )
