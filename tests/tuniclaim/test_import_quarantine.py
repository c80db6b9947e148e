"""Bad records are quarantined with their reason, never abort a run, and are
released (with their attention item) once they import."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.core.errors import ServiceError
from apps.core.models import AttentionItem, SyncRun
from apps.tuniclaim.imports import (
    ATTENTION_INVALID_RECORD,
    import_run,
    import_trigger,
    quarantine_retry,
)
from apps.tuniclaim.models import Bordereau, BulletinSoin, QuarantinedRecord
from tests.tuniclaim.factories import (
    bordereau_record,
    bulletin_record,
    item_record,
)

pytestmark = pytest.mark.django_db

Reason = QuarantinedRecord.Reason
Kind = QuarantinedRecord.Kind


def run_import(*, full: bool = False) -> SyncRun:
    run, started = import_trigger(full=full)
    assert started
    return import_run(run_id=run.pk)


def touch(record: dict) -> None:
    record["updatedAt"] = timezone.now().isoformat()


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"reference": None}, Reason.MISSING_KEY),
    ({"reference": "  "}, Reason.MISSING_KEY),
    ({"id": None}, Reason.MISSING_KEY),
    ({"client": {"name": "STAR"}}, Reason.MISSING_CLIENT),
    ({"client": None}, Reason.MISSING_CLIENT),
    ({"statut": "EN_EXPERTISE"}, Reason.UNKNOWN_STATUS),
    ({"statut": None}, Reason.UNKNOWN_STATUS),
    ({"dateReception": "03/03/2025"}, Reason.BAD_DATE),
    ({"dateReception": None}, Reason.BAD_DATE),
    ({"updatedAt": "yesterday"}, Reason.BAD_DATE),
    ({"nombreBS": "many"}, Reason.BAD_RECORD),
    ({"contract": "GRP-1"}, Reason.BAD_RECORD),
])
def test_a_bad_bordereau_is_quarantined_and_the_run_goes_on(platform, overrides, reason):
    bad = platform.add(record=bordereau_record(**overrides))
    platform.add()
    run = run_import()

    assert run.status == SyncRun.Status.PARTIAL
    assert (run.invalid, run.errors, run.created) == (1, 0, 2)
    entry = QuarantinedRecord.objects.get()
    assert (entry.kind, entry.reason, entry.run_id) == (Kind.BORDEREAU, reason, run.pk)
    assert entry.payload["prestataire"] == bad["prestataire"]
    item = AttentionItem.objects.get(kind=ATTENTION_INVALID_RECORD)
    assert item.object_id == str(entry.pk)
    assert item.domain == "tuniclaim"
    assert "retry import" in item.action_hint
    assert str(QuarantinedRecord.Reason(reason).label) in item.summary


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"numBs": None}, Reason.MISSING_KEY),
    ({"etat": "EN_EXPERTISE"}, Reason.UNKNOWN_STATUS),
    ({"totalPec": "12.3456"}, Reason.BAD_AMOUNT),
    ({"totalPec": "douze"}, Reason.BAD_AMOUNT),
    ({"items": [item_record(depense="1,500")]}, Reason.BAD_AMOUNT),
    ({"items": [item_record(pec=-1)]}, Reason.BAD_AMOUNT),
    ({"dateMaladie": "2025-02-31"}, Reason.BAD_DATE),
    ({"items": [item_record(datePrestation="demain")]}, Reason.BAD_DATE),
    ({"items": "none"}, Reason.BAD_RECORD),
    ({"codeAssure": {"code": 1}}, Reason.BAD_RECORD),
])
def test_a_bad_claim_is_quarantined_and_its_batch_imported(platform, overrides, reason):
    good = bulletin_record()
    bad = bulletin_record(**overrides)
    record = platform.add(bulletins=[good, bad])
    run = run_import()

    assert (run.invalid, run.errors) == (1, 0)
    assert list(BulletinSoin.objects.values_list("number", flat=True)) == [good["numBs"]]
    entry = QuarantinedRecord.objects.get()
    assert (entry.kind, entry.reason, entry.bordereau_external_id) == (
        Kind.BULLETIN, reason, record["id"])
    # The insured's name is not kept in clear outside the encrypted model.
    assert "Ahmed" not in str(entry.payload)
    assert AttentionItem.objects.open().filter(kind=ATTENTION_INVALID_RECORD).count() == 1


def test_a_record_seen_again_keeps_one_entry(platform):
    platform.add(record=bordereau_record(statut="EN_EXPERTISE"))
    run_import()
    run_import(full=True)

    assert QuarantinedRecord.objects.count() == 1
    assert AttentionItem.objects.open().count() == 1


def test_a_claim_corrected_on_the_platform_is_released(platform):
    bad = bulletin_record(etat="EN_EXPERTISE")
    record = platform.add(bulletins=[bulletin_record(), bad])
    run_import()
    entry = QuarantinedRecord.objects.get()

    bad["etat"] = "VALIDATED"
    touch(record)
    run = run_import()

    assert (run.invalid, run.created) == (0, 1)
    entry.refresh_from_db()
    assert entry.released_at is not None
    assert not AttentionItem.objects.open().exists()
    assert BulletinSoin.objects.get(number=bad["numBs"]).status == BulletinSoin.Status.VALIDATED


def test_a_quarantined_claim_is_read_again_even_if_its_batch_did_not_change(platform):
    bad = bulletin_record(etat="EN_EXPERTISE")
    platform.add(bulletins=[bad])
    run_import()

    # Corrected without the batch's updatedAt moving: a full run still takes it.
    bad["etat"] = "EN_COURS"
    run = run_import(full=True)
    assert run.created == 1
    assert QuarantinedRecord.objects.get().released_at is not None


def test_a_bordereau_corrected_on_the_platform_is_released(platform):
    record = platform.add(record=bordereau_record(statut="EN_EXPERTISE"))
    run_import()

    record["statut"] = "EN_COURS"
    touch(record)
    run_import()

    assert Bordereau.objects.filter(reference=record["reference"]).exists()
    assert QuarantinedRecord.objects.get().released_at is not None
    assert not AttentionItem.objects.open().exists()


def test_retry_import_of_a_claim_fetches_its_batch_again(platform):
    bad = bulletin_record(etat="EN_EXPERTISE")
    platform.add(bulletins=[bulletin_record(), bad])
    run_import()
    entry = QuarantinedRecord.objects.get()

    bad["etat"] = "RETOURNE_CHEF"
    run = quarantine_retry(record=entry)

    assert run.status == SyncRun.Status.SUCCESS
    assert run.created == 1
    entry.refresh_from_db()
    assert entry.released_at is not None
    assert BulletinSoin.objects.get(number=bad["numBs"]).status == BulletinSoin.Status.RETURNED


def test_retry_import_of_a_bordereau_reads_the_listing_for_it(platform):
    record = platform.add(record=bordereau_record(client={"name": "STAR"}))
    run_import()
    entry = QuarantinedRecord.objects.get()

    record["client"] = {"code": "CLI-STAR", "name": "STAR"}
    touch(record)
    run = quarantine_retry(record=entry)

    assert run.created == 2
    assert Bordereau.objects.filter(reference=record["reference"]).exists()
    entry.refresh_from_db()
    assert entry.released_at is not None


def test_retry_import_is_refused_while_an_import_runs(platform):
    platform.add(record=bordereau_record(statut="EN_EXPERTISE"))
    run_import()
    entry = QuarantinedRecord.objects.get()
    import_trigger()

    with pytest.raises(ServiceError) as refused:
        quarantine_retry(record=entry)
    assert refused.value.status == 409


def test_retry_of_a_bordereau_with_an_unreadable_date_reads_the_whole_listing(platform):
    record = platform.add(record=bordereau_record(updatedAt="yesterday"))
    run_import()
    entry = QuarantinedRecord.objects.get()

    record["updatedAt"] = timezone.now().isoformat()
    run = quarantine_retry(record=entry)

    assert "updatedSince" not in platform.listing_calls[-1]
    assert run.created == 2
    entry.refresh_from_db()
    assert entry.released_at is not None


def test_retry_of_a_record_no_longer_listed_is_an_error_of_the_run(platform):
    platform.add(record=bordereau_record(statut="EN_EXPERTISE"))
    run_import()
    entry = QuarantinedRecord.objects.get()
    platform.bordereaux.clear()

    run = quarantine_retry(record=entry)

    assert run.status == SyncRun.Status.PARTIAL
    assert run.errors == 1
    entry.refresh_from_db()
    assert entry.released_at is None


def test_a_released_record_is_not_retried(platform):
    bad = bulletin_record(etat="EN_EXPERTISE")
    record = platform.add(bulletins=[bad])
    run_import()
    bad["etat"] = "EN_COURS"
    touch(record)
    run_import()

    with pytest.raises(ServiceError) as refused:
        quarantine_retry(record=QuarantinedRecord.objects.get())
    assert refused.value.code == "record_released"


def test_a_batch_restored_to_what_we_hold_releases_its_entry(platform):
    record = platform.add()
    run_import()
    good = dict(record)
    record["statut"] = "EN_EXPERTISE"
    touch(record)
    run_import()
    assert QuarantinedRecord.objects.get().released_at is None

    # The platform puts back exactly the version we imported.
    platform.bordereaux[:] = [good]
    run = run_import(full=True)

    assert run.invalid == 0
    assert QuarantinedRecord.objects.get().released_at is not None
    assert not AttentionItem.objects.open().exists()
