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
                         "enterprise_number": "0403170701", "joint_commission": "XXX",
                         "connection": None}
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
    # The day before: a shift that has started is refused unless declared late.
    with time_machine.travel(brussels(2026, 11, 22, 12), tick=False):
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


# -- impossible and implausible times (a 400 naming the field, never a 500) -----------

IMPOSSIBLE_TIMES = {
    "minute-99": "2026-11-23T12:99:00Z",
    "30-february": "2024-02-30T17:00:00+01:00",
    "hour-25": "2026-11-23T25:00:00+01:00",
}


def assert_refused_field(response, field, text):
    error = assert_error(response, 400, "validation_error")
    assert field in error["details"], error["details"]
    assert any(text in message for message in error["details"][field]), error["details"]


@pytest.mark.parametrize("field", ["start", "end"])
@pytest.mark.parametrize("value", IMPOSSIBLE_TIMES.values(), ids=IMPOSSIBLE_TIMES.keys())
def test_it_refuses_an_impossible_shift_time(api_client, field, value):
    employer, worker = EmployerFactory(), WorkerFactory()
    body = {"employer": employer.pk, "worker": worker.pk,
            "start": "2026-12-03T17:00:00+01:00", "end": "2026-12-03T21:00:00+01:00",
            field: value}
    assert_refused_field(api_client.post("/api/dimona/shifts/", body), field,
                         "does not exist")
    assert not Shift.objects.exists()


@pytest.mark.parametrize("field", ["start", "end"])
@pytest.mark.parametrize("value", IMPOSSIBLE_TIMES.values(), ids=IMPOSSIBLE_TIMES.keys())
def test_it_refuses_impossible_validated_hours(api_client, field, value):
    shift = ShiftFactory()
    body = {"start": "2026-11-23T17:00:00+01:00", "end": "2026-11-23T21:30:00+01:00",
            field: value}
    assert_refused_field(
        api_client.post(f"/api/dimona/shifts/{shift.pk}/validate-hours/", body), field,
        "does not exist")
    shift.refresh_from_db()
    assert shift.validated_start is None


@pytest.mark.parametrize("value", IMPOSSIBLE_TIMES.values(), ids=IMPOSSIBLE_TIMES.keys())
def test_it_refuses_an_impossible_clock_in(api_client, value):
    shift = ShiftFactory()
    assert_refused_field(api_client.post(f"/api/dimona/shifts/{shift.pk}/clock-in/",
                                         {"at": value}), "at", "does not exist")
    shift.refresh_from_db()
    assert (shift.status, shift.clock_in_at) == (Shift.Status.ACCEPTED, None)


@pytest.mark.parametrize(("at", "text"), [
    ("0033-11-23T17:00:00Z", "Too far in the past"),
    ("2026-11-22T16:59:00+01:00", "Too far in the past"),  # a day and a minute ago
    ("2026-11-23T18:01:00+01:00", "Too far in the future"),  # an hour and a minute ahead
], ids=["year-0033", "over-a-day-ago", "over-an-hour-ahead"])
def test_it_refuses_a_clock_in_far_from_now(api_client, at, text):
    shift = ShiftFactory(start=brussels(2026, 11, 23, 17))
    with time_machine.travel(brussels(2026, 11, 23, 17), tick=False):
        response = api_client.post(f"/api/dimona/shifts/{shift.pk}/clock-in/", {"at": at})
    assert_refused_field(response, "at", text)


@pytest.mark.parametrize("at", ["2026-11-22T17:00:00+01:00", "2026-11-23T16:55:00+01:00",
                                "2026-11-23T18:00:00+01:00"],
                         ids=["a-day-late", "just-now", "an-hour-ahead"])
def test_it_accepts_a_clock_in_around_now(api_client, at):
    shift = ShiftFactory(start=brussels(2026, 11, 23, 17))
    with time_machine.travel(brussels(2026, 11, 23, 17), tick=False):
        response = api_client.post(f"/api/dimona/shifts/{shift.pk}/clock-in/", {"at": at})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "in_progress"


@pytest.mark.parametrize(("start", "text"), [
    ("0033-11-23T17:00:00Z", "Too far in the past"),
    ("1999-12-31T23:00:00Z", "Too far in the past"),
    ("2062-11-23T17:00:00+01:00", "Too far in the future"),
], ids=["year-0033", "before-2000", "mistyped-year-2062"])
def test_it_refuses_shift_times_outside_the_plausible_range(api_client, start, text):
    employer, worker = EmployerFactory(), WorkerFactory()
    with time_machine.travel(brussels(2026, 11, 22, 12), tick=False):
        created = api_client.post("/api/dimona/shifts/", {
            "employer": employer.pk, "worker": worker.pk, "start": start,
            "end": "2026-11-23T21:00:00+01:00"})
        validated = api_client.post(
            f"/api/dimona/shifts/{ShiftFactory().pk}/validate-hours/",
            {"start": start, "end": "2026-11-23T21:00:00+01:00"})
    assert_refused_field(created, "start", text)
    assert_refused_field(validated, "start", text)


def test_it_accepts_a_shift_up_to_three_years_ahead(api_client):
    employer, worker = EmployerFactory(), WorkerFactory()
    with time_machine.travel(brussels(2026, 11, 22, 12), tick=False):
        response = api_client.post("/api/dimona/shifts/", {
            "employer": employer.pk, "worker": worker.pk,
            "start": "2029-11-20T17:00:00+01:00", "end": "2029-11-20T21:00:00+01:00"})
    assert response.status_code == 201, response.content


# -- the joint commission takes only what the ONSS takes --------------------------------

def employer_body(joint_commission, **changes):
    return {"name": "Frituur Marcel", "enterprise_number": "0403170701",
            "joint_commission": joint_commission, **changes}


@pytest.mark.parametrize("value", [
    "\u001bÖ", "X\u0000X", "30\u00852", "302\u200b", "3\t02", "XX", "XXXX", "30", "3020",
    "118.3", "118.033", "118,03", "118.", "302.01.20", "３０２", "PC 302",
], ids=["fuzzer-escape", "nul", "nel", "zero-width-space", "inner-tab", "two-x", "four-x",
        "two-digits", "four-digits", "one-decimal", "three-decimals", "comma", "bare-dot",
        "two-levels", "fullwidth-digits", "prefix"])
def test_it_refuses_a_joint_commission_the_onss_would_not_take(api_client, value):
    error = assert_error(api_client.post("/api/dimona/employers/", employer_body(value),
                                         format="json"), 400, "validation_error")
    assert list(error["details"]) == ["joint_commission"]
    assert "XXX or a joint commission number" in error["details"]["joint_commission"][0]
    employer = EmployerFactory()
    update = api_client.patch(f"/api/dimona/employers/{employer.pk}/",
                              {"joint_commission": value}, format="json")
    assert "joint_commission" in assert_error(update, 400, "validation_error")["details"]
    employer.refresh_from_db()
    assert employer.joint_commission == "XXX"


@pytest.mark.parametrize(("value", "stored"), [
    ("XXX", "XXX"), ("xxx", "XXX"), ("302", "302"), (" 302 ", "302"), ("118.03", "118.03"),
    ("202.01", "202.01"), ("118.00", "118.00"),
])
def test_it_accepts_xxx_or_a_joint_commission_number(api_client, value, stored):
    response = api_client.post("/api/dimona/employers/", employer_body(value), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["joint_commission"] == stored
