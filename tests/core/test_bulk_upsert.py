"""Bulk upsert: unchanged records are not written, and a chunk costs the same
few queries whether the import has one chunk or five (PostgreSQL and SQLite)."""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from apps.core.bulk import DEFAULT_CHUNK_SIZE, UpsertResult, bulk_upsert, content_hash
from apps.core.models import Connection, ExternalMapping

pytestmark = pytest.mark.django_db

KEYS = ("connection", "external_id", "entity_type")
CHUNK = 20


@pytest.fixture
def connection():
    return Connection.objects.create(platform="tuniclaim", name="ARS")


def _claims(connection, count: int, *, amount: int = 100) -> list[dict]:
    return [{"connection_id": connection.pk, "entity_type": "claim", "external_id": f"BS-{i}",
             "local_id": str(i), "raw": {"number": f"BS-{i}", "amount": amount + i}}
            for i in range(count)]


def _upsert(rows, **kwargs) -> UpsertResult:
    return bulk_upsert(model=ExternalMapping, rows=rows, key_fields=KEYS, chunk_size=CHUNK,
                       **kwargs)


def _writes(captured) -> list[str]:
    return [q["sql"] for q in captured
            if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


def test_it_creates_then_updates_only_what_changed(connection):
    first = _upsert(_claims(connection, 30))
    rows = _claims(connection, 30)
    rows[3]["raw"] = {"number": "BS-3", "amount": 999}
    rows[17]["raw"] = {"number": "BS-17", "amount": 0}

    second = _upsert([*rows, *_claims(connection, 32)[30:]])

    assert first == UpsertResult(created=30)
    assert second == UpsertResult(created=2, updated=2, unchanged=28)
    assert ExternalMapping.objects.count() == 32
    changed = ExternalMapping.objects.get(external_id="BS-3")
    assert changed.raw["amount"] == 999
    assert changed.content_hash == content_hash({k: v for k, v in rows[3].items()})


def test_it_writes_nothing_for_unchanged_records(connection):
    _upsert(_claims(connection, 3 * CHUNK))

    with CaptureQueriesContext(db) as captured:
        result = _upsert(_claims(connection, 3 * CHUNK))

    assert result == UpsertResult(unchanged=3 * CHUNK)
    assert _writes(captured) == []
    assert len(captured) == 3  # one read per chunk


@pytest.mark.parametrize("change", ["create", "update", "unchanged"])
def test_it_makes_as_many_queries_per_chunk_for_five_chunks_as_for_one(connection, change):
    other = Connection.objects.create(platform="tuniclaim", name="ARS test")
    if change != "create":
        _upsert(_claims(connection, CHUNK))
        _upsert(_claims(other, 5 * CHUNK))
    amount = 500 if change == "update" else 100

    with CaptureQueriesContext(db) as one_chunk:
        _upsert(_claims(connection, CHUNK, amount=amount))
    with CaptureQueriesContext(db) as five_chunks:
        _upsert(_claims(other, 5 * CHUNK, amount=amount))

    assert len(one_chunk) <= 3 + 2  # read, insert, update (and a savepoint around them)
    assert len(five_chunks) == 5 * len(one_chunk)


def test_it_makes_no_query_per_record(connection):
    with CaptureQueriesContext(db) as captured:
        _upsert(_claims(connection, CHUNK))

    assert len(captured) < CHUNK / 4


def test_it_finds_stored_records_by_their_whole_key(connection):
    # The same external id on another connection, and another entity type on
    # this one, are other records.
    other = Connection.objects.create(platform="tuniclaim", name="ARS test")
    _upsert(_claims(other, 2))
    _upsert([{**row, "entity_type": "bordereau", "local_id": f"b{i}"}
             for i, row in enumerate(_claims(connection, 2))])

    result = _upsert(_claims(connection, 2))

    assert result == UpsertResult(created=2)
    assert ExternalMapping.objects.count() == 6


def test_it_matches_keys_given_as_numbers_or_objects(connection):
    _upsert([{"connection": connection, "entity_type": "claim", "external_id": "42",
              "local_id": "7", "raw": {"a": 1}}])

    result = _upsert([{"connection_id": str(connection.pk), "entity_type": "claim",
                       "external_id": 42, "local_id": "7", "raw": {"a": 1}}])

    # The key matched (no second record), though "42" and 42 hash differently.
    assert result == UpsertResult(updated=1)
    assert ExternalMapping.objects.count() == 1


def test_it_keeps_the_last_of_a_key_repeated_in_one_chunk(connection):
    rows = _claims(connection, 2)
    repeated = {**rows[0], "raw": {"number": "BS-0", "amount": 1}}

    result = _upsert([*rows, repeated])

    assert result == UpsertResult(created=2, duplicates=1)
    assert ExternalMapping.objects.get(external_id="BS-0").raw["amount"] == 1


def test_it_ignores_excluded_fields_when_comparing(connection):
    from django.utils import timezone

    _upsert([{**row, "synced_at": timezone.now()} for row in _claims(connection, 3)],
            hash_exclude={"synced_at"})

    result = _upsert([{**row, "synced_at": timezone.now()} for row in _claims(connection, 3)],
                     hash_exclude={"synced_at"})

    assert result == UpsertResult(unchanged=3)


def test_it_uses_a_hash_given_with_the_row(connection):
    rows = [{**row, "content_hash": "v1"} for row in _claims(connection, 2)]
    _upsert(rows)

    again = _upsert([{**row, "raw": {"ignored": True}} for row in rows])

    assert again == UpsertResult(unchanged=2)


def test_it_refuses_keys_that_are_not_unique(connection):
    with pytest.raises(ValueError, match="not a unique constraint"):
        bulk_upsert(model=ExternalMapping, rows=_claims(connection, 1),
                    key_fields=("external_id",))


def test_it_hashes_the_same_content_alike_whatever_the_key_order():
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})
    assert len(content_hash({})) == 64


def test_it_takes_full_default_chunks_within_the_database_parameter_limits(connection):
    # SQLite caps the parameters of one statement; a default-sized chunk must still go.
    count = DEFAULT_CHUNK_SIZE + 1

    created = bulk_upsert(model=ExternalMapping, rows=_claims(connection, count),
                          key_fields=KEYS)
    updated = bulk_upsert(model=ExternalMapping, rows=_claims(connection, count, amount=7),
                          key_fields=KEYS)

    assert created == UpsertResult(created=count)
    assert updated == UpsertResult(updated=count)
    assert ExternalMapping.objects.get(external_id="BS-500").raw["amount"] == 507
