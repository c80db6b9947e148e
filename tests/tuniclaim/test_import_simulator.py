"""The import against the MY TUNICLAIM simulator over real HTTP: created,
then unchanged, then a changed claim updated with the local decision kept,
and each kind of invalid record the simulator makes quarantined."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.utils import timezone

from apps.core.models import SyncRun
from apps.tuniclaim import reports
from apps.tuniclaim.imports import import_run, import_trigger
from apps.tuniclaim.models import Bordereau, BulletinSoin, BulletinSoinItem, QuarantinedRecord

pytestmark = pytest.mark.django_db

Reason = QuarantinedRecord.Reason


@pytest.fixture(autouse=True)
def _no_report(monkeypatch):
    monkeypatch.setattr(reports, "report_after_run", lambda *, run: None)


def control(sim, method: str, action: str, body: Any = None) -> dict[str, Any]:
    answer = requests.request(method, f"{sim.base_url}/_sim/{action}", json=body, timeout=30)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def run_import(*, full: bool = False) -> SyncRun:
    run, started = import_trigger(full=full)
    assert started
    return import_run(run_id=run.pk)


def test_created_then_unchanged_then_updated_keeping_the_local_status(tuniclaim_simulator,
                                                                      settings):
    settings.TUNICLAIM_PAGE_SIZE = 2
    sim = tuniclaim_simulator()

    first = run_import()
    assert first.status == SyncRun.Status.SUCCESS, first.error_samples
    assert (first.created, first.updated, first.errors) == (25, 0, 0)
    assert (first.progress_done, first.progress_total) == (3, 3)
    items = BulletinSoinItem.objects.count()

    second = run_import(full=True)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 25)

    # A manager decides on every claim; then the platform changes one.
    BulletinSoin.objects.update(status=BulletinSoin.Status.VALIDATED,
                                status_decided_at=timezone.now())
    changed = control(sim, "POST", "change", {"claims": 1, "field": "amount"})["claims"][0]
    third = run_import()

    assert (third.created, third.updated) == (0, 2)  # the bordereau and its claim
    claim = BulletinSoin.objects.get(bordereau__external_id=changed["id"],
                                     number=changed["bsId"])
    assert claim.status == BulletinSoin.Status.VALIDATED
    assert BulletinSoinItem.objects.count() == items


@pytest.mark.parametrize(("kind", "record", "reason"), [
    ("missing_reference", "bordereau", Reason.MISSING_KEY),
    ("missing_client_code", "bordereau", Reason.MISSING_CLIENT),
    ("unknown_status", "bordereau", Reason.UNKNOWN_STATUS),
    ("unknown_status", "bulletin", Reason.UNKNOWN_STATUS),
    ("bad_amount", "bulletin", Reason.BAD_AMOUNT),
    ("bad_amount", "item", Reason.BAD_AMOUNT),
    ("bad_date", "bordereau", Reason.BAD_DATE),
    ("bad_date", "item", Reason.BAD_DATE),
    ("missing_bs_number", "bulletin", Reason.MISSING_KEY),
])
def test_each_invalid_record_of_the_simulator_is_quarantined(tuniclaim_simulator, kind, record,
                                                             reason):
    sim = tuniclaim_simulator(batches=1)
    control(sim, "POST", "invalid", {"kind": kind, "record": record})

    run = run_import()

    assert run.status == SyncRun.Status.PARTIAL
    assert (run.invalid, run.errors) == (1, 0)
    entry = QuarantinedRecord.objects.get()
    assert entry.reason == reason
    assert entry.kind == ("bordereau" if record == "bordereau" else "bulletin")
    assert Bordereau.objects.count() == (1 if record == "bordereau" else 2)
