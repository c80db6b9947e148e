"""The SSIN is encrypted at rest and never shown unmasked: not in the
database row, the audit log, the admin or the API."""

import json

import pytest
import time_machine
from django.core import serializers
from django.db import connection

from apps.core.models import SyncLog
from apps.dimona import services
from apps.dimona.models import Worker
from tests.dimona.factories import ShiftFactory, WorkerFactory, brussels
from tests.dimona.helpers import drive_outbox

pytestmark = pytest.mark.django_db
SSIN = "85073003328"


def test_it_keeps_the_ssin_unreadable_in_the_raw_row():
    worker = WorkerFactory(ssin=SSIN)
    with connection.cursor() as cursor:
        cursor.execute("SELECT ssin, ssin_index FROM dimona_worker WHERE id = %s", [worker.pk])
        raw_ssin, raw_index = cursor.fetchone()
    assert SSIN not in raw_ssin and SSIN not in raw_index
    assert raw_ssin.startswith("gAAAA")  # a Fernet token
    assert Worker.objects.get(pk=worker.pk).ssin == SSIN


def test_it_never_writes_the_ssin_to_the_audit_log(onss):
    onss.accept_posts()
    onss.result(900000000001, "A", period_id=77)
    with time_machine.travel(brussels(2026, 11, 22, 20), tick=False) as traveller:
        services.shift_declare(shift=ShiftFactory(worker=WorkerFactory(ssin=SSIN)))
        drive_outbox(traveller)
    assert onss.posted[0]["worker"] == {"ssin": SSIN}  # sent in full to the ONSS…
    logs = SyncLog.objects.all()
    assert logs.count() >= 3  # token, POST, GET
    dumped = serializers.serialize("json", logs)
    assert SSIN not in dumped  # …but never logged
    post = logs.get(action="dimona.in.send")
    assert json.loads(post.request_body)["worker"]["ssin"].endswith("328")
    assert "onss-token" not in dumped


def test_it_masks_the_ssin_in_the_admin(admin_client):
    worker = WorkerFactory(ssin=SSIN)
    for url in ("/admin/dimona/worker/", f"/admin/dimona/worker/{worker.pk}/change/"):
        page = admin_client.get(url)
        assert page.status_code == 200
        assert SSIN not in page.content.decode()
        assert "••••••••328" in page.content.decode()


def test_it_finds_a_worker_by_exact_ssin_in_the_admin(admin_client):
    worker = WorkerFactory(ssin=SSIN)
    WorkerFactory()
    page = admin_client.get("/admin/dimona/worker/", {"q": "85.07.30-033.28"})
    assert list(page.context["cl"].result_list) == [worker]


def test_it_masks_the_ssin_in_the_api(api_client):
    worker = WorkerFactory(ssin=SSIN)
    for url in ("/api/dimona/workers/", f"/api/dimona/workers/{worker.pk}/"):
        body = api_client.get(url).content.decode()
        assert SSIN not in body and "328" in body


def test_it_rotates_the_encryption_key_of_stored_ssins(settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    worker = WorkerFactory(ssin=SSIN)
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    assert Worker.objects.get(pk=worker.pk).ssin == SSIN  # old key still decrypts
    call_command("rotate_encryption_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert Worker.objects.get(pk=worker.pk).ssin == SSIN  # readable with the new key alone
