"""The import: idempotent, updating what changed, never undoing a local decision."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.core.models import AttentionItem, SyncRun
from apps.tuniclaim.imports import IMPORT_KIND, import_run, import_trigger
from apps.tuniclaim.models import (
    Bordereau,
    BulletinSoin,
    BulletinSoinItem,
    Client,
    Contract,
)
from tests.tuniclaim.factories import (
    bulletin_record,
    item_record,
)

pytestmark = pytest.mark.django_db

Status = BulletinSoin.Status


def run_import(*, full: bool = False) -> SyncRun:
    run, started = import_trigger(full=full)
    assert started
    return import_run(run_id=run.pk)


def touch(record: dict) -> None:
    """The platform changed the record: its updatedAt moves to now."""
    record["updatedAt"] = timezone.now().isoformat()


def counts(run: SyncRun) -> dict[str, int]:
    return {name: getattr(run, name) for name in
            ("created", "updated", "unchanged", "invalid", "errors")}


def test_it_creates_everything_then_writes_nothing_on_a_second_import(platform):
    for _ in range(3):
        platform.add(bulletins=[bulletin_record(), bulletin_record()])

    first = run_import()
    assert first.status == SyncRun.Status.SUCCESS
    # 3 bordereaux and 6 BS.
    assert counts(first) == {"created": 9, "updated": 0, "unchanged": 0, "invalid": 0,
                             "errors": 0}
    assert (Bordereau.objects.count(), BulletinSoin.objects.count(),
            BulletinSoinItem.objects.count()) == (3, 6, 6)

    second = run_import(full=True)
    assert counts(second) == {"created": 0, "updated": 0, "unchanged": 9, "invalid": 0,
                              "errors": 0}
    # An unchanged batch's bulletins are not even fetched again.
    assert len(platform.bulletin_calls) == 3
    assert (Bordereau.objects.count(), BulletinSoin.objects.count(),
            BulletinSoinItem.objects.count()) == (3, 6, 6)
    assert platform.reported == [first, second]


def test_it_maps_a_bordereau_and_its_claims(platform):
    platform.add(reference="BR-1", dateReception="2025-03-03",
                 contract={"number": "GRP-1", "delaiReglement": 10, "delaiReclamation": 30},
                 statut="SCAN_TERMINE", bulletins=[bulletin_record(
                     numBs="BS-1", etat="IN_PROGRESS", totalPec=96.5,
                     items=[item_record(depense=45.25, pec="36.000"),
                            item_record(depense="75.000", pec="60.500", quantite="2")])])
    run_import()

    bordereau = Bordereau.objects.select_related("client", "contract").get()
    assert bordereau.reference == "BR-1"
    assert bordereau.status == Bordereau.Status.SCANNED
    assert bordereau.platform_status == "SCAN_TERMINE"
    assert str(bordereau.processing_deadline) == "2025-03-13"
    assert (bordereau.contract.settlement_days, bordereau.contract.claim_days) == (10, 30)
    bulletin = BulletinSoin.objects.get()
    assert bulletin.status == Status.IN_PROGRESS
    assert bulletin.amount_claimed == Decimal("120.250")
    assert bulletin.amount_covered == Decimal("96.500")
    assert bulletin.insured_name == "Ahmed Ben Salah"
    assert [(i.line_number, i.quantity) for i in bulletin.items.order_by("line_number")] == [
        (1, Decimal("1.000")), (2, Decimal("2.000"))]


def test_it_updates_a_changed_claim_and_keeps_the_local_decision(platform):
    claim = bulletin_record(numBs="BS-1", etat="EN_COURS", totalPec="36.000")
    record = platform.add(bulletins=[claim])
    run_import()
    bulletin = BulletinSoin.objects.get()
    # A manager validated it and recorded a payment.
    decided_at = timezone.now()
    BulletinSoin.objects.filter(pk=bulletin.pk).update(
        status=Status.VALIDATED, status_decided_at=decided_at, processed_by="manager",
        payment_status=BulletinSoin.PaymentStatus.EXECUTED, payment_amount=Decimal("36.000"),
        transfer_reference="VIR-1")

    claim.update(etat="REJECTED", totalPec="30.000", nomAssure="Ahmed Ben Salah Jr")
    touch(record)
    run = run_import()

    assert (run.updated, run.created) == (2, 0)  # the bordereau and its BS
    bulletin.refresh_from_db()
    assert bulletin.amount_covered == Decimal("30.000")
    assert bulletin.insured_name == "Ahmed Ben Salah Jr"
    assert bulletin.platform_status == "REJECTED"
    assert (bulletin.status, bulletin.status_decided_at, bulletin.processed_by) == (
        Status.VALIDATED, decided_at, "manager")
    assert (bulletin.payment_status, bulletin.payment_amount, bulletin.transfer_reference) == (
        BulletinSoin.PaymentStatus.EXECUTED, Decimal("36.000"), "VIR-1")


def test_an_undecided_status_follows_the_platform(platform):
    claim = bulletin_record(etat="EN_COURS")
    untouched = bulletin_record(etat="EN_COURS")
    record = platform.add(bulletins=[claim, untouched])
    run_import()

    claim["etat"] = "MIS_EN_INSTANCE"
    touch(record)
    run = run_import()

    assert run.updated == 2  # the bordereau and the BS that changed
    assert run.unchanged == 1
    assert BulletinSoin.objects.get(number=claim["numBs"]).status == Status.ON_HOLD
    assert BulletinSoin.objects.get(number=untouched["numBs"]).status == Status.IN_PROGRESS


def test_items_are_replaced_as_a_set_never_duplicated(platform):
    claim = bulletin_record(items=[item_record(nomProduit="A"), item_record(nomProduit="B")])
    record = platform.add(bulletins=[claim])
    run_import()
    claim["items"] = [item_record(nomProduit="C")]
    touch(record)
    run_import()
    run_import(full=True)

    assert list(BulletinSoinItem.objects.values_list("line_number", "product")) == [(1, "C")]


def test_clients_are_matched_by_code_never_by_name(platform):
    platform.add(client={"code": "C1", "name": "STAR"})
    platform.add(client={"code": "C2", "name": "STAR"})
    run_import()
    assert sorted(Client.objects.values_list("code", "name")) == [("C1", "STAR"), ("C2", "STAR")]

    platform.add(client={"code": "C1", "name": "STAR Assurances"},
                 updatedAt=timezone.now().isoformat())
    run_import()
    assert sorted(Client.objects.values_list("code", "name")) == [
        ("C1", "STAR Assurances"), ("C2", "STAR")]
    # One client per code, whatever the names.
    assert Client.objects.count() == 2


def test_missing_contracts_are_created_from_their_numbers(platform):
    platform.add(client={"code": "C1", "name": "STAR"},
                 contract={"number": "K-1", "delaiReglement": 7, "delaiReclamation": 20})
    platform.add(client={"code": "C2", "name": "COMAR"},
                 contract={"number": "K-1", "delaiReglement": 3})
    platform.add(client={"code": "C2", "name": "COMAR"}, contract=None)
    run_import()

    assert sorted(Contract.objects.values_list("client__code", "number", "settlement_days",
                                               "claim_days")) == [
        ("C1", "K-1", 7, 20), ("C2", "K-1", 3, 5)]
    assert Bordereau.objects.filter(contract__isnull=True).count() == 1


def test_amounts_are_exact_to_the_millime(platform):
    items = [item_record(depense="0.001", pec=0.001, participationAdherent="0.000")
             for _ in range(1000)]
    platform.add(bulletins=[bulletin_record(items=items, totalPec="1.000")])
    run_import()

    bulletin = BulletinSoin.objects.get()
    assert bulletin.amount_claimed == Decimal("1.000")
    total = sum(BulletinSoinItem.objects.values_list("amount_covered", flat=True), Decimal(0))
    assert total == Decimal("1.000")


def test_it_asks_for_what_changed_since_the_last_good_run_minus_the_lookback(
        platform, settings):
    settings.TUNICLAIM_LOOKBACK_MINUTES = 15
    platform.add()
    first = run_import()
    assert "updatedSince" not in platform.listing_calls[-1]  # the first run reads everything

    run_import()
    since = datetime.fromisoformat(platform.listing_calls[-1]["updatedSince"])
    assert (first.started_at - since).total_seconds() == 15 * 60

    run_import(full=True)
    assert "updatedSince" not in platform.listing_calls[-1]


def test_a_run_with_errors_does_not_move_the_cursor_on(platform):
    record = platform.add()
    first = run_import()
    platform.failing_bulletins.add(record["id"])
    touch(record)
    partial = run_import()
    assert partial.status == SyncRun.Status.PARTIAL
    assert partial.errors == 1

    run_import()
    since = datetime.fromisoformat(platform.listing_calls[-1]["updatedSince"])
    # Still from the first run: the batch the partial run missed is read again.
    assert since < first.started_at


def test_a_failing_bulletins_call_is_an_error_of_that_batch_only(platform):
    bad = platform.add()
    platform.add()
    platform.failing_bulletins.add(bad["id"])
    run = run_import()

    assert run.status == SyncRun.Status.PARTIAL
    assert run.errors == 1
    assert run.error_samples[0]["record"] == bad["reference"]
    assert list(Bordereau.objects.values_list("reference", flat=True)) != [bad["reference"]]
    assert Bordereau.objects.count() == 1

    platform.failing_bulletins.clear()
    run_import()
    assert Bordereau.objects.count() == 2


def test_a_failing_listing_ends_the_run_as_error(platform, settings):
    settings.TUNICLAIM_PAGE_SIZE = 1
    platform.add()
    platform.add()
    platform.failing_pages.add(2)
    run = run_import()

    assert run.status == SyncRun.Status.ERROR
    assert "could not be read" in run.error_samples[-1]["message"]
    assert Bordereau.objects.count() == 1  # the first page was imported
    assert platform.reported == [run]


def test_progress_is_counted_in_pages_with_the_total(platform, settings):
    settings.TUNICLAIM_PAGE_SIZE = 2
    for _ in range(5):
        platform.add()
    run = run_import()

    assert (run.progress_done, run.progress_total) == (3, 3)
    assert [call["page"] for call in platform.listing_calls] == ["1", "2", "3"]
    assert {call["pageSize"] for call in platform.listing_calls} == {"2"}


def test_a_bare_array_is_one_page(platform):
    platform.bare = True
    platform.add()
    platform.add()
    run = run_import()

    assert run.created == 4
    assert len(platform.listing_calls) == 1


def test_a_second_trigger_gets_the_running_run_back():
    run, started = import_trigger()
    again, started_again = import_trigger(full=True)

    assert (started, started_again) == (True, False)
    assert again.pk == run.pk
    assert SyncRun.objects.filter(kind=IMPORT_KIND).count() == 1


def test_the_trigger_sends_the_task_after_the_commit(platform,
                                                      django_capture_on_commit_callbacks):
    platform.add()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run, started = import_trigger()
        assert Bordereau.objects.count() == 0

    assert started and len(callbacks) == 1
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCESS
    assert Bordereau.objects.count() == 1


def test_the_hourly_task_starts_an_automatic_import(platform,
                                                     django_capture_on_commit_callbacks):
    from apps.tuniclaim.tasks import import_hourly

    platform.add()
    with django_capture_on_commit_callbacks(execute=True):
        run_id = import_hourly()

    run = SyncRun.objects.get(pk=run_id)
    assert (run.trigger, run.status) == (SyncRun.Trigger.AUTOMATIC, SyncRun.Status.SUCCESS)


def test_a_full_run_reads_again_a_batch_missing_claims(platform):
    record = platform.add(bulletins=[bulletin_record(), bulletin_record()])
    run_import()
    BulletinSoin.objects.filter(number=platform.bulletins[record["id"]][0]["numBs"]).delete()

    incremental = run_import()
    assert incremental.created == 0  # same hash: not read again
    full = run_import(full=True)
    assert full.created == 1
    assert BulletinSoin.objects.count() == 2


def test_no_attention_item_for_a_clean_import(platform):
    platform.add()
    run_import()
    assert not AttentionItem.objects.exists()
