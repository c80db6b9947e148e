"""The managers' back-office: actions call the services, lists stay cheap."""

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.dimona.models import DimonaDeclaration, Shift
from tests.dimona.factories import ShiftFactory, WorkerFactory, brussels
from tests.dimona.helpers import drive_outbox

pytestmark = pytest.mark.django_db



def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("url", ["/admin/dimona/shift/", "/admin/dimona/dimonadeclaration/",
                                 "/admin/dimona/worker/"])
def test_it_lists_with_a_constant_number_of_queries(manager_client, url, onss):
    onss.accept_posts()
    ShiftFactory()
    DimonaDeclaration.objects.create(shift=Shift.objects.get(), kind="in")
    few = count_queries(manager_client, url)
    for _ in range(15):
        shift = ShiftFactory()
        DimonaDeclaration.objects.create(shift=shift, kind="in")
    assert count_queries(manager_client, url) == few


def test_it_declares_from_the_admin_and_reports_refusals(manager_client, onss):
    onss.accept_posts()
    accepted = ShiftFactory()
    proposed = ShiftFactory(status=Shift.Status.PROPOSED)
    response = manager_client.post("/admin/dimona/shift/", {
        "action": "declare", "_selected_action": [accepted.pk, proposed.pk]}, follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert any("1 shift(s) declared" in m for m in messages)
    assert any("A shift that is proposed cannot be declared" in m for m in messages)
    assert accepted.declarations.count() == 1 and proposed.declarations.count() == 0


def test_it_asks_for_a_reason_before_cancelling(manager_client, onss):
    onss.accept_posts()
    onss.result(900000000001, "A", period_id=77)
    shift = ShiftFactory(start=brussels(2026, 11, 23, 17))
    with time_machine.travel(brussels(2026, 11, 22, 20), tick=False) as traveller:
        manager_client.post("/admin/dimona/shift/", {"action": "declare",
                                                     "_selected_action": [shift.pk]})
        drive_outbox(traveller)
        confirm = manager_client.post("/admin/dimona/shift/", {
            "action": "cancel_dimona", "_selected_action": [shift.pk]})
        assert confirm.status_code == 200 and b"reason" in confirm.content
        manager_client.post("/admin/dimona/shift/", {
            "action": "cancel_dimona", "_selected_action": [shift.pk], "apply": "1",
            "reason": "restaurant closed"})
    cancel = shift.declarations.get(kind="cancel")
    assert cancel.reason == "restaurant closed"
    shift.refresh_from_db()
    assert shift.status == Shift.Status.CANCELLED


def test_it_shows_no_show_candidates_on_the_live_page(manager_client, onss):
    onss.accept_posts()
    onss.result(900000000001, "A", period_id=77)
    late = ShiftFactory(start=brussels(2026, 11, 22, 11), worker=WorkerFactory(first_name="Late"))
    with time_machine.travel(brussels(2026, 11, 22, 10), tick=False) as traveller:
        manager_client.post("/admin/dimona/shift/", {"action": "declare",
                                                     "_selected_action": [late.pk]})
        drive_outbox(traveller)
    with time_machine.travel(brussels(2026, 11, 22, 11, 45), tick=False):
        page = manager_client.get("/admin/dimona/shift/live/")
        assert page.status_code == 200
        assert [s.pk for s in page.context["candidates"]] == [late.pk]
        # A no-show sends a Dimona-Cancel: the Live page asks for a confirmation first.
        asked = manager_client.post("/admin/dimona/shift/live/",
                                    {"shift": late.pk, "action": "no_show"}, follow=True)
        late.refresh_from_db()
        assert late.status == Shift.Status.ACCEPTED
        assert "A Dimona-Cancel for period 77 will be sent to the ONSS" in asked.content.decode()
        done = manager_client.post(asked.redirect_chain[-1][0].split("?")[0],
                                   {"apply": "1", "next": "/admin/dimona/shift/live/"})
        assert done["Location"] == "/admin/dimona/shift/live/"
    late.refresh_from_db()
    assert late.status == Shift.Status.NO_SHOW
    assert late.declarations.get(kind="cancel").reason == "no_show"
