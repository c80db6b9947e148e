"""/api/events/ and /api/events/{id}/attendance/: the organisation's own events, in the
seed's envelope, attendees upserted by e-mail and shown masked."""

from __future__ import annotations

from datetime import datetime

import pytest
from rest_framework.test import APIClient

from apps.integrations.models import Attendance, Event
from tests.integrations.factories import EventFactory, OrganizationFactory, attendee, member

pytestmark = pytest.mark.django_db

TRAINING = {
    "type": "training", "title": "Fire safety", "description": "Yearly", "location": "Room 2",
    "start": "2026-03-16T09:00:00+01:00", "end": "2026-03-16T11:30:00+01:00",
    "timeZone": "Europe/Brussels", "isPrivate": False,
    "attendees": [{"email": "Ada@Example.test", "name": "Ada", "status": "accepted"},
                  {"email": "bob@example.test", "name": "Bob"}],
}


@pytest.fixture
def acme():
    return OrganizationFactory(name="Acme")


@pytest.fixture
def manager(acme):
    return member(organization=acme, username="marie", first_name="Marie", last_name="Dubois")


@pytest.fixture
def api(manager) -> APIClient:
    client = APIClient()
    client.force_authenticate(manager)
    return client


def test_it_creates_an_event_of_the_users_organisation(api, acme, manager):
    response = api.post("/api/events/", TRAINING, format="json")

    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    event = Event.objects.get(pk=data["id"])
    assert event.organization == acme and event.organizer == manager
    assert (data["title"], data["type"], data["timeZone"], data["isPrivate"]) == (
        "Fire safety", "training", "Europe/Brussels", False)
    assert datetime.fromisoformat(data["start"]) == datetime.fromisoformat(TRAINING["start"])
    assert data["end"].endswith("+01:00")  # ISO 8601 with its offset
    assert data["organizer"] == {"id": manager.pk, "name": "Marie Dubois"}
    assert data["version"] == 1
    # Stored as given (the look-up ignores case); shown masked.
    assert data["attendees"] == [{"email": "A••@Example.test", "name": "Ada",
                                  "status": "accepted"},
                                 {"email": "b••@example.test", "name": "Bob",
                                  "status": "invited"}]


def test_it_refuses_an_end_before_the_start_and_names_every_bad_field(api):
    response = api.post("/api/events/", {
        **TRAINING, "end": "2026-03-16T08:00:00+01:00", "timeZone": "Mars/Olympus",
        "attendees": [{"email": "not-an-email"}], "colour": "red"}, format="json")

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert sorted(response.json()["error"]["details"]) == ["attendees", "colour", "end",
                                                           "timeZone"]
    assert not Event.objects.exists()


def test_it_changes_an_event_bumping_its_version_and_upserting_attendees(api, acme):
    event = api.post("/api/events/", TRAINING, format="json").json()["data"]

    response = api.patch(f"/api/events/{event['id']}/", {
        "title": "Fire safety (refresher)", "version": 1,
        "attendees": [{"email": "ada@example.TEST", "name": "Ada L.", "status": "declined"},
                      {"email": "cy@example.test"}]}, format="json")

    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert (data["title"], data["version"]) == ("Fire safety (refresher)", 2)
    # Ada is the same person whatever the case of her address; Bob was left out.
    assert [(a["name"], a["status"]) for a in data["attendees"]] == [("", "invited"),
                                                                     ("Ada L.", "declined")]
    assert Attendance.objects.filter(event_id=event["id"]).count() == 2


def test_it_refuses_a_change_made_on_a_stale_version(api):
    event = api.post("/api/events/", TRAINING, format="json").json()["data"]
    api.patch(f"/api/events/{event['id']}/", {"title": "First"}, format="json")

    response = api.patch(f"/api/events/{event['id']}/", {"title": "Second", "version": 1},
                         format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "version_conflict"
    assert Event.objects.get(pk=event["id"]).title == "First"


def test_it_replaces_an_event_with_put(api):
    event = api.post("/api/events/", TRAINING, format="json").json()["data"]

    response = api.put(f"/api/events/{event['id']}/", {
        "title": "Onboarding", "start": "2026-03-17T09:00:00Z", "end": "2026-03-17T10:00:00Z"},
        format="json")
    incomplete = api.put(f"/api/events/{event['id']}/", {"title": "Onboarding"}, format="json")

    assert response.status_code == 200
    assert response.json()["data"]["title"] == "Onboarding"
    # Attendees not sent are kept.
    assert len(response.json()["data"]["attendees"]) == 2
    assert incomplete.status_code == 400
    assert sorted(incomplete.json()["error"]["details"]) == ["end", "start"]


def test_it_cancels_an_event_which_then_leaves_the_lists(api):
    event = api.post("/api/events/", TRAINING, format="json").json()["data"]

    response = api.delete(f"/api/events/{event['id']}/")

    assert response.status_code == 200
    assert response.json()["data"]["version"] == 2
    assert response.json()["data"]["cancelledAt"]
    assert api.get("/api/events/").json()["data"] == []
    assert api.get(f"/api/events/{event['id']}/").status_code == 404
    assert api.patch(f"/api/events/{event['id']}/", {"title": "x"},
                     format="json").status_code == 404


def test_it_pages_the_organisations_events_only(api, acme):
    for _ in range(3):
        EventFactory(organization=acme)
    EventFactory(organization=OrganizationFactory())

    first = api.get("/api/events/", {"limit": 2}).json()
    second = api.get("/api/events/", {"limit": 2, "page": 2}).json()

    assert first["meta"] == {"page": 1, "limit": 2, "total": 3, "totalPages": 2}
    assert len(first["data"]) == 2 and len(second["data"]) == 1


def test_it_hides_another_organisations_event(api):
    theirs = EventFactory(organization=OrganizationFactory())

    for answer in (api.get(f"/api/events/{theirs.pk}/"),
                   api.get(f"/api/events/{theirs.pk}/attendance/"),
                   api.delete(f"/api/events/{theirs.pk}/")):
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"


def test_it_lists_the_attendance_with_e_mails_masked(api, acme):
    event = EventFactory(organization=acme)
    attendee(event, "ada.lovelace@example.test", name="Ada", status="present",
             minutes_present=55, source="zoom")
    attendee(event, "bob@example.test", name="Bob", status="absent")

    response = api.get(f"/api/events/{event.pk}/attendance/")

    assert response.status_code == 200
    body = response.json()
    assert body["meta"] == {"page": 1, "limit": 50, "total": 2, "totalPages": 1}
    ada = body["data"][0]
    assert (ada["email"], ada["name"], ada["status"], ada["minutesPresent"], ada["source"]) == (
        "a•••••••••••@example.test", "Ada", "present", 55, "zoom")
    assert "ada.lovelace" not in response.content.decode()


def test_it_answers_permission_denied_to_who_is_not_a_manager(acme):
    client = APIClient()
    client.force_authenticate(member(organization=acme, group=None, username="worker"))

    response = client.get("/api/events/")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"


def test_an_event_created_through_the_api_is_sent_to_the_partners_endpoints(api, acme, settings):
    from apps.core.models import WebhookDelivery
    from apps.core.outgoing import endpoint_create
    from apps.integrations.models import ORGANIZATION_TENANT

    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = True  # nothing is delivered here
    endpoint_create(url="https://partner.example/hooks", event_types=["eventCreated"],
                    tenant_type=ORGANIZATION_TENANT, tenant_id=str(acme.pk))

    created = api.post("/api/events/", TRAINING, format="json").json()["data"]

    [delivery] = WebhookDelivery.objects.all()
    assert (delivery.event_type, delivery.payload["data"]["id"]) == ("eventCreated",
                                                                      created["id"])
