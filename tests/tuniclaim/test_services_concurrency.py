"""Two managers deciding on one BS at the same moment: the second waits for the
first's row lock, then decides on the BS as the first left it (PostgreSQL: SQLite
has one writer at a time and would refuse the second instead of making it wait)."""

from __future__ import annotations

import threading

import pytest
import responses
from django.db import transaction

from apps.core.connections import client_cache_clear
from apps.core.errors import ServiceError
from apps.core.models import OutboundOperation
from apps.tuniclaim.models import BulletinSoin
from apps.tuniclaim.services import PUSH_STATUS, bs_status_change
from tests.helpers import a_backend_waits_on_a_lock, in_thread
from tests.tuniclaim.factories import BulletinSoinFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

Status = BulletinSoin.Status
API = "https://tuniclaim.test"


@responses.activate
def test_the_second_of_two_simultaneous_decisions_sees_the_first(settings, django_user_model):
    settings.TUNICLAIM_API_URL = API
    client_cache_clear()
    bulletin = BulletinSoinFactory()
    responses.put(f"{API}/api/bordereaux/{bulletin.bordereau.external_id}/status", json={})
    first_user = django_user_model.objects.create_user("leila", password="pw")
    second_user = django_user_model.objects.create_user("sami", password="pw")
    first_decided = threading.Event()
    release_first = threading.Event()
    results: list[BulletinSoin] = []
    errors: list[BaseException] = []

    def first() -> BulletinSoin:
        with transaction.atomic():
            decided = bs_status_change(bulletin=bulletin, status=Status.VALIDATED,
                                       user=first_user)
            first_decided.set()
            assert release_first.wait(5)
        return decided

    def second() -> BulletinSoin:
        return bs_status_change(bulletin=bulletin, status=Status.REJECTED, user=second_user)

    threads = [in_thread(first, results, errors)]
    threads[0].start()
    assert first_decided.wait(5)
    threads.append(in_thread(second, results, errors))
    threads[1].start()
    assert a_backend_waits_on_a_lock()
    release_first.set()
    for thread in threads:
        thread.join(10)
    client_cache_clear()

    assert [bs.status for bs in results] == [Status.VALIDATED]
    [refused] = errors
    assert isinstance(refused, ServiceError)
    assert (refused.status, refused.code) == (409, "invalid_status_transition")
    bulletin.refresh_from_db()
    assert (bulletin.status, bulletin.processed_by) == (Status.VALIDATED, "leila")
    [operation] = OutboundOperation.objects.filter(kind=PUSH_STATUS)
    assert operation.payload["body"]["newStatus"] == "VALIDATED"
    # Sent once, after the first decision committed.
    assert operation.state == OutboundOperation.State.SUCCEEDED
    assert len(responses.calls) == 1
