"""The sync endpoints: "poll now" of a platform configuration, the reservation
conflicts and their resolution, and the pushes' "retry now".

`config` is a Zenchef configuration with its simulator running.
"""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from apps.core.connections import client_cache_clear
from apps.core.models import Conflict, OutboundOperation, SyncRun
from apps.restosync.models import Reservation
from apps.restosync.operations import reservation_push
from apps.restosync.polling import POLL_KIND
from tests.factories import UserFactory
from tests.restosync.factories import make_config, make_reservation
from tests.restosync.helpers import mapped_reservation, push

pytestmark = pytest.mark.django_db
State = OutboundOperation.State
CONFLICTS = "/api/restosync/conflicts/"
RETRY = "/api/sync/retry/"


def poll_url(config) -> str:
    return f"/api/restosync/platform-configs/{config.pk}/poll/"


def resolve_url(conflict: Conflict) -> str:
    return f"{CONFLICTS}{conflict.pk}/resolve/"


@pytest.fixture
def staff_api_client():
    """Signed in, but not a Manager."""
    client = APIClient()
    client.force_authenticate(UserFactory(is_staff=True))
    return client


# -- poll now ---------------------------------------------------------------------------

def test_poll_starts_a_run_and_answers_its_id(api_client, manager_user,
                                              django_capture_on_commit_callbacks):
    config = make_config()

    with django_capture_on_commit_callbacks() as callbacks:
        response = api_client.post(poll_url(config))

    assert response.status_code == 202, response.content
    run = SyncRun.objects.get(kind=POLL_KIND, connection=config.connection)
    assert response.json() == {"sync_run": run.pk, "status": "running", "config": config.pk}
    assert (run.trigger, run.triggered_by) == (SyncRun.Trigger.MANUAL, manager_user)
    # The worker reads the platform once the run is committed.
    assert len(callbacks) == 1


def test_a_second_poll_while_one_runs_answers_the_running_one(api_client):
    config = make_config()
    first = api_client.post(poll_url(config)).json()

    again = api_client.post(poll_url(config))

    assert again.status_code == 202
    assert again.json()["sync_run"] == first["sync_run"]
    assert SyncRun.objects.filter(kind=POLL_KIND).count() == 1


def test_poll_of_an_inactive_config_is_409_and_starts_nothing(api_client):
    config = make_config(is_active=False)

    response = api_client.post(poll_url(config))

    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "config_inactive"
    assert not SyncRun.objects.exists()


def test_poll_refuses_a_body_and_an_unknown_config(api_client):
    config = make_config()

    with_body = api_client.post(poll_url(config), {"since": "yesterday"}, format="json")
    unknown = api_client.post("/api/restosync/platform-configs/999999/poll/")

    assert with_body.status_code == 400
    assert with_body.json()["error"]["code"] == "unknown_field"
    assert set(with_body.json()["error"]["details"]) == {"since"}
    assert unknown.status_code == 404
    assert not SyncRun.objects.exists()


# -- conflicts ---------------------------------------------------------------------------

def test_it_lists_the_open_conflicts_with_both_sides_and_the_merge(
        api_client, config, conflicted):
    response = api_client.get(CONFLICTS)

    assert response.status_code == 200, response.content
    [row] = response.json()["results"]
    reservation = mapped_reservation(config)
    assert row["id"] == conflicted.pk
    assert row["reservation"] == reservation.pk
    assert row["platform"] == "zenchef"
    assert row["connection"] == config.connection_id
    assert row["local_value"]["party_size"] == 3
    assert row["remote_value"]["party_size"] == 6
    assert row["proposed_value"]["allergies"] == ["nuts", "peanuts"]
    assert row["status"] == "open"
    # The guest's contact is in none of the values.
    assert "+32470123456" not in response.content.decode()
    assert "jan@example.com" not in response.content.decode()


def test_it_lists_only_restosync_reservation_conflicts_still_open(
        api_client, config, conflicted):
    other = make_config()
    Conflict.objects.create(entity_type="shift", local_id="1", connection=other.connection)
    Conflict.objects.create(entity_type="reservation", local_id="2",
                            connection=other.connection, status=Conflict.Status.RESOLVED,
                            resolution=Conflict.Resolution.KEEP_LOCAL)

    ids = [row["id"] for row in api_client.get(CONFLICTS).json()["results"]]

    assert ids == [conflicted.pk]


def test_take_remote_applies_theirs_through_the_core_resolution(
        api_client, manager_user, config, conflicted):
    response = api_client.post(resolve_url(conflicted), {"resolution": "take_remote"},
                               format="json")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "resolved"
    assert response.json()["resolution"] == "take_remote"
    conflicted.refresh_from_db()
    assert conflicted.resolved_by == manager_user
    assert mapped_reservation(config).party_size == 6
    assert api_client.get(CONFLICTS).json()["results"] == []


def test_keep_local_keeps_ours(api_client, config, conflicted):
    response = api_client.post(resolve_url(conflicted), {"resolution": "keep_local"},
                               format="json")

    assert response.status_code == 200, response.content
    assert mapped_reservation(config).party_size == 3


@pytest.mark.parametrize("body, field", [
    ({"resolution": "merged"}, "resolution"),
    ({"resolution": "take_theirs"}, "resolution"),
    ({}, "resolution"),
    ({"resolution": "keep_local", "merged_value": {}}, "merged_value"),
])
def test_resolve_refuses_a_bad_body_naming_the_field(api_client, config,
                                                     conflicted, body, field):
    response = api_client.post(resolve_url(conflicted), body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]
    conflicted.refresh_from_db()
    assert conflicted.status == Conflict.Status.OPEN


def test_a_resolved_conflict_is_409_and_stays_as_it_was(
        api_client, config, conflicted):
    api_client.post(resolve_url(conflicted), {"resolution": "take_remote"}, format="json")

    again = api_client.post(resolve_url(conflicted), {"resolution": "keep_local"},
                            format="json")

    assert again.status_code == 409, again.content
    assert again.json()["error"]["code"] == "CONFLICT_ALREADY_RESOLVED"
    conflicted.refresh_from_db()
    assert conflicted.resolution == Conflict.Resolution.TAKE_REMOTE
    assert mapped_reservation(config).party_size == 6


# -- retry now ---------------------------------------------------------------------------

@pytest.fixture
def failed_push(sim, config, settings):
    """A push that found Zenchef unreachable; the simulator is back afterwards."""
    settings.ZENCHEF_API_URL = "http://127.0.0.1:9"
    client_cache_clear()
    [operation] = push(make_reservation(config.restaurant))
    assert operation.state in (State.FAILED, State.UNKNOWN)
    settings.ZENCHEF_API_URL = sim.base_url
    client_cache_clear()
    return operation


def test_retry_get_counts_the_waiting_pushes(api_client, failed_push):
    response = api_client.get(RETRY)

    assert response.status_code == 200, response.content
    assert response.json() == {"pending": 1}


def test_retry_post_runs_the_due_pushes_now(api_client, failed_push):
    response = api_client.post(RETRY)

    assert response.status_code == 200, response.content
    assert response.json() == {"ran": 1, "pending": 0}
    failed_push.refresh_from_db()
    assert failed_push.state == State.SUCCEEDED


def test_retry_with_nothing_waiting_runs_nothing(api_client, config):
    # Enqueued, never failed: its first run is the worker's, not a retry.
    [waiting] = reservation_push(reservation=make_reservation(config.restaurant))

    assert api_client.get(RETRY).json() == {"pending": 1}
    assert api_client.post(RETRY).json() == {"ran": 0, "pending": 1}
    waiting.refresh_from_db()
    assert waiting.state == State.PENDING


def test_retry_refuses_a_body_and_a_query_parameter(api_client, failed_push):
    with_body = api_client.post(RETRY, {"limit": 5}, format="json")
    with_query = api_client.get(RETRY, {"state": "dead"})

    assert with_body.status_code == 400
    assert set(with_body.json()["error"]["details"]) == {"limit"}
    assert with_query.status_code == 400
    assert with_query.json()["error"]["code"] == "unknown_query_parameter"
    failed_push.refresh_from_db()
    assert failed_push.state in (State.FAILED, State.UNKNOWN)


# -- who may ------------------------------------------------------------------------------

def _requests(config, conflict):
    return [("get", CONFLICTS, None), ("get", f"{CONFLICTS}{conflict.pk}/", None),
            ("post", resolve_url(conflict), {"resolution": "take_remote"}),
            ("post", poll_url(config), None), ("get", RETRY, None), ("post", RETRY, None)]


@pytest.mark.parametrize("who, code, error", [
    ("anonymous", 401, "not_authenticated"),
    ("staff", 403, "permission_denied"),
])
def test_only_managers_may(config, conflicted, staff_api_client,
                           who, code, error):
    client = APIClient() if who == "anonymous" else staff_api_client

    answers = [getattr(client, method)(url, body, format="json")
               for method, url, body in _requests(config, conflicted)]

    assert [(a.status_code, a.json()["error"]["code"]) for a in answers] == (
        [(code, error)] * len(answers))
    conflicted.refresh_from_db()
    assert conflicted.status == Conflict.Status.OPEN
    assert not SyncRun.objects.exists()
    assert Reservation.objects.count() == 1


# -- schema ----------------------------------------------------------------------------------

def test_the_schema_documents_the_answers():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]

    poll = paths["/api/restosync/platform-configs/{id}/poll/"]["post"]
    assert {"202", "401", "403", "404", "409"} <= set(poll["responses"])
    resolve = paths["/api/restosync/conflicts/{id}/resolve/"]["post"]
    assert {"200", "400", "404", "409"} <= set(resolve["responses"])
    assert set(paths["/api/sync/retry/"]) == {"get", "post"}
