"""What the OpenAPI schema tells a client of /api/tuniclaim/: each operation's
error answers, the 202s, and the capped count of the big lists."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def paths() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)["paths"]


def responses(paths: dict, path: str, method: str) -> set[str]:
    return set(paths[f"/api/tuniclaim/{path}"][method]["responses"])


def test_it_documents_every_operation_of_the_app(paths):
    ours = {path: set(operations) - {"parameters"} for path, operations in paths.items()
            if path.startswith("/api/tuniclaim/")}

    assert ours == {
        "/api/tuniclaim/sync/": {"post"},
        "/api/tuniclaim/sync/status/": {"get"},
        "/api/tuniclaim/push-status/": {"post"},
        "/api/tuniclaim/push-payment/": {"post"},
        "/api/tuniclaim/bordereaux/": {"get"},
        "/api/tuniclaim/bordereaux/{id}/": {"get"},
        "/api/tuniclaim/bulletins/": {"get"},
        "/api/tuniclaim/bulletins/{id}/": {"get"},
    }


def test_the_pushes_document_the_bs_not_found_and_the_refused_transition(paths):
    for path in ("push-status/", "push-payment/"):
        assert {"202", "400", "401", "403", "404", "409", "415", "429"} <= responses(
            paths, path, "post")
    described = paths["/api/tuniclaim/push-status/"]["post"]["responses"]["409"]
    assert "invalid_status_transition" in described["description"]
    assert "$ref" in str(described["content"])


def test_the_sync_documents_its_202_and_the_busy_409(paths):
    assert {"202", "400", "401", "403", "409", "415"} <= responses(paths, "sync/", "post")
    assert {"200", "401", "403"} <= responses(paths, "sync/status/", "get")


def test_the_lists_document_their_filters_and_the_capped_count(paths):
    bulletins = paths["/api/tuniclaim/bulletins/"]["get"]
    names = {parameter["name"] for parameter in bulletins["parameters"]}
    page = bulletins["responses"]["200"]["content"]["application/json"]["schema"]

    assert {"client", "bordereau", "status", "payment_status", "created_from", "created_to",
            "page", "page_size"} <= names
    assert "404" in bulletins["responses"]
    assert "$ref" in str(page)
    bordereaux = {parameter["name"]
                  for parameter in paths["/api/tuniclaim/bordereaux/"]["get"]["parameters"]}
    assert {"client", "status", "received_from", "received_to"} <= bordereaux


def test_the_paginated_answer_names_count_is_exact():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    page = schema["components"]["schemas"]["PaginatedBulletinOutputList"]

    assert "count_is_exact" in page["properties"]
    assert "count_is_exact" in page["required"]
