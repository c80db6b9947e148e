"""The Dimona panel of the home page: today's shifts and their declarations."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from apps.dimona.models import DimonaDeclaration, Shift
from tests.dimona.factories import ShiftFactory, WorkerFactory, brussels
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

INDEX = "/admin/"
PANEL = b'id="dash-dimona_today"'
REFRESH = b'class="hub-auto-refresh"'
Status = DimonaDeclaration.Status


@pytest.fixture(autouse=True)
def _noon_in_brussels():
    with time_machine.travel(brussels(2026, 11, 23, 12), tick=False):
        yield


def declare(shift: Shift, status: str, *, kind: str = "in", **fields) -> DimonaDeclaration:
    return DimonaDeclaration.objects.create(shift=shift, kind=kind, status=status, **fields)


def test_it_lists_today_s_shifts_with_their_dimona_state(manager_client):
    accepted = ShiftFactory(start=brussels(2026, 11, 23, 8),
                            worker=WorkerFactory(first_name="Anna"))
    declare(accepted, Status.ACCEPTED)
    waiting = ShiftFactory(start=brussels(2026, 11, 23, 17),
                           worker=WorkerFactory(first_name="Bert"))
    declare(waiting, Status.SENT)
    ShiftFactory(start=brussels(2026, 11, 23, 23, 30), worker=WorkerFactory(first_name="Cleo"))
    ShiftFactory(start=brussels(2026, 11, 24, 8), worker=WorkerFactory(first_name="Dirk"))

    response = manager_client.get(INDEX)

    page = response.content.decode()
    panel = page[page.index('id="dash-dimona_today"'):page.index('id="dash-connections"')]
    assert ["Anna" in panel, "Bert" in panel, "Cleo" in panel, "Dirk" in panel] == [
        True, True, True, False]
    assert panel.index("Anna") < panel.index("Bert") < panel.index("Cleo")
    assert 'data-status="accepted">Dimona-In: Accepted (A)</span>' in panel
    assert 'data-status="sent">Dimona-In: Sent, waiting for the result</span>' in panel
    assert 'data-status="none">Not declared</span>' in panel
    # The summary counts the day's shifts by state.
    assert "Dimona-In: Accepted (A): 1" in panel
    assert "Not declared: 1" in panel
    assert "start__day=23&amp;start__month=11&amp;start__year=2026" in panel


def test_it_shows_a_cancelled_shift_by_its_newest_declaration(manager_client):
    shift = ShiftFactory(start=brussels(2026, 11, 23, 18), status=Shift.Status.CANCELLED)
    declare(shift, Status.ACCEPTED, created_at=brussels(2026, 11, 22, 20))
    declare(shift, Status.ACCEPTED, kind="cancel", created_at=brussels(2026, 11, 23, 9))

    response = manager_client.get(INDEX)

    assert b"Dimona-Cancel: Accepted (A)</span>" in response.content
    assert b"Dimona-In: Accepted (A)</span>" not in response.content


def test_it_refreshes_while_a_declaration_waits_for_its_result(manager_client):
    shift = ShiftFactory(start=brussels(2026, 11, 23, 17))
    declaration = declare(shift, Status.SENT)

    waiting = manager_client.get(INDEX)
    DimonaDeclaration.objects.filter(pk=declaration.pk).update(status=Status.ACCEPTED)
    answered = manager_client.get(INDEX)

    assert REFRESH in waiting.content
    box = waiting.content.decode().split(REFRESH.decode())[1].split("</div>")[0]
    assert escape("Today's shifts and their Dimona") in box
    assert REFRESH not in answered.content


def test_it_stops_refreshing_for_a_declaration_stuck_for_a_day(manager_client):
    shift = ShiftFactory(start=brussels(2026, 11, 21, 17))
    declare(shift, Status.SENT, created_at=brussels(2026, 11, 21, 9))

    response = manager_client.get(INDEX)

    assert REFRESH not in response.content


@pytest.mark.parametrize(("codenames", "shown"), [
    (("view_shift",), False),
    (("view_dimonadeclaration",), False),
    (("view_shift", "view_dimonadeclaration"), True),
])
def test_it_shows_the_panel_only_to_who_may_view_shifts_and_declarations(client, codenames,
                                                                         shown):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    declare(ShiftFactory(start=brussels(2026, 11, 23, 17)), Status.SENT)

    response = client.get(INDEX)

    assert response.status_code == 200
    assert (PANEL in response.content) is shown
    assert (REFRESH in response.content) is shown


def test_it_lists_the_first_shifts_of_a_busy_day_in_a_constant_number_of_queries(
        manager_client):
    def add_shifts(count: int, first_hour: int) -> None:
        for n in range(count):
            shift = ShiftFactory(start=brussels(2026, 11, 23, first_hour)
                                 + timedelta(minutes=n))
            declare(shift, Status.ACCEPTED)

    add_shifts(2, 6)
    manager_client.get(INDEX)
    with CaptureQueriesContext(connection) as few:
        manager_client.get(INDEX)
    add_shifts(30, 9)
    with CaptureQueriesContext(connection) as many:
        response = manager_client.get(INDEX)

    assert len(many) == len(few)
    assert "The first 15 of 32 shifts." in response.content.decode()
    assert "Dimona-In: Accepted (A): 32" in response.content.decode()
