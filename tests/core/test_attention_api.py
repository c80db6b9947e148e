"""`GET /api/attention/`: the open items for Managers, paginated and filterable."""

from __future__ import annotations

import pytest
import time_machine
from rest_framework.test import APIClient

from apps.core.attention import attention_clear, attention_raise
from tests.dimona.factories import ShiftFactory, brussels
from tests.factories import UserFactory
from tests.symphonics.factories import InterventionFactory

pytestmark = pytest.mark.django_db

URL = "/api/attention/"


@pytest.fixture
def items():
    shift = ShiftFactory()
    intervention = InterventionFactory()
    with time_machine.travel(brussels(2026, 11, 22, 20), tick=False):
        refused = attention_raise(domain="dimona", kind="dimona.refused",
                                  summary="Dimona-in refused", subject=shift)
    with time_machine.travel(brussels(2026, 11, 22, 21), tick=False):
        failed = attention_raise(domain="symphonics", kind="symphonics.publish_failed",
                                 summary="Publication refused", subject=intervention)
    attention_raise(domain="dimona", kind="dimona.warnings", summary="cleared", subject=shift)
    attention_clear(kind="dimona.warnings", subject=shift)
    return {"shift": shift, "intervention": intervention, "refused": refused, "failed": failed}


def test_it_lists_open_items_newest_first_for_a_manager(api_client, items):
    response = api_client.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    first, second = body["results"]
    assert set(first) == {"id", "domain", "kind", "summary", "object_url", "created_at"}
    assert (first["id"], first["domain"], first["kind"], first["summary"]) == (
        items["failed"].pk, "symphonics", "symphonics.publish_failed", "Publication refused")
    assert first["object_url"] == (
        f"http://testserver/admin/symphonics/intervention/{items['intervention'].pk}/change/")
    assert second["object_url"].endswith(f"/admin/dimona/shift/{items['shift'].pk}/change/")


def test_it_filters_by_domain_and_kind(api_client, items):
    by_domain = api_client.get(URL, {"domain": "dimona"}).json()["results"]
    by_kind = api_client.get(URL, {"kind": "symphonics.publish_failed"}).json()["results"]
    nothing = api_client.get(URL, {"domain": "dimona", "kind": "symphonics.publish_failed"})

    assert [item["id"] for item in by_domain] == [items["refused"].pk]
    assert [item["id"] for item in by_kind] == [items["failed"].pk]
    assert nothing.json()["count"] == 0


def test_it_pages_like_the_other_lists(api_client, items):
    page = api_client.get(URL, {"page_size": 1}).json()
    assert (page["count"], len(page["results"])) == (2, 1)
    assert page["next"]


def test_it_refuses_anyone_but_a_manager(items):
    outsider = APIClient()
    outsider.force_authenticate(UserFactory())
    anonymous = APIClient()

    refused = outsider.get(URL)

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert anonymous.get(URL).status_code in (401, 403)


def test_it_is_in_the_api_schema(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"][URL]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"domain", "kind", "page"}
