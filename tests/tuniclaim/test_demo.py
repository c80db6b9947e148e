"""The demo batches go through the import's own path, once."""

from __future__ import annotations

import pytest

from apps.core.models import AttentionItem, SyncRun
from apps.tuniclaim.demo import BORDEREAUX, DEMO_KIND, demo_load
from apps.tuniclaim.imports import ATTENTION_INVALID_RECORD, IMPORT_KIND
from apps.tuniclaim.models import Bordereau, BulletinSoin, BulletinSoinItem, QuarantinedRecord

pytestmark = pytest.mark.django_db


def test_it_loads_the_batches_with_one_claim_in_quarantine():
    summary = demo_load()

    assert Bordereau.objects.count() == len(BORDEREAUX)
    assert BulletinSoin.objects.count() == 4
    assert BulletinSoinItem.objects.count() == 6
    entry = QuarantinedRecord.objects.get()
    assert (entry.record_key, entry.reason) == ("BS-0005", QuarantinedRecord.Reason.UNKNOWN_STATUS)
    assert AttentionItem.objects.open().filter(kind=ATTENTION_INVALID_RECORD).count() == 1
    assert "3 claim batches" in summary
    # Not an import of the platform: the link's health does not count it.
    assert not SyncRun.objects.filter(kind=IMPORT_KIND).exists()


def test_loading_it_again_changes_nothing():
    demo_load()
    demo_load()

    run = SyncRun.objects.filter(kind=DEMO_KIND).order_by("-pk").first()
    assert (run.created, run.updated, run.unchanged, run.invalid) == (0, 0, 7, 1)
    assert BulletinSoin.objects.count() == 4
    assert QuarantinedRecord.objects.count() == 1
