"""`?search=` on the Dimona lists a person searches: employers, workers, shifts."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.dimona.factories import EmployerFactory, ShiftFactory, WorkerFactory

pytestmark = pytest.mark.django_db


def _found(api_client, url: str, search: str) -> list[dict]:
    response = api_client.get(url, {"search": search})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_it_finds_employers_by_name_or_enterprise_number(api_client):
    marcel = EmployerFactory(name="Frituur Marcel")
    EmployerFactory(name="Bakkerij Jansens")

    assert [e["id"] for e in _found(api_client, "/api/dimona/employers/", "marcel")] == [
        marcel.pk]
    assert [e["id"] for e in _found(api_client, "/api/dimona/employers/",
                                    marcel.enterprise_number[:8])] == [marcel.pk]


def test_it_finds_workers_by_first_and_last_name_together(api_client):
    lina = WorkerFactory(first_name="Lina", last_name="Peeters")
    WorkerFactory(first_name="Lina", last_name="Claes")
    WorkerFactory(first_name="Jan", last_name="Peeters")

    found = _found(api_client, "/api/dimona/workers/", "lina peeters")

    assert [w["id"] for w in found] == [lina.pk]


def test_it_does_not_search_the_encrypted_national_number(api_client):
    worker = WorkerFactory(first_name="Lina", last_name="Peeters")

    assert _found(api_client, "/api/dimona/workers/", worker.ssin) == []


def test_it_finds_shifts_by_worker_or_employer_name(api_client):
    lina = ShiftFactory(worker=WorkerFactory(first_name="Lina", last_name="Peeters"),
                        employer=EmployerFactory(name="Frituur Marcel"))
    other = ShiftFactory(worker=WorkerFactory(first_name="Jan", last_name="Claes"),
                         employer=EmployerFactory(name="Bakkerij Jansens"))

    assert [s["id"] for s in _found(api_client, "/api/dimona/shifts/", "peeters")] == [lina.pk]
    assert [s["id"] for s in _found(api_client, "/api/dimona/shifts/", "jansens")] == [other.pk]


def test_it_documents_search_on_these_lists_only():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]

    def query_names(path: str) -> set[str]:
        return {p["name"] for p in paths[path]["get"].get("parameters", []) if p["in"] == "query"}

    for path in ("/api/dimona/employers/", "/api/dimona/workers/", "/api/dimona/shifts/"):
        assert "search" in query_names(path), path
    assert "search" not in query_names("/api/dimona/declarations/")
