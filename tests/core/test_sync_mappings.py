"""External mappings: our object ↔ its counterpart on one connection."""

from __future__ import annotations

import pytest

from apps.core.bulk import content_hash
from apps.core.errors import ServiceError
from apps.core.models import Connection, ExternalMapping
from apps.core.sync import mapping_find_local, mapping_find_locals, mapping_get, mapping_upsert

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection():
    return Connection.objects.create(platform="zenchef", name="Chez Paul")


def test_it_links_and_finds_both_ways(connection):
    raw = {"id": 9001, "covers": 4}
    mapping_upsert(entity_type="reservation", local_id=12, connection=connection,
                   external_id=9001, secondary_id="R-12", raw=raw)

    mapping = mapping_get(entity_type="reservation", local_id="12", connection=connection)
    assert (mapping.external_id, mapping.secondary_id, mapping.raw) == ("9001", "R-12", raw)
    assert mapping.content_hash == content_hash(raw)
    assert mapping.synced_at is not None
    assert mapping_find_local(connection=connection, external_id="9001",
                              entity_type="reservation") == "12"
    assert mapping_find_local(connection=connection, external_id="9001",
                              entity_type="order") is None


def test_it_moves_the_link_of_our_object_to_a_new_external_id(connection):
    mapping_upsert(entity_type="reservation", local_id=12, connection=connection,
                   external_id="old")

    mapping_upsert(entity_type="reservation", local_id=12, connection=connection,
                   external_id="new", status=ExternalMapping.Status.PENDING)

    mapping = ExternalMapping.objects.get()
    assert (mapping.external_id, mapping.status) == ("new", ExternalMapping.Status.PENDING)


def test_it_refuses_an_external_object_already_linked_to_another_of_ours(connection):
    mapping_upsert(entity_type="reservation", local_id=12, connection=connection,
                   external_id="9001")

    with pytest.raises(ServiceError) as refused:
        mapping_upsert(entity_type="reservation", local_id=13, connection=connection,
                       external_id="9001")

    assert refused.value.code == "MAPPING_TAKEN"
    assert refused.value.details == {"local_id": "12"}
    assert ExternalMapping.objects.count() == 1


def test_it_finds_a_page_of_local_ids_in_one_query(connection, django_assert_num_queries):
    for i in range(5):
        mapping_upsert(entity_type="customer", local_id=i, connection=connection,
                       external_id=f"c{i}")

    with django_assert_num_queries(1):
        found = mapping_find_locals(connection=connection, entity_type="customer",
                                    external_ids=["c1", "c3", "unknown"])

    assert found == {"c1": "1", "c3": "3"}
