"""Each bordereau is one transaction: a failure in the middle leaves none of it."""

from __future__ import annotations

import pytest

from apps.core.models import SyncRun
from apps.tuniclaim import imports
from apps.tuniclaim.imports import import_run, import_trigger
from apps.tuniclaim.models import Bordereau, BulletinSoin, BulletinSoinItem, Client
from tests.tuniclaim.factories import bulletin_record

pytestmark = pytest.mark.django_db


def test_a_failure_in_the_middle_of_a_bordereau_leaves_none_of_it(platform, monkeypatch):
    broken = platform.add(bulletins=[bulletin_record(), bulletin_record()])
    platform.add(bulletins=[bulletin_record()])
    follow = imports._follow_platform_status

    def fail_on_the_first(bordereau_id, statuses):
        # Called once the batch, its BS and their items are written.
        if Bordereau.objects.filter(pk=bordereau_id, reference=broken["reference"]).exists():
            raise RuntimeError("the database went away")
        follow(bordereau_id, statuses)

    monkeypatch.setattr(imports, "_follow_platform_status", fail_on_the_first)
    run, _ = import_trigger()
    run = import_run(run_id=run.pk)

    assert run.status == SyncRun.Status.PARTIAL
    assert (run.errors, run.created) == (1, 2)
    assert run.error_samples[0]["record"] == broken["reference"]
    assert "the database went away" in run.error_samples[0]["message"]
    assert not Bordereau.objects.filter(reference=broken["reference"]).exists()
    assert BulletinSoin.objects.count() == 1
    assert BulletinSoinItem.objects.count() == 1
    # Clients and contracts are resolved for the page before the batches.
    assert Client.objects.count() == 1

    monkeypatch.setattr(imports, "_follow_platform_status", follow)
    again, _ = import_trigger()
    again = import_run(run_id=again.pk)
    assert (again.created, again.errors) == (3, 0)
    assert Bordereau.objects.count() == 2
