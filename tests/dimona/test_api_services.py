"""Employers and workers are saved by the services: from the API, and workers from the admin."""

from __future__ import annotations

from unittest import mock

import pytest

from apps.dimona import services
from apps.dimona.models import Employer, Worker
from tests.dimona.factories import WorkerFactory

pytestmark = pytest.mark.django_db


def spy(name: str):
    return mock.patch.object(services, name, wraps=getattr(services, name))


def test_the_employer_views_save_through_the_services(api_client):
    with spy("employer_create") as create:
        created = api_client.post("/api/dimona/employers/", {
            "name": "Frituur Marcel", "enterprise_number": "BE 0403.170.701",
            "joint_commission": "302"}, format="json")
    assert created.status_code == 201, created.content
    create.assert_called_once_with(name="Frituur Marcel", enterprise_number="0403170701",
                                   joint_commission="302")
    assert created.json()["enterprise_number"] == "0403170701"

    with spy("employer_update") as update:
        changed = api_client.patch(f"/api/dimona/employers/{created.json()['id']}/",
                                   {"name": "Chez Marcel"}, format="json")
    assert changed.status_code == 200, changed.content
    assert update.call_args.kwargs["name"] == "Chez Marcel"
    assert Employer.objects.get().name == changed.json()["name"] == "Chez Marcel"


def test_the_worker_rename_saves_through_the_service(api_client):
    worker = WorkerFactory(first_name="Lina")
    with spy("worker_update_names") as rename:
        response = api_client.patch(f"/api/dimona/workers/{worker.pk}/",
                                    {"last_name": "Janssens"}, format="json")
    assert response.status_code == 200, response.content
    rename.assert_called_once()
    assert rename.call_args.kwargs["last_name"] == "Janssens"
    worker.refresh_from_db()
    assert (worker.first_name, worker.last_name) == ("Lina", "Janssens")


def test_the_worker_admin_sets_the_ssin_through_the_service(manager_client):
    worker = WorkerFactory(first_name="Lina", ssin="85073003328")
    with spy("worker_set_ssin") as set_ssin, spy("worker_update_names") as rename:
        response = manager_client.post(f"/admin/dimona/worker/{worker.pk}/change/", {
            "first_name": "Lina", "last_name": "Peeters", "new_ssin": "85.07.30-034.27"})
    assert response.status_code == 302, response.content
    rename.assert_called_once()
    set_ssin.assert_called_once()
    worker.refresh_from_db()
    assert worker.last_name == "Peeters"
    assert worker.ssin_index == Worker.index_for("85073003427")


def test_the_worker_admin_creates_through_the_service_and_refuses_a_taken_ssin(manager_client):
    WorkerFactory(ssin="85073003328")
    with spy("worker_create") as create:
        taken = manager_client.post("/admin/dimona/worker/add/", {
            "first_name": "A", "last_name": "B", "new_ssin": "85073003328"})
        added = manager_client.post("/admin/dimona/worker/add/", {
            "first_name": "Jan", "last_name": "Peeters", "new_ssin": "85073003427"})
    assert taken.status_code == 200 and "Another worker has this national number" in \
        taken.content.decode()
    assert added.status_code == 302, added.content
    create.assert_called_once_with(first_name="Jan", last_name="Peeters", ssin="85073003427")
    assert Worker.objects.filter(ssin_index=Worker.index_for("85073003427")).exists()

