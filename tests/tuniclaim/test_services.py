"""A BS's status and payment decided here: the transition tables, the value rules,
and the push each change records in the outbox (its body, its key, its order)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.core.errors import ServiceError
from apps.core.models import OutboundOperation
from apps.tuniclaim import services
from apps.tuniclaim.mapping import BS_STATUS_TO_PLATFORM
from apps.tuniclaim.models import BulletinSoin
from apps.tuniclaim.services import (
    ENTITY_TYPE,
    PAYMENT_TRANSITIONS,
    PUSH_PAYMENT,
    PUSH_STATUS,
    STATUS_TRANSITIONS,
    bs_payment_update,
    bs_status_change,
)
from tests.tuniclaim.factories import BulletinSoinFactory

pytestmark = pytest.mark.django_db

Status = BulletinSoin.Status
Payment = BulletinSoin.PaymentStatus


def make_bulletin(**fields) -> BulletinSoin:
    """A BS covering 150.500 TND, as an import would have left it."""
    return BulletinSoinFactory(**{"amount_covered": Decimal("150.500"), **fields})


@pytest.fixture
def manager(django_user_model):
    return django_user_model.objects.create_user("leila.gestionnaire", password="pw")


def operations(kind: str | None = None) -> list[OutboundOperation]:
    rows = OutboundOperation.objects.order_by("created_at", "pk")
    return list(rows.filter(kind=kind) if kind else rows)


ALLOWED_STATUS = [(old, new) for old, targets in STATUS_TRANSITIONS.items()
                  for new in sorted(targets)]
ALLOWED_PAYMENT = [(old, new) for old, targets in PAYMENT_TRANSITIONS.items()
                   for new in sorted(targets)]


def test_the_tables_name_every_status_and_the_final_ones_lead_nowhere():
    assert set(STATUS_TRANSITIONS) == set(Status.values)
    assert set(PAYMENT_TRANSITIONS) == {"", *Payment.values}
    for final in (Status.VALIDATED, Status.REJECTED, Status.DELETED):
        assert STATUS_TRANSITIONS[final] == frozenset()
    assert PAYMENT_TRANSITIONS[Payment.EXECUTED] == frozenset()


# -- status ---------------------------------------------------------------------------

@pytest.mark.parametrize(("old", "new"), ALLOWED_STATUS)
def test_it_makes_every_allowed_status_change_and_records_its_push(old, new, manager):
    bulletin = make_bulletin(status=old)
    before = timezone.now()

    changed = bs_status_change(bulletin=bulletin, status=new, user=manager)

    bulletin.refresh_from_db()
    assert bulletin.status == changed.status == new
    assert bulletin.status_decided_at >= before
    assert bulletin.processed_by == "leila.gestionnaire"
    [operation] = operations()
    assert operation.kind == PUSH_STATUS
    assert operation.payload["body"]["oldStatus"] == BS_STATUS_TO_PLATFORM[old]
    assert operation.payload["body"]["newStatus"] == BS_STATUS_TO_PLATFORM[new]


def test_the_status_push_carries_the_wire_body(manager):
    bulletin = make_bulletin()

    bs_status_change(bulletin=bulletin, status=Status.VALIDATED, user=manager)

    bulletin.refresh_from_db()
    [operation] = operations()
    assert operation.platform == "tuniclaim"
    assert operation.connection is not None and operation.connection.platform == "tuniclaim"
    assert (operation.entity_type, operation.entity_id) == (ENTITY_TYPE, str(bulletin.pk))
    assert operation.payload["bordereau_external_id"] == bulletin.bordereau.external_id
    assert operation.payload["body"] == {
        "bordereauId": bulletin.bordereau.reference,
        "bsId": bulletin.number,
        "oldStatus": BS_STATUS_TO_PLATFORM[Status.IN_PROGRESS],
        "newStatus": BS_STATUS_TO_PLATFORM[Status.VALIDATED],
        "processedBy": "leila.gestionnaire",
        "processedAt": bulletin.status_decided_at.isoformat(timespec="microseconds"),
        "gestionnaireId": manager.pk,
    }


@pytest.mark.parametrize(("old", "new"), [
    # The same value again: nothing to push.
    *[(status, status) for status in Status.values],
    # Final states: a manager's mistake there is not undone silently.
    (Status.VALIDATED, Status.IN_PROGRESS), (Status.VALIDATED, Status.REJECTED),
    (Status.REJECTED, Status.VALIDATED), (Status.DELETED, Status.IN_PROGRESS),
    # Not in the workflow.
    (Status.RETURNED, Status.VALIDATED), (Status.ON_HOLD, Status.RETURNED),
    (Status.IN_PROGRESS, Status.DELETED),
])
def test_it_refuses_a_status_change_the_table_does_not_allow(old, new, manager):
    bulletin = make_bulletin(status=old)

    with pytest.raises(ServiceError) as refused:
        bs_status_change(bulletin=bulletin, status=new, user=manager)

    assert refused.value.status == 409
    assert refused.value.code == "invalid_status_transition"
    assert "status" in refused.value.details
    bulletin.refresh_from_db()
    assert (bulletin.status, bulletin.status_decided_at, bulletin.processed_by) == (old, None, "")
    assert operations() == []


def test_an_unknown_status_is_a_bad_request(manager):
    bulletin = make_bulletin()

    with pytest.raises(ServiceError) as refused:
        bs_status_change(bulletin=bulletin, status="TRAITE", user=manager)

    assert (refused.value.status, refused.value.code) == (400, "validation_error")
    assert "status" in refused.value.details
    assert operations() == []


def test_it_decides_on_the_row_as_it_is_now_not_on_the_callers_copy(manager):
    bulletin = make_bulletin()
    stale = BulletinSoin.objects.get(pk=bulletin.pk)
    bs_status_change(bulletin=bulletin, status=Status.VALIDATED, user=manager)

    with pytest.raises(ServiceError) as refused:
        bs_status_change(bulletin=stale, status=Status.REJECTED, user=manager)

    assert refused.value.code == "invalid_status_transition"
    assert len(operations()) == 1


def test_a_status_that_comes_back_is_pushed_each_time_under_its_own_key(manager):
    bulletin = make_bulletin()
    for status in (Status.ON_HOLD, Status.IN_PROGRESS, Status.ON_HOLD, Status.VALIDATED):
        bs_status_change(bulletin=bulletin, status=status, user=manager)

    pushed = operations(PUSH_STATUS)
    assert [op.payload["body"]["newStatus"] for op in pushed] == [
        BS_STATUS_TO_PLATFORM[s] for s in (Status.ON_HOLD, Status.IN_PROGRESS,
                                           Status.ON_HOLD, Status.VALIDATED)]
    assert len({op.idempotency_key for op in pushed}) == 4
    assert all(str(bulletin.pk) in op.idempotency_key for op in pushed)


# -- payment --------------------------------------------------------------------------

@pytest.mark.parametrize(("old", "new"), ALLOWED_PAYMENT)
def test_it_makes_every_allowed_payment_step_and_records_its_push(old, new, manager):
    bulletin = make_bulletin(status=Status.VALIDATED, payment_status=old)

    bs_payment_update(bulletin=bulletin, payment_status=new, amount=Decimal("100.250"),
                      user=manager)

    bulletin.refresh_from_db()
    assert bulletin.payment_status == new
    [operation] = operations()
    assert operation.kind == PUSH_PAYMENT
    assert operation.payload["body"]["paymentStatus"] == new


def test_the_payment_push_carries_the_wire_body(manager):
    bulletin = make_bulletin(status=Status.VALIDATED, payment_status=Payment.IN_EXECUTION)
    today = timezone.localdate()

    bs_payment_update(bulletin=bulletin, payment_status=Payment.EXECUTED, payment_date=today,
                      amount="150.5", transfer_reference="  VIR-2026-0042 ", user=manager)

    bulletin.refresh_from_db()
    assert bulletin.payment_amount == Decimal("150.500")
    assert bulletin.payment_date == today
    assert bulletin.transfer_reference == "VIR-2026-0042"
    [operation] = operations()
    assert (operation.entity_type, operation.entity_id) == (ENTITY_TYPE, str(bulletin.pk))
    assert operation.payload["bordereau_external_id"] == bulletin.bordereau.external_id
    assert operation.payload["body"] == {
        "bordereauId": bulletin.bordereau.reference,
        "bsId": bulletin.number,
        "paymentStatus": "EXECUTE",
        "paymentDate": today.isoformat(),
        "amount": "150.500",
        "virementReference": "VIR-2026-0042",
        "processedBy": "leila.gestionnaire",
    }


def test_what_a_step_leaves_out_is_kept_and_sent_again(manager):
    bulletin = make_bulletin(status=Status.VALIDATED)
    yesterday = timezone.localdate() - timedelta(days=1)
    bs_payment_update(bulletin=bulletin, payment_status=Payment.NOT_EXECUTED,
                      payment_date=yesterday, amount=Decimal("99.999"),
                      transfer_reference="VIR-1", user=manager)

    bs_payment_update(bulletin=bulletin, payment_status=Payment.IN_EXECUTION, user=manager)

    body = operations()[-1].payload["body"]
    assert (body["paymentDate"], body["amount"], body["virementReference"]) == (
        yesterday.isoformat(), "99.999", "VIR-1")


def test_a_payment_without_date_or_amount_sends_nulls(manager):
    bulletin = make_bulletin(status=Status.VALIDATED)

    bs_payment_update(bulletin=bulletin, payment_status=Payment.NOT_EXECUTED, user=manager)

    body = operations()[-1].payload["body"]
    assert (body["paymentDate"], body["amount"], body["virementReference"]) == (None, None, "")


@pytest.mark.parametrize(("old", "new"), [
    *[(status, status) for status in Payment.values],
    (Payment.EXECUTED, Payment.IN_EXECUTION), (Payment.EXECUTED, Payment.REJECTED),
    ("", Payment.IN_EXECUTION), ("", Payment.EXECUTED),
    (Payment.NOT_EXECUTED, Payment.EXECUTED), (Payment.PARTLY_EXECUTED, Payment.BLOCKED),
    (Payment.BLOCKED, Payment.EXECUTED), (Payment.REJECTED, Payment.NOT_EXECUTED),
])
def test_it_refuses_a_payment_step_the_table_does_not_allow(old, new, manager):
    bulletin = make_bulletin(status=Status.VALIDATED, payment_status=old)

    with pytest.raises(ServiceError) as refused:
        bs_payment_update(bulletin=bulletin, payment_status=new, amount="10", user=manager)

    assert (refused.value.status, refused.value.code) == (409, "invalid_payment_transition")
    assert "payment_status" in refused.value.details
    bulletin.refresh_from_db()
    assert (bulletin.payment_status, bulletin.payment_amount) == (old, None)
    assert operations() == []


@pytest.mark.parametrize("status", [s for s in Status.values if s != Status.VALIDATED])
def test_only_a_validated_bs_is_paid(status, manager):
    bulletin = make_bulletin(status=status)

    with pytest.raises(ServiceError) as refused:
        bs_payment_update(bulletin=bulletin, payment_status=Payment.NOT_EXECUTED, user=manager)

    assert (refused.value.status, refused.value.code) == (409, "invalid_payment_transition")
    assert operations() == []


@pytest.mark.parametrize(("amount", "stored"), [
    ("0.001", Decimal("0.001")),
    (Decimal("150.500"), Decimal("150.500")),
    ("150.5000", Decimal("150.500")),
    (150, Decimal("150.000")),
    ("12.345", Decimal("12.345")),
])
def test_amounts_are_kept_to_the_millime(amount, stored, manager):
    bulletin = make_bulletin(status=Status.VALIDATED)

    bs_payment_update(bulletin=bulletin, payment_status=Payment.NOT_EXECUTED, amount=amount,
                      user=manager)

    bulletin.refresh_from_db()
    assert bulletin.payment_amount == stored
    assert operations()[-1].payload["body"]["amount"] == f"{stored:.3f}"


@pytest.mark.parametrize("amount", [
    "1.0005",  # a tenth of a millime: refused, never rounded
    "0.0001", "0", "-5", "abc", "NaN", "Infinity", 1.5, "1e12",
])
def test_a_bad_amount_is_a_field_error(amount, manager):
    bulletin = make_bulletin(status=Status.VALIDATED)

    with pytest.raises(ServiceError) as refused:
        bs_payment_update(bulletin=bulletin, payment_status=Payment.NOT_EXECUTED,
                          amount=amount, user=manager)

    assert (refused.value.status, refused.value.code) == (400, "validation_error")
    assert list(refused.value.details) == ["amount"]
    bulletin.refresh_from_db()
    assert bulletin.payment_status == ""
    assert operations() == []


def test_the_amount_paid_is_at_most_the_amount_covered(manager):
    bulletin = make_bulletin(status=Status.VALIDATED, amount_covered="150.500")

    with pytest.raises(ServiceError) as refused:
        bs_payment_update(bulletin=bulletin, payment_status=Payment.NOT_EXECUTED,
                          amount="150.501", user=manager)
    assert (refused.value.status, list(refused.value.details)) == (400, ["amount"])
    assert "150.500" in refused.value.message

    bs_payment_update(bulletin=bulletin, payment_status=Payment.NOT_EXECUTED,
                      amount="150.500", user=manager)
    bulletin.refresh_from_db()
    assert bulletin.payment_amount == Decimal("150.500")


def test_a_partly_executed_payment_needs_an_amount(manager):
    bulletin = make_bulletin(status=Status.VALIDATED, payment_status=Payment.IN_EXECUTION)

    with pytest.raises(ServiceError) as refused:
        bs_payment_update(bulletin=bulletin, payment_status=Payment.PARTLY_EXECUTED,
                          user=manager)
    assert list(refused.value.details) == ["amount"]

    bs_payment_update(bulletin=bulletin, payment_status=Payment.PARTLY_EXECUTED,
                      amount="75.250", user=manager)
    bulletin.refresh_from_db()
    assert bulletin.payment_amount == Decimal("75.250")


def test_the_payment_date_is_not_in_the_future(manager):
    bulletin = make_bulletin(status=Status.VALIDATED)

    with pytest.raises(ServiceError) as refused:
        bs_payment_update(bulletin=bulletin, payment_status=Payment.NOT_EXECUTED,
                          payment_date=timezone.localdate() + timedelta(days=1), user=manager)

    assert (refused.value.status, list(refused.value.details)) == (400, ["payment_date"])


@pytest.mark.parametrize("reference", ["VIR-1\nVIR-2", "VIR\rX", "VIR\u2028X", "V" * 101])
def test_the_transfer_reference_is_one_short_line(reference, manager):
    bulletin = make_bulletin(status=Status.VALIDATED)

    with pytest.raises(ServiceError) as refused:
        bs_payment_update(bulletin=bulletin, payment_status=Payment.NOT_EXECUTED,
                          transfer_reference=reference, user=manager)

    assert (refused.value.status, list(refused.value.details)) == (400, ["transfer_reference"])


def test_every_bad_value_is_reported_at_once(manager):
    bulletin = make_bulletin(status=Status.VALIDATED)

    with pytest.raises(ServiceError) as refused:
        bs_payment_update(bulletin=bulletin, payment_status="PAYE", amount="1.2345",
                          payment_date=timezone.localdate() + timedelta(days=3),
                          transfer_reference="a\nb", user=manager)

    assert set(refused.value.details) == {"payment_status", "amount", "payment_date",
                                          "transfer_reference"}


# -- order ----------------------------------------------------------------------------

def test_the_pushes_of_one_bs_share_its_entity_in_the_order_decided(manager):
    bulletin = make_bulletin()
    other = make_bulletin()
    bs_status_change(bulletin=bulletin, status=Status.VALIDATED, user=manager)
    bs_status_change(bulletin=other, status=Status.REJECTED, user=manager)
    bs_payment_update(bulletin=bulletin, payment_status=Payment.NOT_EXECUTED, user=manager)

    mine = [op for op in operations() if op.entity_id == str(bulletin.pk)]
    assert [op.kind for op in mine] == [PUSH_STATUS, PUSH_PAYMENT]
    assert {op.entity_type for op in operations()} == {services.ENTITY_TYPE}
    assert mine[0].created_at <= mine[1].created_at
