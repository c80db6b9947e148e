"""A user who may only view sees the back-office and changes nothing in it.

The Live page opens but refuses a clock-in or a no-show; change lists offer
no action, an action name posted anyway does nothing, and an action called
directly refuses the user before any service runs.
"""

from __future__ import annotations

import pytest
import time_machine
from django.contrib import admin
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from apps.core.models import OutboundOperation
from apps.dimona.models import DimonaDeclaration, Shift
from tests.dimona.factories import ShiftFactory, brussels
from tests.factories import view_only_user

pytestmark = pytest.mark.django_db

LIVE = reverse("admin:dimona_shift_live")
SHIFTS = reverse("admin:dimona_shift_changelist")
# Django's own action checks the delete permission itself.
DJANGO_ACTIONS = {"delete_selected"}
ACTIONS = sorted(
    ((model, name) for model, model_admin in admin.site._registry.items()
     for _, name, _ in model_admin._get_base_actions() if name not in DJANGO_ACTIONS),
    key=lambda pair: (pair[0]._meta.label, pair[1]))


@pytest.fixture
def shift_viewer(client):
    user = view_only_user(Shift)
    client.force_login(user)
    return user


@pytest.fixture
def declared_shift():
    """An accepted shift with an accepted Dimona-In; its worker is late."""
    shift = ShiftFactory(start=brussels(2026, 11, 23, 17))
    DimonaDeclaration.objects.create(
        shift=shift, kind=DimonaDeclaration.Kind.IN, status=DimonaDeclaration.Status.ACCEPTED,
        result="A", period_id=555000000001)
    with time_machine.travel(brussels(2026, 11, 23, 17, 45), tick=False):
        yield shift


def _unchanged(shift: Shift) -> bool:
    fresh = Shift.objects.get(pk=shift.pk)
    return (fresh.status == Shift.Status.ACCEPTED and fresh.clock_in_at is None
            and list(fresh.declarations.values_list("kind", flat=True)) == ["in"]
            and not OutboundOperation.objects.exists())


def test_it_opens_the_live_page_without_its_buttons(client, shift_viewer, declared_shift):
    page = client.get(LIVE)

    assert page.status_code == 200
    assert [shift.pk for shift in page.context["candidates"]] == [declared_shift.pk]
    assert b'value="no_show"' not in page.content
    assert b'value="clock_in"' not in page.content


@pytest.mark.parametrize("action", ["clock_in", "no_show"])
def test_it_refuses_a_live_action_to_a_view_only_user(client, shift_viewer, declared_shift,
                                                      action):
    response = client.post(LIVE, {"shift": declared_shift.pk, "action": action})

    assert _unchanged(declared_shift)
    assert response.status_code == 403


def test_it_offers_no_action_in_the_change_list(client, shift_viewer, declared_shift):
    page = client.get(SHIFTS)

    assert page.status_code == 200
    assert page.context["action_form"] is None
    assert b'name="action"' not in page.content


@pytest.mark.parametrize("action", ["declare", "mark_no_show", "poll_now", "cancel_dimona"])
def test_it_does_nothing_with_an_action_posted_anyway(client, shift_viewer, declared_shift,
                                                      action):
    response = client.post(SHIFTS, {"action": action, "_selected_action": [declared_shift.pk],
                                    "apply": "1", "reason": "restaurant closed"})

    assert _unchanged(declared_shift)
    assert response.status_code == 200


@pytest.mark.parametrize("model", sorted(admin.site._registry, key=lambda m: m._meta.label),
                         ids=lambda model: model._meta.label)
def test_it_offers_no_action_to_who_may_only_view_the_model(client, model):
    client.force_login(view_only_user(model))
    opts = model._meta

    page = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))

    assert page.status_code == 200
    assert page.context["action_form"] is None


@pytest.mark.parametrize(("model", "name"), ACTIONS,
                         ids=[f"{model._meta.label}.{name}" for model, name in ACTIONS])
def test_it_refuses_an_action_called_directly_by_who_may_only_view(rf, model, name):
    model_admin = admin.site.get_model_admin(model)
    action, _, _ = model_admin.get_action(name)
    request = rf.post("/", {"apply": "1"})
    request.user = view_only_user(model)
    request._messages = CookieStorage(request)

    assert "change" in getattr(action, "allowed_permissions", ())
    with pytest.raises(PermissionDenied):
        action(model_admin, request, model._default_manager.all())
