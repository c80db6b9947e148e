"""Chunked bulk upsert with content hashing, for imports of thousands of records.

Each record carries a hash of its content; a record whose hash has not
changed since the last import is not written at all. Per chunk the database
sees one SELECT (the chunk's keys and their stored hashes), one INSERT of the
new records and one UPDATE of the changed ones, whatever is in the chunk, so
an import of 50,000 claims costs 100 chunks' worth of queries, not 50,000
round trips. (SQLite caps the parameters of one statement, so there a big
chunk's INSERT and UPDATE are split into a few statements: still a number
set by the chunk size, not by the number of records.)

The key fields must be a unique constraint of the model: the INSERT is an
"insert or update on conflict", so a record another worker inserted between
our SELECT and our INSERT is updated instead of failing the chunk.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.db import models, transaction

DEFAULT_CHUNK_SIZE = 500


def content_hash(data: Any) -> str:
    """SHA-256 of a canonical JSON form: the same content gives the same hash
    whatever the order of its keys (dates, decimals and UUIDs as text)."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # Earlier copies of a key that appears twice in one chunk: the last wins.
    duplicates: int = 0

    def __add__(self, other: UpsertResult) -> UpsertResult:
        return UpsertResult(self.created + other.created, self.updated + other.updated,
                            self.unchanged + other.unchanged, self.duplicates + other.duplicates)


def bulk_upsert(
    *,
    model: type[models.Model],
    rows: Iterable[dict[str, Any]],
    key_fields: Sequence[str],
    hash_field: str = "content_hash",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    hash_exclude: Collection[str] = (),
) -> UpsertResult:
    """Insert new rows, update changed ones, leave unchanged ones alone.

    `rows` are dicts of field values (a foreign key by its name with an
    object, or by its attname with an id). A row's hash is its `hash_field`
    if given, else `content_hash` of the row without `hash_field` and
    `hash_exclude` (leave out values that change at every import, such as a
    "seen at" time, or every record looks changed). Each chunk commits on its
    own, so a failure loses at most the chunk it happened in.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    plan = _Plan.for_model(model, key_fields, hash_field)
    total = UpsertResult()
    for chunk in _chunks(rows, chunk_size):
        total += _upsert_chunk(plan, chunk, set(hash_exclude), chunk_size)
    return total


@dataclass(frozen=True)
class _Plan:
    model: type[models.Model]
    keys: tuple[models.Field, ...]
    hash: models.Field

    @classmethod
    def for_model(cls, model: type[models.Model], key_fields: Sequence[str],
                  hash_field: str) -> _Plan:
        opts = model._meta
        keys = tuple(opts.get_field(name) for name in key_fields)
        if not keys:
            raise ValueError("bulk_upsert needs at least one key field")
        names = {field.name for field in keys}
        if not any(names == set(unique) for unique in _unique_sets(model)):
            raise ValueError(f"{opts.label}: {sorted(names)} is not a unique constraint; "
                             f"an upsert by it could not tell records apart")
        return cls(model=model, keys=keys, hash=opts.get_field(hash_field))

    def key_of(self, row: dict[str, Any]) -> tuple:
        return tuple(_field_value(field, row) for field in self.keys)


def _unique_sets(model: type[models.Model]) -> Iterator[tuple[str, ...]]:
    opts = model._meta
    for field in opts.concrete_fields:
        if field.unique:
            yield (field.name,)
    yield from (tuple(fields) for fields in opts.unique_together)
    for constraint in opts.total_unique_constraints:
        yield tuple(constraint.fields)


def _field_value(field: models.Field, row: dict[str, Any]) -> Any:
    if field.attname in row:
        value = row[field.attname]
    else:
        value = row[field.name]
        if isinstance(value, models.Model):
            value = value.pk
    # The same key read back from the database must compare equal: "42" and 42
    # are one external id.
    return field.to_python(value)


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _upsert_chunk(plan: _Plan, chunk: list[dict[str, Any]], hash_exclude: set[str],
                  chunk_size: int) -> UpsertResult:
    by_key: dict[tuple, tuple[dict[str, Any], str]] = {}
    for row in chunk:
        by_key[plan.key_of(row)] = (row, _row_hash(plan, row, hash_exclude))
    duplicates = len(chunk) - len(by_key)

    stored = _stored_hashes(plan, by_key)
    new_objects, changed_objects, unchanged = [], [], 0
    written: set[str] = set()
    for key, (row, digest) in by_key.items():
        if key in stored and stored[key][1] == digest:
            unchanged += 1
            continue
        obj = plan.model(**{**row, plan.hash.name: digest})
        written.update(_field_names(plan, row))
        if key in stored:
            obj.pk = stored[key][0]
            changed_objects.append(obj)
        else:
            new_objects.append(obj)

    key_names = {field.name for field in plan.keys}
    update_fields = sorted((written | {plan.hash.name}) - key_names)
    if not (new_objects or changed_objects):
        return UpsertResult(unchanged=unchanged, duplicates=duplicates)
    with transaction.atomic():
        if new_objects:
            plan.model._default_manager.bulk_create(
                new_objects, batch_size=chunk_size, update_conflicts=True,
                unique_fields=[field.name for field in plan.keys], update_fields=update_fields)
        if changed_objects:
            plan.model._default_manager.bulk_update(changed_objects, update_fields,
                                                    batch_size=chunk_size)
    return UpsertResult(created=len(new_objects), updated=len(changed_objects),
                        unchanged=unchanged, duplicates=duplicates)


def _row_hash(plan: _Plan, row: dict[str, Any], hash_exclude: set[str]) -> str:
    given = row.get(plan.hash.name)
    if given:
        return given
    return content_hash({name: value for name, value in row.items()
                         if name != plan.hash.name and name not in hash_exclude})


def _field_names(plan: _Plan, row: dict[str, Any]) -> set[str]:
    opts = plan.model._meta
    return {opts.get_field(name).name for name in row}


def _stored_hashes(plan: _Plan, by_key: dict[tuple, Any]) -> dict[tuple, tuple[Any, str]]:
    """One query: the stored id and hash of each key of the chunk.

    Filtering on each key field's own IN list keeps the statement flat (an
    OR of one AND per record would nest too deep for SQLite at 500
    records); it can return rows that match each field but not a whole key,
    which the dictionary look-up then ignores.
    """
    filters = {f"{field.attname}__in": {key[i] for key in by_key}
               for i, field in enumerate(plan.keys)}
    columns = [field.attname for field in plan.keys]
    stored = plan.model._default_manager.filter(**filters).values_list(
        "pk", plan.hash.attname, *columns)
    return {tuple(values): (pk, digest) for pk, digest, *values in stored if
            tuple(values) in by_key}
