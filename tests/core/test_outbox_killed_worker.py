"""A worker killed mid-call: its exchange stays on record as "started", and
its operation is taken back once the short lease ends, reconciled, never
sent twice."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from apps.core.models import OutboundOperation, SyncLog
from apps.core.operations import operations_due_ids
from apps.core.tasks import sweep
from tests.core.stub_platform import KIND, StubPlatform
from tests.factories import OutboundOperationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LEASE_SECONDS = 2
State = OutboundOperation.State

# What a Celery worker does with a run_operation message, in a process of its own.
WORKER = (
    "import sys, django; django.setup(); import tests.core.stub_platform; "
    "from apps.core.operations import operation_run; operation_run(int(sys.argv[1]))"
)


def _worker_environment() -> dict[str, str]:
    db = connection.settings_dict
    env = {key: value for key, value in os.environ.items()
           if key not in ("REDIS_URL", "CELERY_BROKER_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        # The test database, which the test's transactional_db commits to.
        DATABASE_URL=(f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
                      f"{db['PORT'] or 5432}/{db['NAME']}"),
        OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS),
    )
    return env


def _wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_it_takes_back_a_killed_workers_operation_and_reconciles_it(settings, tmp_path):
    settings.OUTBOX_LEASE_SECONDS = LEASE_SECONDS
    with StubPlatform(hang_first_create=True) as stub:
        operation = OutboundOperationFactory(kind=KIND, idempotency_key="stub:thing:1",
                                             payload={"base_url": stub.base_url})
        errors = tmp_path / "worker.err"
        with errors.open("w") as stderr:
            worker = subprocess.Popen(  # noqa: S603 - our own interpreter and code
                [sys.executable, "-c", WORKER, str(operation.pk)],
                cwd=Path(django_settings.BASE_DIR), env=_worker_environment(),
                stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            arrived = stub.create_arrived.wait(20)
            assert arrived, f"the worker never called the stub:\n{errors.read_text()}"
            # The worker waits for the answer: its exchange is already on record.
            cut_off = SyncLog.objects.get(action="thing.create")
            assert cut_off.status == SyncLog.Status.STARTED
            assert cut_off.operation_id == operation.pk
            assert cut_off.request_body == '{"key": "stub:thing:1"}'
            # Past its first lease, the live worker still holds the operation.
            time.sleep(LEASE_SECONDS * 1.5)
            assert operation.pk not in operations_due_ids()
        finally:
            worker.kill()
            worker.wait(10)
        killed_at = time.monotonic()

        assert _wait_for(lambda: operation.pk in operations_due_ids(), LEASE_SECONDS + 5)
        sweep()
        retaken_in = time.monotonic() - killed_at

        operation.refresh_from_db()
        assert operation.state == State.SUCCEEDED
        assert operation.result == {"id": 1, "reconciled": True}
        assert operation.attempts == 2
        assert retaken_in < 60
        assert stub.creates == ["stub:thing:1"]
        cut_off.refresh_from_db()
        assert cut_off.status == SyncLog.Status.STARTED
        assert cut_off.http_status is None
        assert SyncLog.objects.get(action="thing.reconcile").status == SyncLog.Status.SUCCESS
