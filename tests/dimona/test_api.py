"""The REST API: field names, actions, and a 400 in the error shape for bad input."""

import pytest
import time_machine

from apps.dimona import services
from apps.dimona.models import DimonaDeclaration, Shift
from tests.dimona.factories import EmployerFactory, ShiftFactory, WorkerFactory, brussels
from tests.dimona.helpers import drive_outbox

pytestmark = pytest.mark.django_db


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body["error"]) == {"code", "message", "details", "request_id"}
    assert body["error"]["code"] == code
    return body["error"]


def accepted_shift(onss, **kwargs):
    """A shift whose Dimona-In the (fake) ONSS accepted with period 77."""
    onss.accept_posts()
    onss.result(900000000001, "A", period_id=77)
    shift = ShiftFactory(**kwargs)
    with time_machine.travel(brussels(2026, 11, 22, 20), tick=False) as traveller:
        services.shift_declare(shift=shift)
        drive_outbox(traveller)
    return shift


def test_it_creates_an_employer_and_refuses_a_bad_enterprise_number(api_client):
    ok = api_client.post("/api/dimona/employers/", {"name": "Frituur Marcel",
                                                    "enterprise_number": "0403.170.701"})
    assert ok.status_code == 201, ok.content
    assert ok.json() == {"id": ok.json()["id"], "name": "Frituur Marcel",
                         "enterprise_number": "0403170701", "joint_commission": "XXX"}
    error = assert_error(api_client.post("/api/dimona/employers/", {
        "name": "X", "enterprise_number": "0403170702"}), 400, "validation_error")
    assert "enterprise_number" in error["details"]


def test_it_never_shows_the_ssin_and_refuses_a_bad_one(api_client):
    created = api_client.post("/api/dimona/workers/", {"first_name": "Lina",
                                                      "last_name": "Peeters",
                                                      "ssin": "85.07.30-033.28"})
    assert created.status_code == 201, created.content
    assert created.json()["ssin"] == "••••••••328"
    listed = api_client.get("/api/dimona/workers/").json()["results"]
    assert "85073003328" not in str(listed)
    error = assert_error(api_client.post("/api/dimona/workers/", {
        "first_name": "A", "last_name": "B", "ssin": "85073003329"}), 400, "validation_error")
    assert "ssin" in error["details"]


def test_it_refuses_a_duplicate_worker(api_client):
    WorkerFactory(ssin="85073003328")
    assert_error(api_client.post("/api/dimona/workers/", {
        "first_name": "A", "last_name": "B", "ssin": "85073003328"}), 400, "duplicate_worker")


def test_it_refuses_a_shift_ending_before_it_starts_or_without_offset(api_client):
    employer, worker = EmployerFactory(), WorkerFactory()
    body = {"employer": employer.pk, "worker": worker.pk,
            "start": "2026-11-23T17:00:00+01:00", "end": "2026-11-23T16:00:00+01:00"}
    error = assert_error(api_client.post("/api/dimona/shifts/", body), 400, "validation_error")
    assert "end" in error["details"]
    naive = {**body, "end": "2026-11-23T21:00:00"}
    assert "end" in assert_error(api_client.post("/api/dimona/shifts/", naive), 400,
                                 "validation_error")["details"]


def test_it_runs_the_shift_actions_and_answers_with_the_shift(api_client, onss):
    onss.accept_posts()
    employer, worker = EmployerFactory(), WorkerFactory()
    created = api_client.post("/api/dimona/shifts/", {
        "employer": employer.pk, "worker": worker.pk,
        "start": "2026-11-23T17:00:00+01:00", "end": "2026-11-23T21:30:00+01:00"})
    assert created.status_code == 201, created.content
    shift_id = created.json()["id"]
    assert created.json()["status"] == "proposed"

    assert api_client.post(f"/api/dimona/shifts/{shift_id}/accept/").json()["status"] == \
        "accepted"
    declared = api_client.post(f"/api/dimona/shifts/{shift_id}/declare/").json()
    assert [(d["kind"], d["status"]) for d in declared["declarations"]] == [("in", "pending")]
    again = api_client.post(f"/api/dimona/shifts/{shift_id}/declare/").json()
    assert [d["id"] for d in again["declarations"]] == [declared["declarations"][0]["id"]]

    listed = api_client.get("/api/dimona/declarations/", {"shift": shift_id, "kind": "in"})
    assert listed.json()["count"] == 1
    assert set(listed.json()["results"][0]) >= {"id", "shift", "kind", "status", "result",
                                                "declaration_id", "period_id", "anomalies",
                                                "reason"}


def test_it_refuses_to_cancel_without_an_in(api_client):
    shift = ShiftFactory()
    assert_error(api_client.post(f"/api/dimona/shifts/{shift.pk}/cancel/", {"reason": "sick"}),
                 400, "no_declaration")
    shift.refresh_from_db()
    assert shift.status == Shift.Status.ACCEPTED


def test_it_cancels_until_the_start_date_and_refuses_after(api_client, onss):
    shift = accepted_shift(onss, start=brussels(2026, 11, 23, 17))
    with time_machine.travel(brussels(2026, 11, 24, 9), tick=False):
        error = assert_error(api_client.post(f"/api/dimona/shifts/{shift.pk}/cancel/",
                                             {"reason": "sick"}), 400, "cancel_deadline_passed")
    assert "23/11/2026" in error["message"]
    with time_machine.travel(brussels(2026, 11, 23, 23, 30), tick=False):
        response = api_client.post(f"/api/dimona/shifts/{shift.pk}/cancel/", {"reason": "sick"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "cancelled"
    assert [(d["kind"], d["reason"]) for d in body["declarations"]][-1] == ("cancel", "sick")


def test_it_refuses_a_no_show_before_thirty_minutes(api_client, onss):
    shift = accepted_shift(onss, start=brussels(2026, 11, 23, 17))
    with time_machine.travel(brussels(2026, 11, 23, 17, 20), tick=False):
        assert_error(api_client.post(f"/api/dimona/shifts/{shift.pk}/no-show/"), 400,
                     "too_early")
    with time_machine.travel(brussels(2026, 11, 23, 17, 31), tick=False):
        body = api_client.post(f"/api/dimona/shifts/{shift.pk}/no-show/").json()
    assert body["status"] == "no_show"
    assert body["declarations"][-1]["reason"] == "no_show"


def test_it_validates_hours_and_declares_an_update_past_the_threshold(api_client, onss):
    shift = accepted_shift(onss, start=brussels(2026, 11, 23, 17),
                           end=brussels(2026, 11, 23, 21))
    small = api_client.post(f"/api/dimona/shifts/{shift.pk}/validate-hours/", {
        "start": "2026-11-23T17:00:00+01:00", "end": "2026-11-23T21:10:00+01:00"})
    assert small.status_code == 200, small.content
    assert [d["kind"] for d in small.json()["declarations"]] == ["in"]
    longer = api_client.post(f"/api/dimona/shifts/{shift.pk}/validate-hours/", {
        "start": "2026-11-23T17:00:00+01:00", "end": "2026-11-23T22:00:00+01:00"}).json()
    update = longer["declarations"][-1]
    assert (update["kind"], update["period_id"]) == ("update", "77")
    assert longer["status"] == "completed"


def test_it_refuses_bad_validated_hours(api_client):
    shift = ShiftFactory()
    error = assert_error(api_client.post(f"/api/dimona/shifts/{shift.pk}/validate-hours/", {
        "start": "2026-11-23T22:00:00+01:00", "end": "2026-11-23T17:00:00+01:00"}), 400,
        "validation_error")
    assert "end" in error["details"]


def test_it_polls_a_declaration_on_request_and_refuses_when_done(api_client, onss):
    shift = accepted_shift(onss)
    declaration = DimonaDeclaration.objects.get(shift=shift)
    assert_error(api_client.post(f"/api/dimona/declarations/{declaration.pk}/poll/"), 400,
                 "nothing_to_poll")


def test_it_runs_the_cron_only_with_the_secret(client, settings, onss):
    onss.accept_posts()
    settings.CRON_SECRET = "s3cret-cron"
    ShiftFactory(start=brussels(2026, 11, 23, 17))
    with time_machine.travel(brussels(2026, 11, 22, 20), tick=False):
        refused = client.post("/api/dimona/cron/", HTTP_AUTHORIZATION="Bearer wrong")
        assert_error(refused, 401, "authentication_failed")
        ran = client.post("/api/dimona/cron/", HTTP_AUTHORIZATION="Bearer s3cret-cron")
    assert ran.status_code == 200, ran.content
    assert ran.json()["declared"] == 1


def test_it_refuses_the_api_to_non_managers(client, django_user_model):
    user = django_user_model.objects.create_user("outsider", password="pw-outsider-1")
    client.force_login(user)
    assert_error(client.get("/api/dimona/shifts/"), 403, "permission_denied")
