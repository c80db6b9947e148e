"""The Dimona API refuses what it would otherwise ignore, says every error at once,
names state refusals with their own code, and refuses what the ONSS would refuse."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from apps.core.models import OutboundOperation
from apps.dimona.models import DimonaDeclaration, Shift
from tests.dimona.factories import EmployerFactory, ShiftFactory, WorkerFactory, brussels

pytestmark = pytest.mark.django_db

SHIFTS = "/api/dimona/shifts/"
# The day before the factory's shifts (23/11 17:00–21:30): nothing is in the past yet.
DAY_BEFORE = brussels(2026, 11, 22, 12)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code, error
    return error


def shift_body(**changes) -> dict:
    return {"employer": EmployerFactory().pk, "worker": WorkerFactory().pk,
            "start": "2026-11-23T17:00:00+01:00", "end": "2026-11-23T21:00:00+01:00",
            **changes}


def create(api_client, body: dict, *, at=DAY_BEFORE):
    with time_machine.travel(at, tick=False):
        return api_client.post(SHIFTS, body, format="json")


# -- strict input ---------------------------------------------------------------------

def test_it_refuses_a_status_on_create_as_read_only(api_client):
    error = assert_error(create(api_client, shift_body(status="accepted")), 400,
                         "read_only_field")
    assert list(error["details"]) == ["status"]
    assert not Shift.objects.exists()


def test_it_refuses_an_unknown_field_naming_it(api_client):
    error = assert_error(create(api_client, shift_body(colour="red")), 400, "unknown_field")
    assert list(error["details"]) == ["colour"]
    assert not Shift.objects.exists()


def test_it_refuses_a_national_number_in_a_worker_rename(api_client):
    worker = WorkerFactory(ssin="85073003328")
    response = api_client.patch(f"/api/dimona/workers/{worker.pk}/",
                                {"first_name": "Lina", "ssin": "85073003409"}, format="json")
    error = assert_error(response, 400, "read_only_field")
    assert list(error["details"]) == ["ssin"]
    worker.refresh_from_db()
    assert worker.first_name != "Lina"
    assert worker.ssin == "85073003328"


def test_it_refuses_an_id_sent_to_the_employer_endpoint(api_client):
    error = assert_error(api_client.post("/api/dimona/employers/", {
        "id": 7, "name": "Frituur Marcel", "enterprise_number": "0403170701"}, format="json"),
        400, "read_only_field")
    assert list(error["details"]) == ["id"]


def test_it_refuses_a_body_sent_to_an_action_that_takes_none(api_client):
    shift = ShiftFactory()
    error = assert_error(api_client.post(f"{SHIFTS}{shift.pk}/declare/", {"force": True},
                                         format="json"), 400, "unknown_field")
    assert list(error["details"]) == ["force"]
    assert not shift.declarations.exists()


def test_it_refuses_unknown_query_parameters_on_lists_and_details(api_client):
    shift = ShiftFactory()
    listed = assert_error(api_client.get(SHIFTS, {"colour": "red", "sort": "start"}), 400,
                          "unknown_query_parameter")
    assert sorted(listed["details"]) == ["colour", "sort"]
    detail = assert_error(api_client.get(f"{SHIFTS}{shift.pk}/", {"page": 2}), 400,
                          "unknown_query_parameter")
    assert list(detail["details"]) == ["page"]
    assert_error(api_client.get("/api/dimona/declarations/", {"shfit": shift.pk}), 400,
                 "unknown_query_parameter")


def test_it_takes_the_filters_pagination_and_format_it_offers(api_client):
    shift = ShiftFactory()
    response = api_client.get(SHIFTS, {"status": "accepted", "worker": shift.worker_id,
                                       "needs_attention": "false", "page": 1,
                                       "page_size": 10, "format": "json"})
    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["results"]] == [shift.pk]
    # Offered by the view's SearchFilter and search_fields, so taken without a list of ours.
    searched = api_client.get(SHIFTS, {"search": shift.worker.first_name})
    assert searched.status_code == 200, searched.content
    assert [row["id"] for row in searched.json()["results"]] == [shift.pk]


# -- every error of a request in one answer --------------------------------------------

def test_it_reports_field_and_hour_errors_together(api_client):
    body = shift_body(worker=999999, end="2026-11-23T16:00:00+01:00")
    error = assert_error(create(api_client, body), 400, "validation_error")
    assert set(error["details"]) == {"worker", "end"}


def test_it_reports_an_unknown_field_with_the_local_checks(api_client):
    other = ShiftFactory()
    body = shift_body(worker=other.worker_id, nickname="Lina")
    error = assert_error(create(api_client, body), 400, "validation_error")
    assert set(error["details"]) == {"nickname", "start"}
    assert str(other.pk) in error["details"]["start"][0]


# -- state refusals: 409 with the state's code -------------------------------------------

def cancelled_with_accepted_in() -> Shift:
    """A cancelled shift keeps its Dimona-In, accepted by the ONSS before the cancel."""
    shift = ShiftFactory(status=Shift.Status.CANCELLED)
    DimonaDeclaration.objects.create(shift=shift, kind="in", status="accepted", period_id="77")
    return shift


def test_it_refuses_to_declare_a_cancelled_shift(api_client):
    shift = cancelled_with_accepted_in()
    error = assert_error(api_client.post(f"{SHIFTS}{shift.pk}/declare/"), 409,
                         "shift_cancelled")
    assert error["details"] == {"status": ["cancelled"]}
    assert shift.declarations.count() == 1
    assert not OutboundOperation.objects.exists()


@pytest.mark.parametrize(("status", "action", "code"), [
    (Shift.Status.COMPLETED, "declare", "shift_completed"),
    (Shift.Status.NO_SHOW, "declare", "shift_no_show"),
    (Shift.Status.PROPOSED, "declare", "shift_not_accepted"),
    (Shift.Status.CANCELLED, "no-show", "shift_cancelled"),
    (Shift.Status.CANCELLED, "accept", "shift_cancelled"),
    (Shift.Status.IN_PROGRESS, "clock-in", "shift_in_progress"),
    (Shift.Status.COMPLETED, "cancel", "shift_completed"),
])
def test_it_answers_409_with_the_state_for_an_action_it_forbids(api_client, status, action,
                                                                code):
    shift = ShiftFactory(status=status)
    with time_machine.travel(brussels(2026, 11, 23, 18), tick=False):
        assert_error(api_client.post(f"{SHIFTS}{shift.pk}/{action}/"), 409, code)
    shift.refresh_from_db()
    assert shift.status == status
    assert not OutboundOperation.objects.exists()


def test_it_refuses_worked_hours_for_a_no_show(api_client):
    shift = ShiftFactory(status=Shift.Status.NO_SHOW)
    assert_error(api_client.post(f"{SHIFTS}{shift.pk}/validate-hours/", {
        "start": "2026-11-23T17:00:00+01:00", "end": "2026-11-23T21:00:00+01:00"}), 409,
        "shift_no_show")


# -- what the ONSS would refuse later ----------------------------------------------------

def test_it_refuses_a_shift_overlapping_another_of_the_same_worker(api_client):
    other = ShiftFactory()  # 17:00–21:30
    body = shift_body(worker=other.worker_id, start="2026-11-23T21:00:00+01:00",
                      end="2026-11-23T23:00:00+01:00")
    error = assert_error(create(api_client, body), 400, "shift_overlaps")
    assert str(other.pk) in error["details"]["start"][0]
    assert Shift.objects.count() == 1


def test_it_accepts_a_shift_next_to_another_or_over_a_cancelled_one(api_client):
    other = ShiftFactory()  # 17:00–21:30
    ShiftFactory(worker=other.worker, status=Shift.Status.CANCELLED,
                 start=brussels(2026, 11, 23, 22))
    after = create(api_client, shift_body(worker=other.worker_id,
                                          start="2026-11-23T21:30:00+01:00",
                                          end="2026-11-24T01:00:00+01:00"))
    assert after.status_code == 201, after.content


def test_it_refuses_a_shift_in_the_past_unless_declared_late(api_client):
    late = brussels(2026, 11, 23, 18)
    error = assert_error(create(api_client, shift_body(), at=late), 400, "shift_in_past")
    assert list(error["details"]) == ["start"]
    declared = create(api_client, shift_body(declared_late=True), at=late)
    assert declared.status_code == 201, declared.content
    assert declared.json()["status"] == "proposed"


def test_it_refuses_the_same_in_the_admin_as_form_errors(manager_client):
    other = ShiftFactory()
    form = {"employer": other.employer_id, "worker": other.worker_id,
            "start_0": "2026-11-23", "start_1": "18:00:00",
            "end_0": "2026-11-23", "end_1": "20:00:00",
            "declarations-TOTAL_FORMS": 0, "declarations-INITIAL_FORMS": 0,
            "declarations-MIN_NUM_FORMS": 0, "declarations-MAX_NUM_FORMS": 1000}
    with time_machine.travel(brussels(2026, 11, 23, 19), tick=False):
        response = manager_client.post(reverse("admin:dimona_shift_add"), form)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["start"]
    assert any(str(other.pk) in message for message in errors)
    assert any("past" in message for message in errors)
    assert Shift.objects.count() == 1


def test_it_refuses_an_admin_edit_that_makes_two_shifts_overlap(manager_client):
    first = ShiftFactory()
    second = ShiftFactory(worker=first.worker, start=brussels(2026, 11, 24, 17))
    form = {"employer": second.employer_id, "worker": second.worker_id,
            "start_0": "2026-11-23", "start_1": "20:00:00",
            "end_0": "2026-11-23", "end_1": "23:00:00",
            "declarations-TOTAL_FORMS": 0, "declarations-INITIAL_FORMS": 0,
            "declarations-MIN_NUM_FORMS": 0, "declarations-MAX_NUM_FORMS": 1000}
    response = manager_client.post(reverse("admin:dimona_shift_change", args=[second.pk]), form)
    assert response.status_code == 200
    assert str(first.pk) in str(response.context["adminform"].form.errors)
    second.refresh_from_db()
    assert second.start == brussels(2026, 11, 24, 17)
