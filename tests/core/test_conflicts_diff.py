"""A conflict's side-by-side diff: what it highlights, and how it names the fields."""

from __future__ import annotations

import pytest
from django.utils import translation

from apps.core import admin_display
from apps.core.admin_display import EntityKind
from apps.core.conflicts import conflict_diff, conflict_open
from apps.core.models import Conflict, Connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection():
    return Connection.objects.create(platform="zenchef", name="Chez Paul")


def _open(connection, entity_type: str, ours: dict, theirs: dict) -> Conflict:
    return conflict_open(domain="restosync", entity_type=entity_type, local_id=12,
                         connection=connection, local_value=ours, remote_value=theirs,
                         proposed_value={**ours, **theirs})


def test_it_does_not_highlight_a_field_the_platform_did_not_send(connection):
    conflict = _open(connection, "booking", {"covers": 4, "notes": "window"}, {"covers": 6})

    rows = {row.field: row for row in conflict_diff(conflict)}

    assert (rows["notes"].theirs, rows["notes"].differs) == ("—", False)
    assert rows["covers"].differs


def test_it_highlights_a_field_the_platform_sent_and_we_lack(connection):
    conflict = _open(connection, "booking", {"covers": 4}, {"covers": 4, "notes": "window"})

    rows = {row.field: row for row in conflict_diff(conflict)}

    assert (rows["notes"].ours, rows["notes"].differs) == ("—", True)
    assert not rows["covers"].differs


def test_it_shows_raw_names_for_a_type_without_a_model(connection):
    conflict = _open(connection, "booking", {"covers": 4}, {"covers": 6})

    assert [(row.field, row.label) for row in conflict_diff(conflict)] == [("covers", "covers")]


@pytest.mark.parametrize(("language", "name", "platform"), [
    ("en", "Name", "Platform"), ("fr", "Nom", "Plateforme")])
def test_it_names_the_fields_of_a_registered_type_as_its_model_does(connection, monkeypatch,
                                                                    language, name, platform):
    # As a domain declares it (admin_display.register_entity), undone after the test.
    monkeypatch.setitem(admin_display._kinds, "account", EntityKind(entity_type="account",
                                                                     model=Connection))
    conflict = _open(connection, "account", {"name": "A", "platform": "zenchef", "extra": 1},
                     {"name": "B", "platform": "zenchef", "extra": 2})

    with translation.override(language):
        labels = {row.field: row.label for row in conflict_diff(conflict)}

    # A value that is no field of the model keeps its own name.
    assert labels == {"name": name, "platform": platform, "extra": "extra"}


def test_the_page_shows_the_labels(connection, manager_client, monkeypatch):
    monkeypatch.setitem(admin_display._kinds, "account", EntityKind(entity_type="account",
                                                                     model=Connection))
    conflict = _open(connection, "account", {"name": "A"}, {"name": "B"})

    page = manager_client.get(f"/admin/core/conflict/{conflict.pk}/change/")

    assert page.status_code == 200
    assert "<strong>Name</strong>" in page.content.decode()
