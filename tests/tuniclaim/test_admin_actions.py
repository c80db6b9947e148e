"""What a manager decides in the back-office goes through the services, and to MY
TUNICLAIM through the outbox: a claim's status and its payment (each confirmed on a page
that says what will be sent), and "Retry import" of a quarantined record."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from apps.core.models import OutboundOperation, SyncRun
from apps.tuniclaim import imports
from apps.tuniclaim.models import BulletinSoin, QuarantinedRecord
from apps.tuniclaim.services import PUSH_PAYMENT, PUSH_STATUS
from tests.factories import view_only_user
from tests.tuniclaim.test_admin import make_bulletin, make_quarantined, make_run

pytestmark = pytest.mark.django_db

Status = BulletinSoin.Status
Payment = BulletinSoin.PaymentStatus
BS_LIST = reverse("admin:tuniclaim_bulletinsoin_changelist")
QUARANTINE = reverse("admin:tuniclaim_quarantinedrecord_changelist")


def _action_url(model: str, name: str, obj) -> str:
    return reverse(f"admin:tuniclaim_{model}_action_{name}", args=[obj.pk])


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def _pushes(kind: str) -> list[OutboundOperation]:
    return list(OutboundOperation.objects.filter(kind=kind).order_by("pk"))


# -- the claim's status -----------------------------------------------------------------------

def test_the_status_page_says_what_will_be_sent_before_anything_is(manager_client):
    bulletin = make_bulletin()

    page = manager_client.get(_action_url("bulletinsoin", "change_status", bulletin))

    content = page.content.decode()
    assert page.status_code == 200
    assert "sent to MY TUNICLAIM" in content
    assert "it can become: Validated, Rejected, On hold, Returned to the team lead" in content
    assert bulletin.number in content and bulletin.bordereau.reference in content
    assert 'name="status"' in content and "csrfmiddlewaretoken" in content
    bulletin.refresh_from_db()
    assert bulletin.status == Status.IN_PROGRESS and not _pushes(PUSH_STATUS)


def test_a_status_change_is_recorded_and_pushed_once(manager_client, manager_user):
    bulletin = make_bulletin()

    response = manager_client.post(_action_url("bulletinsoin", "change_status", bulletin),
                                   {"status": Status.VALIDATED, "apply": "1"}, follow=True)

    bulletin.refresh_from_db()
    assert (bulletin.status, bulletin.processed_by) == (Status.VALIDATED, manager_user.username)
    assert bulletin.status_decided_at is not None
    [push] = _pushes(PUSH_STATUS)
    assert push.payload["body"]["newStatus"] == "VALIDATED"
    assert push.payload["body"]["gestionnaireId"] == manager_user.pk
    assert push.entity_id == str(bulletin.pk)
    assert _messages(response) == [f'{bulletin.number}: now "Validated"; MY TUNICLAIM is told.']


def test_a_refused_transition_is_a_message_and_sends_nothing(manager_client):
    bulletin = make_bulletin(status=Status.RETURNED)

    response = manager_client.post(_action_url("bulletinsoin", "change_status", bulletin),
                                   {"status": Status.VALIDATED, "apply": "1"}, follow=True)

    [message] = _messages(response)
    assert "cannot become" in message
    bulletin.refresh_from_db()
    assert bulletin.status == Status.RETURNED and not _pushes(PUSH_STATUS)


def test_a_final_status_shows_the_button_disabled_with_the_reason(manager_client):
    bulletin = make_bulletin(status=Status.REJECTED)

    page = manager_client.get(reverse("admin:tuniclaim_bulletinsoin_change",
                                      args=[bulletin.pk])).content.decode()
    refused = manager_client.post(_action_url("bulletinsoin", "change_status", bulletin),
                                  {"status": Status.VALIDATED, "apply": "1"}, follow=True)

    assert "Its status is final (Rejected)" in page and "disabled" in page
    assert "Its status is final" in _messages(refused)[0]
    assert not _pushes(PUSH_STATUS)


def test_several_claims_are_validated_from_the_list(manager_client):
    first, second = make_bulletin(), make_bulletin()
    done = make_bulletin(status=Status.VALIDATED)
    chosen = [first.pk, second.pk, done.pk]

    confirm = manager_client.post(BS_LIST, {"action": "change_status",
                                            ACTION_CHECKBOX_NAME: chosen})
    applied = manager_client.post(BS_LIST, {"action": "change_status", "apply": "1",
                                            "status": Status.VALIDATED,
                                            ACTION_CHECKBOX_NAME: chosen}, follow=True)

    assert confirm.status_code == 200 and b"sent to MY TUNICLAIM" in confirm.content
    assert set(BulletinSoin.objects.values_list("status", flat=True)) == {Status.VALIDATED}
    assert len(_pushes(PUSH_STATUS)) == 2
    messages = _messages(applied)
    assert any("Its status is final" in message for message in messages)
    assert any(message.startswith("2 claim(s)") for message in messages)


# -- the payment ------------------------------------------------------------------------------

def test_a_payment_is_recorded_to_the_millime_and_pushed(manager_client, manager_user):
    bulletin = make_bulletin(status=Status.VALIDATED, payment_status=Payment.IN_EXECUTION)
    paid_on = timezone.localdate()

    page = manager_client.get(_action_url("bulletinsoin", "update_payment", bulletin))
    response = manager_client.post(
        _action_url("bulletinsoin", "update_payment", bulletin),
        {"payment_status": Payment.PARTLY_EXECUTED, "payment_date": paid_on.isoformat(),
         "amount": "100.001", "transfer_reference": "VIR-2026-0042", "apply": "1"}, follow=True)

    assert b"sent to MY TUNICLAIM" in page.content and b"120.400" in page.content
    assert b"(next: Partly executed, Rejected, Blocked, Executed)" in page.content
    bulletin.refresh_from_db()
    assert (bulletin.payment_status, str(bulletin.payment_amount), bulletin.payment_date,
            bulletin.transfer_reference) == (Payment.PARTLY_EXECUTED, "100.001", paid_on,
                                             "VIR-2026-0042")
    [push] = _pushes(PUSH_PAYMENT)
    assert (push.payload["body"]["amount"], push.payload["body"]["processedBy"]) == (
        "100.001", manager_user.username)
    assert "MY TUNICLAIM is told" in _messages(response)[0]


def test_a_payment_above_the_amount_covered_is_refused(manager_client):
    bulletin = make_bulletin(status=Status.VALIDATED, payment_status=Payment.IN_EXECUTION)

    response = manager_client.post(
        _action_url("bulletinsoin", "update_payment", bulletin),
        {"payment_status": Payment.EXECUTED, "amount": "120.401", "apply": "1"}, follow=True)

    assert "cannot be more than the amount covered (120.400)" in _messages(response)[0]
    bulletin.refresh_from_db()
    assert bulletin.payment_status == Payment.IN_EXECUTION and not _pushes(PUSH_PAYMENT)


def test_a_claim_not_validated_cannot_be_paid(manager_client):
    bulletin = make_bulletin()

    page = manager_client.get(reverse("admin:tuniclaim_bulletinsoin_change",
                                      args=[bulletin.pk])).content.decode()
    refused = manager_client.post(_action_url("bulletinsoin", "update_payment", bulletin),
                                  {"payment_status": Payment.NOT_EXECUTED, "apply": "1"},
                                  follow=True)

    assert "Only a validated claim is paid" in page
    assert "Only a validated claim is paid" in _messages(refused)[0]
    assert not _pushes(PUSH_PAYMENT)


def test_the_payment_is_not_a_list_action(manager_client):
    make_bulletin()

    response = manager_client.get(BS_LIST)

    offered = {name for name, _label in response.context["action_form"].fields["action"].choices}
    assert "change_status" in offered and "update_payment" not in offered


def test_a_reader_gets_no_action_and_cannot_post_one(client):
    bulletin = make_bulletin()
    client.force_login(view_only_user(BulletinSoin))

    page = client.get(reverse("admin:tuniclaim_bulletinsoin_change", args=[bulletin.pk]))
    refused = client.post(_action_url("bulletinsoin", "change_status", bulletin),
                          {"status": Status.VALIDATED, "apply": "1"})

    assert page.status_code == 200 and b"Change the status" not in page.content
    assert refused.status_code == 403
    assert not _pushes(PUSH_STATUS)


# -- retry import -------------------------------------------------------------------------------

@pytest.fixture
def retried(monkeypatch):
    calls = []

    def quarantine_retry(*, record, user=None):
        calls.append((record.pk, user))
        return make_run(trigger=SyncRun.Trigger.MANUAL, triggered_by=user)

    monkeypatch.setattr(imports, "quarantine_retry", quarantine_retry)
    return calls


def test_retry_import_on_the_records_page(manager_client, manager_user, retried):
    record = make_quarantined()

    response = manager_client.post(_action_url("quarantinedrecord", "retry_import", record),
                                   follow=True)

    assert retried == [(record.pk, manager_user)]
    run = SyncRun.objects.get()
    assert _messages(response) == [
        f"{record}: its bordereau was imported again (run #{run.pk}: Success)."]


def test_retry_import_from_the_list(manager_client, manager_user, retried):
    first, second = make_quarantined(), make_quarantined()
    taken = make_quarantined(released_at=timezone.now())

    # Listed with the records an import has taken already.
    response = manager_client.post(f"{QUARANTINE}?state=all", {
        "action": "retry_import", ACTION_CHECKBOX_NAME: [first.pk, second.pk, taken.pk]},
        follow=True)

    assert sorted(retried) == sorted([(first.pk, manager_user), (second.pk, manager_user)])
    messages = _messages(response)
    assert "2 record(s): their bordereau was imported again." in messages
    assert f"{taken}: An import has taken it already." in messages


def test_a_get_never_retries(manager_client, retried):
    record = make_quarantined()

    manager_client.get(_action_url("quarantinedrecord", "retry_import", record))

    assert retried == []
    assert QuarantinedRecord.objects.get().released_at is None
