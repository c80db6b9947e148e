"""The mastering table, the cancel rule and the allergy union."""

from __future__ import annotations

import pytest

from apps.restosync.mastering import (
    SELF,
    allergies_union,
    changed_fields,
    merged_reservation,
    platform_may_cancel,
    reservation_master,
)

ZENCHEF = "zenchef"


@pytest.mark.parametrize(("local_status", "master_for", "master"), [
    ("pending", [], SELF),
    ("confirmed", [], SELF),
    ("cancelled", [], SELF),
    ("pending", ["reservation"], ZENCHEF),
    ("confirmed", ["reservation"], ZENCHEF),
    ("cancelled", ["reservation"], ZENCHEF),
    ("confirmed", ["customer", "table"], SELF),
    # The floor's statuses are ours whatever the configuration says.
    ("seated", ["reservation"], SELF),
    ("completed", ["reservation"], SELF),
    ("no_show", ["reservation"], SELF),
])
def test_the_mastering_table(local_status, master_for, master):
    assert reservation_master(local_status=local_status, platform=ZENCHEF,
                              master_for=master_for) == master


@pytest.mark.parametrize(("local_status", "allowed"), [
    ("pending", True), ("confirmed", True), ("cancelled", True),
    ("seated", False), ("completed", False), ("no_show", False),
])
def test_a_platform_cancel_never_undoes_what_the_floor_saw(local_status, allowed):
    assert platform_may_cancel(local_status=local_status) is allowed


def test_the_allergy_union_keeps_ours_first_and_adds_theirs_once():
    assert allergies_union(["Peanuts", "gluten"], ["peanuts ", "Shellfish", ""]) == [
        "Peanuts", "gluten", "Shellfish"]


def test_when_we_win_our_fields_stay_and_the_allergies_are_merged():
    local = {"party_size": 4, "notes": "window", "allergies": ["gluten"]}
    remote = {"party_size": 6, "notes": "terrace", "allergies": ["peanuts"]}

    merged = merged_reservation(local=local, remote=remote, master=SELF)

    assert merged == {"party_size": 4, "notes": "window", "allergies": ["gluten", "peanuts"]}


def test_when_the_platform_wins_its_values_overlay_ours_but_never_erase_them():
    local = {"party_size": 4, "notes": "window", "table_ids": [3], "allergies": ["gluten"]}
    remote = {"party_size": 6, "notes": None, "table_ids": [7], "allergies": ["peanuts"]}

    merged = merged_reservation(local=local, remote=remote, master=ZENCHEF)

    assert merged == {"party_size": 6, "notes": "window", "table_ids": [7],
                      "allergies": ["gluten", "peanuts"]}


def test_changed_fields_lists_what_differs():
    assert changed_fields({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) == ["b", "c"]
