"""Conflicts: both sides changed a reservation since the last sync; a manager decides."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.core.conflicts import conflict_resolve
from apps.core.models import AttentionItem, Conflict, ExternalMapping, OutboundOperation
from apps.core.operations import operation_run
from apps.restosync.models import ENTITY_RESERVATION
from apps.restosync.operations import PUSH_RESERVATION
from tests.restosync.helpers import booking, deliver, mapped_reservation

pytestmark = pytest.mark.django_db


def test_it_opens_a_conflict_with_both_sides_and_the_merge(config, conflicted):
    assert conflicted.entity_type == ENTITY_RESERVATION
    assert conflicted.local_value["party_size"] == 3
    assert conflicted.remote_value["party_size"] == 6
    # We are master by default; the allergies are still the union of both sides.
    assert conflicted.proposed_value["party_size"] == 3
    assert conflicted.proposed_value["allergies"] == ["nuts", "peanuts"]
    # The guest's contact is not copied into the conflict's (unencrypted) values.
    assert "contact" not in conflicted.local_value
    reservation = mapped_reservation(config)
    assert reservation.party_size == 3
    mapping = ExternalMapping.objects.get(entity_type=ENTITY_RESERVATION,
                                          local_id=str(reservation.pk))
    assert mapping.status == ExternalMapping.Status.CONFLICT
    assert AttentionItem.objects.open().filter(kind="sync.conflict").exists()


def test_nothing_is_pushed_while_the_conflict_is_open(config, conflicted):
    from apps.restosync.operations import reservation_push

    [operation] = reservation_push(reservation=mapped_reservation(config), cause="test")

    assert operation_run(operation.pk).result == {"skipped": "a conflict is open"}


def test_take_remote_applies_theirs(config, conflicted, admin_user):
    # The local change of the fixture queued its own push; the resolution adds none.
    pushes_before = OutboundOperation.objects.filter(kind=PUSH_RESERVATION).count()

    conflict_resolve(conflict=conflicted, resolution=Conflict.Resolution.TAKE_REMOTE,
                     user=admin_user)

    reservation = mapped_reservation(config)
    assert reservation.party_size == 6
    assert reservation.allergies == ["nuts", "peanuts"]
    mapping = ExternalMapping.objects.get(local_id=str(reservation.pk),
                                          entity_type=ENTITY_RESERVATION)
    assert mapping.status == ExternalMapping.Status.SYNCED
    # Zenchef holds theirs already, and no other platform is configured.
    assert OutboundOperation.objects.filter(kind=PUSH_RESERVATION).count() == pushes_before


def test_keep_local_pushes_ours_in_full(config, conflicted, admin_user):
    conflict_resolve(conflict=conflicted, resolution=Conflict.Resolution.KEEP_LOCAL,
                     user=admin_user)

    reservation = mapped_reservation(config)
    assert reservation.party_size == 3
    push = OutboundOperation.objects.get(kind=PUSH_RESERVATION,
                                         idempotency_key__endswith=f"conflict-{conflicted.pk}")
    assert push.payload["full"] is True


def test_merge_applies_the_proposal_and_a_second_resolution_is_refused(
        config, conflicted, admin_user):
    conflict_resolve(conflict=conflicted, resolution=Conflict.Resolution.MERGED, user=admin_user)

    reservation = mapped_reservation(config)
    assert reservation.party_size == 3
    assert reservation.allergies == ["nuts", "peanuts"]
    with pytest.raises(Exception, match="already resolved"):
        conflict_resolve(conflict=conflicted, resolution=Conflict.Resolution.KEEP_LOCAL,
                         user=admin_user)


def test_the_same_remote_state_again_opens_no_second_conflict(client, config, conflicted):
    deliver(client, config, booking(numberOfPeople=6, comments="Allergies: nuts, peanuts"))

    assert Conflict.objects.count() == 1


def test_a_manager_takes_theirs_from_the_conflict_page_in_the_admin(
        config, conflicted, manager_client):
    page = manager_client.get(reverse("admin:core_conflict_change", args=[conflicted.pk]))
    assert page.status_code == 200
    differing = {row.field for row in page.context["diff"] if row.differs}
    assert {"party_size", "allergies"} <= differing

    answer = manager_client.post(reverse("admin:core_conflict_changelist"), {
        "action": "take_remote", "_selected_action": [conflicted.pk]}, follow=True)

    assert answer.status_code == 200
    conflicted.refresh_from_db()
    assert conflicted.status == Conflict.Status.RESOLVED
    assert mapped_reservation(config).party_size == 6
