"""The GETs follow the ONSS rhythm: 2 s, then every second to 30 s, then every
minute to 20 minutes, then a person takes over."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from apps.core.attention_selectors import attention_open_for
from apps.dimona import services
from apps.dimona.models import DimonaDeclaration
from apps.dimona.polling import next_poll_at, poll_offsets
from tests.dimona.conftest import API
from tests.dimona.factories import ShiftFactory, brussels
from tests.dimona.helpers import drive_outbox

EXPECTED_OFFSETS = [*range(2, 31), *range(90, 1171, 60)]


def test_it_lists_the_documented_offsets():
    assert poll_offsets() == EXPECTED_OFFSETS
    assert poll_offsets(slow_only=True) == list(range(90, 1171, 60))


def test_it_skips_to_the_next_grid_point_when_late():
    sent = brussels(2026, 11, 22, 20)
    assert next_poll_at(sent, sent) == sent + timedelta(seconds=2)
    assert next_poll_at(sent, sent + timedelta(seconds=12.5)) == sent + timedelta(seconds=13)
    assert next_poll_at(sent, sent + timedelta(seconds=31)) == sent + timedelta(seconds=90)
    assert next_poll_at(sent, sent + timedelta(seconds=1170)) is None


@pytest.mark.django_db
def test_it_gets_the_result_exactly_on_the_schedule_then_flags_manual_follow_up(onss):
    onss.accept_posts()
    get_times = []

    def not_processed(request):
        get_times.append(timezone.now())
        return 404, {"Content-Type": "application/problem+json"}, '{"status": 404}'

    onss.mock.add_callback("GET", f"{API}/declarations/900000000001", callback=not_processed)
    shift = ShiftFactory()
    with time_machine.travel(brussels(2026, 11, 22, 20), tick=False) as traveller:
        declaration = services.shift_declare(shift=shift)
        drive_outbox(traveller)

    declaration.refresh_from_db()
    offsets = [(moment - declaration.sent_at).total_seconds() for moment in get_times]
    assert offsets == EXPECTED_OFFSETS
    assert declaration.status == DimonaDeclaration.Status.MANUAL_CHECK
    assert declaration.poll_count == len(EXPECTED_OFFSETS)
    shift.refresh_from_db()
    assert "20 minutes" in attention_open_for(shift)["dimona.manual_check"]


@pytest.mark.django_db
def test_it_stops_polling_as_soon_as_the_result_is_there(onss):
    onss.accept_posts()
    calls = []

    def processed_on_third_get(request):
        calls.append(timezone.now())
        if len(calls) < 3:
            return 404, {}, ""
        return 200, {"Content-Type": "application/json"}, (
            '{"declarationStatus": {"declarationId": 900000000001, "result": "A",'
            ' "period": {"id": 555000000001}}}')

    onss.mock.add_callback("GET", f"{API}/declarations/900000000001",
                           callback=processed_on_third_get)
    with time_machine.travel(brussels(2026, 11, 22, 20), tick=False) as traveller:
        declaration = services.shift_declare(shift=ShiftFactory())
        drive_outbox(traveller)
    declaration.refresh_from_db()
    assert len(calls) == 3
    assert declaration.status == DimonaDeclaration.Status.ACCEPTED


@pytest.mark.django_db
def test_it_polls_again_when_a_manager_asks(onss):
    onss.accept_posts()
    onss.mock.get(f"{API}/declarations/900000000001", status=404)
    with time_machine.travel(brussels(2026, 11, 22, 20), tick=False) as traveller:
        declaration = services.shift_declare(shift=ShiftFactory())
        drive_outbox(traveller)
        declaration.refresh_from_db()
        assert declaration.status == DimonaDeclaration.Status.MANUAL_CHECK

        onss.mock.replace("GET", f"{API}/declarations/900000000001",
                          json={"declarationStatus": {"result": "A", "period": {"id": 7}}})
        services.declaration_poll_now(declaration=declaration)
        drive_outbox(traveller)
    declaration.refresh_from_db()
    assert declaration.status == DimonaDeclaration.Status.ACCEPTED
    assert declaration.period_id == "7"
