"""A manager resolves a conflict from its admin page: side by side, then keep
ours, take theirs or merge, each through the service; a viewer cannot."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from apps.core.conflicts import conflict_open
from apps.core.models import Conflict, Connection
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:core_conflict_changelist")
OURS = {"covers": 4, "time": "19:30"}
THEIRS = {"covers": 6, "time": "19:30"}
PROPOSED = {"covers": 6, "time": "19:45"}


@pytest.fixture
def conflict():
    connection = Connection.objects.create(platform="zenchef", name="Chez Paul")
    return conflict_open(domain="restosync", entity_type="reservation", local_id=12,
                         connection=connection, local_value=OURS, remote_value=THEIRS,
                         proposed_value=PROPOSED)


@pytest.fixture
def viewer_client(client):
    user = UserFactory(is_staff=True)
    user.user_permissions.set([Permission.objects.get(codename="view_conflict")])
    client.force_login(user)
    return client


def _change_url(conflict: Conflict) -> str:
    return reverse("admin:core_conflict_change", args=[conflict.pk])


def _post_action(client, conflict: Conflict, action: str, *, follow: bool = False, **extra):
    return client.post(CHANGELIST, {"action": action, "_selected_action": [conflict.pk],
                                    **extra}, follow=follow)


def test_it_shows_ours_theirs_and_the_proposal_side_by_side(manager_client, conflict):
    page = manager_client.get(_change_url(conflict))

    assert page.status_code == 200
    rows = {row.field: row for row in page.context["diff"]}
    assert rows["covers"].differs and not rows["time"].differs
    assert page.content.count(b'class="differs"') == 1
    for action in (b'value="keep_local"', b'value="take_remote"', b'value="merge"'):
        assert action in page.content
    # Read-only: the page offers no save of the conflict itself.
    assert b'name="_save"' not in page.content


@pytest.mark.parametrize(("action", "resolution", "expected"), [
    ("keep_local", Conflict.Resolution.KEEP_LOCAL, OURS),
    ("take_remote", Conflict.Resolution.TAKE_REMOTE, THEIRS),
])
def test_it_resolves_from_the_change_page(manager_client, manager_user, conflict,
                                          applied_resolutions, action, resolution, expected):
    response = _post_action(manager_client, conflict, action)

    assert response.status_code == 302
    assert applied_resolutions == [(conflict.pk, expected)]
    conflict.refresh_from_db()
    assert (conflict.status, conflict.resolution, conflict.resolved_by) == (
        Conflict.Status.RESOLVED, resolution, manager_user)


def test_it_merges_with_the_value_the_manager_edited(manager_client, manager_user, conflict,
                                                     applied_resolutions):
    form_page = _post_action(manager_client, conflict, "merge")
    assert form_page.status_code == 200
    assert json.loads(form_page.context["form"]["merged_value"].value()) == PROPOSED
    assert b"covers" in form_page.content  # the diff, to merge by
    assert applied_resolutions == []

    merged = {"covers": 5, "time": "19:45"}
    response = _post_action(manager_client, conflict, "merge", apply="1",
                            merged_value=json.dumps(merged))

    assert response.status_code == 302
    assert applied_resolutions == [(conflict.pk, merged)]
    conflict.refresh_from_db()
    assert (conflict.resolution, conflict.proposed_value, conflict.resolved_by) == (
        Conflict.Resolution.MERGED, merged, manager_user)


def test_it_asks_again_for_a_merged_value_that_is_not_json(manager_client, conflict,
                                                           applied_resolutions):
    response = _post_action(manager_client, conflict, "merge", apply="1",
                            merged_value="{covers: 5")

    assert response.status_code == 200
    assert response.context["form"].errors
    assert applied_resolutions == []
    assert Conflict.objects.get().status == Conflict.Status.OPEN


def test_it_refuses_to_resolve_a_resolved_conflict_again(manager_client, conflict,
                                                         applied_resolutions):
    _post_action(manager_client, conflict, "keep_local")

    response = _post_action(manager_client, conflict, "take_remote", follow=True)

    assert len(applied_resolutions) == 1
    assert Conflict.objects.get().resolution == Conflict.Resolution.KEEP_LOCAL
    assert "already resolved" in response.content.decode()
    page = manager_client.get(_change_url(conflict))
    assert b'value="take_remote"' not in page.content


def test_it_shows_a_viewer_the_conflict_without_the_actions(viewer_client, conflict):
    page = viewer_client.get(_change_url(conflict))

    assert page.status_code == 200
    assert page.context["diff"]
    assert b'value="keep_local"' not in page.content


@pytest.mark.parametrize("action", ["keep_local", "take_remote", "merge"])
def test_it_lets_a_viewer_resolve_nothing(viewer_client, conflict, applied_resolutions, action):
    _post_action(viewer_client, conflict, action, apply="1",
                 merged_value=json.dumps({"covers": 1}))

    assert applied_resolutions == []
    assert Conflict.objects.get().status == Conflict.Status.OPEN


def test_it_merges_one_conflict_at_a_time(manager_client, conflict, applied_resolutions):
    other = conflict_open(domain="restosync", entity_type="reservation", local_id=13,
                          connection=conflict.connection, local_value={}, remote_value={"a": 1})

    response = manager_client.post(CHANGELIST, {"action": "merge",
                                                "_selected_action": [conflict.pk, other.pk]},
                                   follow=True)

    assert "one conflict at a time" in response.content.decode()
    assert applied_resolutions == []
