"""Conflicts: one open per object, raised to the attention queue, resolved once
through the resolver the domain registered for the entity type."""

from __future__ import annotations

import pytest

from apps.core import conflicts
from apps.core.conflicts import (
    conflict_diff,
    conflict_open,
    conflict_resolve,
    register_conflict_resolver,
)
from apps.core.errors import ServiceError
from apps.core.models import AttentionItem, Conflict, Connection, ExternalMapping
from apps.core.registry_names import DuplicateRegistration
from apps.core.sync import mapping_upsert
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

OURS = {"covers": 4, "time": "19:30", "note": "window"}
THEIRS = {"covers": 6, "time": "19:30", "note": "window"}
PROPOSED = {"covers": 6, "time": "19:30", "note": "window, high chair"}


@pytest.fixture
def connection():
    return Connection.objects.create(platform="zenchef", name="Chez Paul")


def _open(connection, **values) -> Conflict:
    return conflict_open(domain="restosync", entity_type="reservation", local_id=12,
                         connection=connection, **{"local_value": OURS, "remote_value": THEIRS,
                                                   "proposed_value": PROPOSED, **values})


def test_it_opens_a_conflict_and_tells_the_managers(connection):
    conflict = _open(connection)

    item = AttentionItem.objects.open().get()
    assert (conflict.status, conflict.local_value, conflict.remote_value) == (
        Conflict.Status.OPEN, OURS, THEIRS)
    assert (item.domain, item.kind, item.subject) == ("restosync", "sync.conflict", conflict)


def test_it_refreshes_the_open_conflict_of_an_object_raised_again(connection):
    first = _open(connection)
    newer = {**THEIRS, "covers": 8}

    again = _open(connection, remote_value=newer)

    assert again.pk == first.pk
    assert Conflict.objects.get().remote_value == newer
    assert AttentionItem.objects.open().count() == 1


def test_it_marks_the_mapping_in_conflict_until_resolved(connection, applied_resolutions):
    mapping_upsert(entity_type="reservation", local_id=12, connection=connection,
                   external_id="9001")
    conflict = _open(connection)
    assert ExternalMapping.objects.get().status == ExternalMapping.Status.CONFLICT

    conflict_resolve(conflict=conflict, resolution=Conflict.Resolution.TAKE_REMOTE,
                     user=UserFactory())

    assert ExternalMapping.objects.get().status == ExternalMapping.Status.SYNCED


@pytest.mark.parametrize(("resolution", "merged", "expected"), [
    (Conflict.Resolution.KEEP_LOCAL, None, OURS),
    (Conflict.Resolution.TAKE_REMOTE, None, THEIRS),
    (Conflict.Resolution.MERGED, None, PROPOSED),
    (Conflict.Resolution.MERGED, {"covers": 5}, {"covers": 5}),
])
def test_it_applies_the_chosen_value_through_the_resolver(connection, applied_resolutions,
                                                          resolution, merged, expected):
    conflict = _open(connection)
    manager = UserFactory()

    resolved = conflict_resolve(conflict=conflict, resolution=resolution, user=manager,
                                merged_value=merged)

    assert applied_resolutions == [(conflict.pk, expected)]
    assert (resolved.status, resolved.resolution, resolved.resolved_by) == (
        Conflict.Status.RESOLVED, resolution, manager)
    assert resolved.resolved_at is not None
    item = AttentionItem.objects.get()
    assert (item.cleared_at is not None, item.cleared_by) == (True, manager)


def test_it_refuses_to_resolve_a_conflict_twice(connection, applied_resolutions):
    conflict = _open(connection)
    conflict_resolve(conflict=conflict, resolution=Conflict.Resolution.KEEP_LOCAL,
                     user=UserFactory())

    with pytest.raises(ServiceError) as refused:
        conflict_resolve(conflict=conflict, resolution=Conflict.Resolution.TAKE_REMOTE,
                         user=UserFactory())

    assert refused.value.code == "CONFLICT_ALREADY_RESOLVED"
    assert len(applied_resolutions) == 1
    assert Conflict.objects.get().resolution == Conflict.Resolution.KEEP_LOCAL


def test_it_opens_a_new_conflict_after_the_last_was_resolved(connection, applied_resolutions):
    first = _open(connection)
    conflict_resolve(conflict=first, resolution=Conflict.Resolution.KEEP_LOCAL,
                     user=UserFactory())

    second = _open(connection)

    assert second.pk != first.pk
    assert AttentionItem.objects.open().count() == 1


def test_it_leaves_the_conflict_open_when_the_resolver_refuses(connection, monkeypatch):
    monkeypatch.setattr(conflicts, "_resolvers", {})

    def refuse(conflict, value):
        raise ServiceError("RESERVATION_SEATED", "The guests are already seated.")

    register_conflict_resolver("reservation", refuse)
    conflict = _open(connection)

    with pytest.raises(ServiceError, match="already seated"):
        conflict_resolve(conflict=conflict, resolution=Conflict.Resolution.TAKE_REMOTE,
                         user=UserFactory())

    assert Conflict.objects.get().status == Conflict.Status.OPEN
    assert AttentionItem.objects.open().count() == 1


def test_it_refuses_an_entity_type_nobody_resolves(connection, applied_resolutions):
    conflict = conflict_open(domain="restosync", entity_type="table", local_id=3,
                             connection=connection, local_value={}, remote_value={"seats": 2})

    with pytest.raises(ServiceError) as refused:
        conflict_resolve(conflict=conflict, resolution=Conflict.Resolution.KEEP_LOCAL,
                         user=UserFactory())

    assert refused.value.code == "NO_CONFLICT_RESOLVER"


def test_it_refuses_an_unknown_resolution(connection, applied_resolutions):
    with pytest.raises(ServiceError) as refused:
        conflict_resolve(conflict=_open(connection), resolution="toss_a_coin",
                         user=UserFactory())

    assert refused.value.code == "INVALID_RESOLUTION"
    assert applied_resolutions == []


def test_it_refuses_a_second_resolver_for_an_entity_type(applied_resolutions):
    with pytest.raises(DuplicateRegistration):
        register_conflict_resolver("reservation", lambda conflict, value: None)


def test_it_shows_the_differing_fields_first(connection):
    rows = conflict_diff(_open(connection))

    assert [(row.field, row.differs) for row in rows] == [
        ("covers", True), ("note", False), ("time", False)]
    assert (rows[0].ours, rows[0].theirs, rows[0].proposed) == ("4", "6", "6")


def test_it_diffs_values_that_are_not_objects(connection):
    conflict = _open(connection, local_value=[1, 2], remote_value=[1, 3], proposed_value=None)

    rows = conflict_diff(conflict)

    assert [(row.field, row.differs, row.proposed) for row in rows] == [("value", True, "{}")]
