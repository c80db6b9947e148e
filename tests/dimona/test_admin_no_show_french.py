"""The no-show confirmation in French: its sentence is the catalogue's, quotes
and all (a msgid written with escapes never matched the catalogue's key)."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from apps.dimona import services
from tests.dimona.factories import ShiftFactory, brussels
from tests.dimona.helpers import drive_outbox

pytestmark = pytest.mark.django_db


def test_it_says_what_a_no_show_sends_in_french(manager_client, onss):
    onss.accept_posts()
    onss.result(900000000001, "A", period_id=77)
    shift = ShiftFactory(start=brussels(2026, 11, 23, 17))
    with time_machine.travel(brussels(2026, 11, 22, 20), tick=False) as traveller:
        services.shift_declare(shift=shift)
        drive_outbox(traveller)

    with time_machine.travel(brussels(2026, 11, 23, 17, 45), tick=False):
        page = manager_client.get(
            reverse("admin:dimona_shift_action_mark_no_show", args=[shift.pk]),
            headers={"accept-language": "fr"})

    content = page.content.decode()
    assert ("Une Dimona-Cancel pour la période 77 sera envoyée à l’ONSS avec le motif "
            "« no-show », et la prestation sera marquée comme absence.") in content
    assert "will be sent to the ONSS" not in content
