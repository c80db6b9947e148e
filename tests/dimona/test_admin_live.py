"""The Live page: statuses as labelled badges in the reader's language, times in
their zone with the zone named, and a refresh while a declaration is in flight."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from apps.dimona.models import DimonaDeclaration, Shift
from tests.dimona.factories import ShiftFactory, brussels

pytestmark = pytest.mark.django_db

LIVE = reverse("admin:dimona_shift_live")
Status = DimonaDeclaration.Status


def test_it_labels_the_dimona_state_instead_of_its_stored_values(manager_client):
    shift = ShiftFactory(start=brussels(2026, 11, 23, 17))
    DimonaDeclaration.objects.create(shift=shift, kind="in", status=Status.ACCEPTED_WITH_WARNINGS,
                                     result="W", period_id="77")

    with time_machine.travel(brussels(2026, 11, 23, 12), tick=False):
        page = manager_client.get(LIVE)

    text = page.content.decode()
    assert "in accepted_with_warnings" not in text
    assert "Dimona-In: Accepted with warnings (W)" in text
    assert 'data-status="accepted_with_warnings"' in text
    assert 'hub-badge--warning' in text
    assert str(Shift.Status.ACCEPTED.label) in text


def test_it_labels_the_statuses_in_the_readers_language(manager_client):
    shift = ShiftFactory(start=brussels(2026, 11, 23, 17))
    DimonaDeclaration.objects.create(shift=shift, kind="in", status=Status.ACCEPTED)

    with time_machine.travel(brussels(2026, 11, 23, 12), tick=False):
        page = manager_client.get(LIVE, headers={"accept-language": "fr"})

    # The labels are the models' translatable ones, looked up in the page's language.
    with translation.override("fr"):
        expected = f"{DimonaDeclaration.Kind.IN.label}: {Status.ACCEPTED.label}"
    assert page["Content-Language"] == "fr"
    assert expected == "Dimona-In: Acceptée (A)"
    assert expected in page.content.decode()


def test_it_names_the_time_zone_of_its_times(manager_client):
    ShiftFactory(start=brussels(2026, 11, 23, 17))

    with time_machine.travel(brussels(2026, 11, 23, 12), tick=False):
        page = manager_client.get(LIVE)

    text = page.content.decode()
    assert "Start (Europe/Brussels)" in text
    assert "<td>17:00</td>" in text


def test_it_refreshes_only_while_a_declaration_of_the_day_is_in_flight(manager_client):
    shift = ShiftFactory(start=brussels(2026, 11, 23, 17))
    declaration = DimonaDeclaration.objects.create(shift=shift, kind="in", status=Status.SENT)

    with time_machine.travel(brussels(2026, 11, 23, 12), tick=False):
        waiting = manager_client.get(LIVE)
        DimonaDeclaration.objects.filter(pk=declaration.pk).update(status=Status.ACCEPTED)
        answered = manager_client.get(LIVE)

    assert waiting.context["auto_refresh"].pending == 1
    assert b"hub-auto-refresh" in waiting.content
    assert answered.context["auto_refresh"] is None
    assert b"hub-auto-refresh" not in answered.content


def test_it_links_a_no_show_candidate_to_its_confirmation(manager_client):
    shift = ShiftFactory(start=brussels(2026, 11, 23, 17))
    DimonaDeclaration.objects.create(shift=shift, kind="in", status=Status.ACCEPTED,
                                     period_id="77")

    with time_machine.travel(brussels(2026, 11, 23, 17, 45), tick=False):
        page = manager_client.get(LIVE)

    confirm = reverse("admin:dimona_shift_action_mark_no_show", args=[shift.pk])
    assert f'href="{confirm}?next=/admin/dimona/shift/live/"' in page.content.decode()
    assert b'value="no_show"' not in page.content


def test_it_shows_times_in_the_readers_own_zone(manager_client, manager_user):
    from apps.core.preferences import user_preference_set

    user_preference_set(user=manager_user, time_zone="Europe/London")
    shift = ShiftFactory(start=brussels(2026, 11, 23, 17))

    with time_machine.travel(brussels(2026, 11, 23, 12), tick=False):
        live = manager_client.get(LIVE).content.decode()
        listed = manager_client.get(reverse("admin:dimona_shift_changelist")).content.decode()
        page = manager_client.get(reverse("admin:dimona_shift_change", args=[shift.pk]))

    # 17:00 in Brussels is 16:00 in London.
    assert "Start (Europe/London)" in live and "<td>16:00</td>" in live
    assert "16:00 GMT" in listed
    no_show = {o.action.name: o for o in page.context["object_actions"]}["mark_no_show"]
    assert "(from 16:30 GMT)" in no_show.reason
