"""A shift's actions from its own page and from the list: accept, declare, validate
hours, cancel, no-show, poll now. Each calls its service; the destructive ones say
what will be sent to the ONSS and wait for a confirmation; a refusal is a message."""

from __future__ import annotations

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse

from apps.core.models import OutboundOperation
from apps.dimona import services
from apps.dimona.models import DimonaDeclaration, Shift
from tests.dimona.factories import ShiftFactory, brussels
from tests.dimona.helpers import drive_outbox
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SHIFTS = reverse("admin:dimona_shift_changelist")
EVE = brussels(2026, 11, 22, 20)


def action_url(shift: Shift, name: str) -> str:
    return reverse(f"admin:dimona_shift_action_{name}", args=[shift.pk])


def change_url(shift: Shift) -> str:
    return reverse("admin:dimona_shift_change", args=[shift.pk])


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def offered(page) -> dict:
    return {o.action.name: o for o in page.context["object_actions"]}


def declared_shift(onss, **kwargs) -> Shift:
    """A shift of 23/11 17:00–21:30 whose Dimona-In the ONSS accepted with period 77."""
    onss.accept_posts()
    onss.result(900000000001, "A", period_id=77)
    onss.result(900000000002, "A", period_id=77)
    shift = ShiftFactory(start=brussels(2026, 11, 23, 17), **kwargs)
    with time_machine.travel(EVE, tick=False) as traveller:
        services.shift_declare(shift=shift)
        drive_outbox(traveller)
    return shift


# -- accept -------------------------------------------------------------------------------

def test_it_accepts_a_proposed_shift_from_its_page(manager_client):
    shift = ShiftFactory(status=Shift.Status.PROPOSED)

    page = manager_client.get(change_url(shift))
    done = manager_client.post(action_url(shift, "accept"), follow=True)

    assert offered(page)["accept"].enabled
    assert f'action="{action_url(shift, "accept")}"' in page.content.decode()
    shift.refresh_from_db()
    assert shift.status == Shift.Status.ACCEPTED
    assert "1 shift(s) accepted." in messages_of(done)
    assert "accept" not in offered(manager_client.get(change_url(shift)))


def test_it_accepts_proposed_shifts_from_the_list(manager_client):
    proposed, cancelled = (ShiftFactory(status=Shift.Status.PROPOSED),
                           ShiftFactory(status=Shift.Status.CANCELLED))

    done = manager_client.post(SHIFTS, {"action": "accept",
                                        "_selected_action": [proposed.pk, cancelled.pk]},
                               follow=True)

    proposed.refresh_from_db()
    cancelled.refresh_from_db()
    assert (proposed.status, cancelled.status) == (Shift.Status.ACCEPTED, Shift.Status.CANCELLED)
    assert "1 shift(s) accepted." in messages_of(done)
    assert any("A shift that is cancelled cannot be accepted." in m for m in messages_of(done))


# -- declare ------------------------------------------------------------------------------

def test_it_declares_a_shift_from_its_page(manager_client, onss):
    onss.accept_posts()
    shift = ShiftFactory()

    done = manager_client.post(action_url(shift, "declare"), follow=True)

    declaration = shift.declarations.get()
    assert (declaration.kind, declaration.status) == ("in", "pending")
    assert f"{shift}: a Dimona-In is sent to the ONSS." in messages_of(done)
    again = offered(manager_client.get(change_url(shift)))["declare"]
    assert not again.enabled
    assert again.reason == "Already declared (Dimona-In: Pending)."


def test_it_shows_why_a_proposed_shift_cannot_be_declared(manager_client):
    shift = ShiftFactory(status=Shift.Status.PROPOSED)

    page = manager_client.get(change_url(shift))
    done = manager_client.post(action_url(shift, "declare"), follow=True)

    assert offered(page)["declare"].reason == "A shift that is proposed cannot be declared."
    assert "A shift that is proposed cannot be declared." in page.content.decode()
    assert any("cannot be declared" in m for m in messages_of(done))
    assert not shift.declarations.exists()


# -- validate hours -----------------------------------------------------------------------

def test_it_validates_hours_and_says_an_update_goes_out_past_the_threshold(manager_client, onss):
    shift = declared_shift(onss)

    with time_machine.travel(brussels(2026, 11, 23, 23), tick=False) as traveller:
        form = manager_client.get(action_url(shift, "validate_hours"))
        done = manager_client.post(action_url(shift, "validate_hours"), {
            "apply": "1", "start": "2026-11-23T17:00", "end": "2026-11-23T22:30"}, follow=True)
        drive_outbox(traveller)

    text = form.content.decode()
    assert 'value="2026-11-23T17:00"' in text and 'value="2026-11-23T21:30"' in text
    assert "a Dimona-Update for period 77 will be sent to the ONSS" in text
    assert "from the hours the ONSS knows (23/11/2026 17:00 – 21:30 CET)" in text
    assert "more than 15 minutes" in text
    assert f"{shift}: hours recorded; a Dimona-Update for period 77 is sent to the ONSS." in (
        messages_of(done))
    shift.refresh_from_db()
    assert shift.status == Shift.Status.COMPLETED
    assert shift.validated_end == brussels(2026, 11, 23, 22, 30)
    assert onss.posted[-1]["dimonaUpdate"]["periodId"] == 77


def test_it_validates_hours_within_the_threshold_without_an_update(manager_client, onss):
    shift = declared_shift(onss)

    done = manager_client.post(action_url(shift, "validate_hours"), {
        "apply": "1", "start": "2026-11-23T17:05", "end": "2026-11-23T21:30"}, follow=True)

    assert f"{shift}: hours recorded; no Dimona-Update was needed." in messages_of(done)
    assert not shift.declarations.filter(kind="update").exists()


def test_it_keeps_the_hours_form_until_its_hours_are_valid(manager_client, onss):
    shift = declared_shift(onss)

    again = manager_client.post(action_url(shift, "validate_hours"), {
        "apply": "1", "start": "2026-11-23T17:00", "end": "2026-11-23T16:00"})

    assert again.status_code == 200
    assert "The end must be after the start." in again.content.decode()
    shift.refresh_from_db()
    assert shift.status == Shift.Status.ACCEPTED


# -- cancel -------------------------------------------------------------------------------

def test_it_says_which_cancel_goes_to_the_onss_before_cancelling(manager_client, onss):
    shift = declared_shift(onss)

    with time_machine.travel(EVE, tick=False):
        asked = manager_client.get(action_url(shift, "cancel_dimona"))
        not_confirmed = manager_client.post(action_url(shift, "cancel_dimona"),
                                            {"reason": "closed"})
        assert not shift.declarations.filter(kind="cancel").exists()
        done = manager_client.post(action_url(shift, "cancel_dimona"),
                                   {"apply": "1", "reason": "restaurant closed"}, follow=True)

    assert "A Dimona-Cancel for period 77 will be sent to the ONSS" in asked.content.decode()
    assert not_confirmed.status_code == 200
    assert "1 Dimona-Cancel(s) sent." in messages_of(done)
    cancel = shift.declarations.get(kind="cancel")
    assert (cancel.period_id, cancel.reason) == ("77", "restaurant closed")
    shift.refresh_from_db()
    assert shift.status == Shift.Status.CANCELLED


def test_it_shows_what_each_selected_shift_will_send_before_cancelling_them(manager_client,
                                                                           onss):
    shift = declared_shift(onss)
    undeclared = ShiftFactory(start=brussels(2026, 11, 24, 17))

    with time_machine.travel(EVE, tick=False):
        asked = manager_client.post(SHIFTS, {"action": "cancel_dimona",
                                             "_selected_action": [shift.pk, undeclared.pk]})

    text = asked.content.decode()
    assert "A Dimona-Cancel for period 77 will be sent to the ONSS" in text
    assert "This shift has no Dimona-In to cancel." in text
    assert not DimonaDeclaration.objects.filter(kind="cancel").exists()


def test_it_shows_a_refused_cancel_as_a_message_not_an_error_page(manager_client, onss):
    shift = declared_shift(onss)

    # The day after the shift's start: the ONSS no longer takes a Cancel.
    with time_machine.travel(brussels(2026, 11, 24, 9), tick=False):
        done = manager_client.post(action_url(shift, "cancel_dimona"),
                                   {"apply": "1", "reason": "closed"}, follow=True)

    assert done.status_code == 200
    assert any("can only be cancelled until its start date" in m for m in messages_of(done))
    assert not shift.declarations.filter(kind="cancel").exists()


# -- no-show ------------------------------------------------------------------------------

def test_it_confirms_a_no_show_before_sending_its_cancel(manager_client, onss):
    shift = declared_shift(onss)

    with time_machine.travel(brussels(2026, 11, 23, 17, 45), tick=False):
        asked = manager_client.get(action_url(shift, "mark_no_show"))
        unconfirmed = manager_client.post(action_url(shift, "mark_no_show"))
        shift.refresh_from_db()
        assert shift.status == Shift.Status.ACCEPTED
        manager_client.post(action_url(shift, "mark_no_show"), {"apply": "1"})

    assert unconfirmed.status_code == 200
    assert ("A Dimona-Cancel for period 77 will be sent to the ONSS with the reason "
            "\u201cno-show\u201d") in asked.content.decode()
    shift.refresh_from_db()
    assert shift.status == Shift.Status.NO_SHOW
    assert shift.declarations.get(kind="cancel").reason == "no_show"


def test_it_confirms_no_shows_chosen_in_the_list(manager_client, onss):
    shift = declared_shift(onss)
    chosen = {"action": "mark_no_show", "_selected_action": [shift.pk]}

    with time_machine.travel(brussels(2026, 11, 23, 17, 45), tick=False):
        asked = manager_client.post(SHIFTS, chosen)
        assert Shift.objects.get(pk=shift.pk).status == Shift.Status.ACCEPTED
        done = manager_client.post(SHIFTS, {**chosen, "apply": "1"}, follow=True)

    assert "will be sent to the ONSS" in asked.content.decode()
    assert "1 no-show(s) recorded; Dimona-Cancel sent." in messages_of(done)
    assert Shift.objects.get(pk=shift.pk).status == Shift.Status.NO_SHOW


def test_it_says_when_a_no_show_can_be_recorded(manager_client, onss):
    shift = declared_shift(onss)

    with time_machine.travel(brussels(2026, 11, 23, 17, 10), tick=False):
        page = manager_client.get(change_url(shift))
        done = manager_client.post(action_url(shift, "mark_no_show"), {"apply": "1"},
                                   follow=True)

    reason = offered(page)["mark_no_show"].reason
    assert "30 minutes after the start" in reason and "17:30 CET" in reason
    assert any("30 minutes after the start" in m for m in messages_of(done))
    assert Shift.objects.get(pk=shift.pk).status == Shift.Status.ACCEPTED


# -- poll now -----------------------------------------------------------------------------

def test_it_polls_a_declaration_waiting_for_a_manual_check(manager_client, onss):
    onss.accept_posts()
    shift = ShiftFactory()
    declaration = services.shift_declare(shift=shift)
    DimonaDeclaration.objects.filter(pk=declaration.pk).update(
        status=DimonaDeclaration.Status.MANUAL_CHECK)
    OutboundOperation.objects.filter(pk=declaration.operation_id).update(
        state=OutboundOperation.State.SUCCEEDED)

    done = manager_client.post(action_url(shift, "poll_now"), follow=True)

    assert "1 shift(s) polled again." in messages_of(done)
    operation = OutboundOperation.objects.get(pk=declaration.operation_id)
    assert operation.state == OutboundOperation.State.PENDING


def test_it_offers_no_poll_when_nothing_waits_for_a_result(manager_client, onss):
    shift = declared_shift(onss)

    page = manager_client.get(change_url(shift))
    done = manager_client.post(SHIFTS, {"action": "poll_now", "_selected_action": [shift.pk]},
                               follow=True)

    assert offered(page)["poll_now"].reason == (
        "No declaration of this shift is waiting for a result.")
    assert any("waiting for a result" in m for m in messages_of(done))


# -- who may --------------------------------------------------------------------------------

ACTIONS = ["accept", "declare", "validate_hours", "cancel_dimona", "mark_no_show", "poll_now"]


@pytest.fixture
def shift_viewer(client):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_shift"))
    client.force_login(user)
    return user


@pytest.mark.parametrize("name", ACTIONS)
def test_it_refuses_each_action_to_a_user_who_may_only_view(client, shift_viewer, name):
    shift = ShiftFactory(status=Shift.Status.PROPOSED)
    data = {"apply": "1", "reason": "x", "start": "2026-11-23T17:00",
            "end": "2026-11-23T21:00"}

    assert client.get(action_url(shift, name)).status_code == 403
    assert client.post(action_url(shift, name), data).status_code == 403

    shift.refresh_from_db()
    assert shift.status == Shift.Status.PROPOSED and not shift.declarations.exists()


def test_it_shows_no_button_to_a_user_who_may_only_view(client, shift_viewer):
    shift = ShiftFactory(status=Shift.Status.PROPOSED)

    page = client.get(change_url(shift))

    assert page.status_code == 200
    assert page.context["object_actions"] == []
    assert b"hub-object-actions" not in page.content


def test_a_declared_shift_offers_no_delete_button_and_refuses_the_delete_page(manager_client):
    declared = ShiftFactory()
    DimonaDeclaration.objects.create(shift=declared, kind="in", status="accepted",
                                     period_id="77")
    undeclared = ShiftFactory()

    page = manager_client.get(reverse("admin:dimona_shift_change", args=[declared.pk]))
    refused = manager_client.get(reverse("admin:dimona_shift_delete", args=[declared.pk]))
    allowed = manager_client.get(reverse("admin:dimona_shift_delete", args=[undeclared.pk]))

    assert reverse("admin:dimona_shift_delete", args=[declared.pk]) not in page.content.decode()
    assert refused.status_code == 403
    assert allowed.status_code == 200
