"""The Google simulator's events.list over real HTTP: pages, sync tokens, 410 Gone."""

from __future__ import annotations

import base64
import json

from tests.integrations.conftest import GoogleApi

OWNER_EVENTS = "/calendars/sim.user@example.com/events"


def _event(number: int, day: int = 10) -> dict:
    return {"summary": f"Event {number}",
            "start": {"dateTime": f"2026-12-{day:02d}T09:00:00+01:00"},
            "end": {"dateTime": f"2026-12-{day:02d}T10:00:00+01:00"}}


def _list_all(api, **params) -> tuple[list[dict], list[dict], str]:
    """Every page; (items, pages, nextSyncToken)."""
    items, pages, page_token = [], [], None
    while True:
        query = {**params, **({"pageToken": page_token} if page_token else {})}
        answer = api.call("GET", "/calendars/primary/events", params=query)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        pages.append(page)
        items += page["items"]
        page_token = page.get("nextPageToken")
        if not page_token:
            return items, pages, page["nextSyncToken"]


def test_a_full_sync_pages_and_gives_the_sync_token_on_the_last_page_only(google_api):
    for number in range(5):
        google_api.call("POST", "/calendars/primary/events", json=_event(number))

    items, pages, sync_token = _list_all(google_api, maxResults=2)

    assert [item["summary"] for item in items] == [f"Event {n}" for n in range(5)]
    assert len(pages) == 3
    assert all("nextSyncToken" not in page for page in pages[:-1])
    assert all("nextPageToken" in page for page in pages[:-1])
    assert sync_token
    assert pages[0]["kind"] == "calendar#events"
    assert pages[0]["timeZone"] == "Europe/Brussels"


def test_an_incremental_sync_returns_the_changes_and_the_cancellations(google_api):
    kept = google_api.call("POST", "/calendars/primary/events", json=_event(1)).json()
    changed = google_api.call("POST", "/calendars/primary/events", json=_event(2)).json()
    deleted = google_api.call("POST", "/calendars/primary/events", json=_event(3)).json()
    _, _, sync_token = _list_all(google_api)

    google_api.call("PATCH", f"/calendars/primary/events/{changed['id']}",
                    json={"summary": "Changed"})
    google_api.call("DELETE", f"/calendars/primary/events/{deleted['id']}")
    # The owner adds one in Google Calendar.
    owner = google_api.control("POST", OWNER_EVENTS, json=_event(4)).json()
    items, _, next_token = _list_all(google_api, syncToken=sync_token)

    by_id = {item["id"]: item for item in items}
    assert set(by_id) == {changed["id"], deleted["id"], owner["id"]}
    assert kept["id"] not in by_id
    assert by_id[changed["id"]]["summary"] == "Changed"
    assert by_id[deleted["id"]]["status"] == "cancelled"
    assert by_id[owner["id"]]["summary"] == "Event 4"
    assert next_token != sync_token
    nothing, _, _ = _list_all(google_api, syncToken=next_token)
    assert nothing == []


def test_a_full_sync_leaves_out_cancelled_events_unless_asked(google_api):
    gone = google_api.call("POST", "/calendars/primary/events", json=_event(1)).json()
    google_api.call("POST", "/calendars/primary/events", json=_event(2))
    google_api.call("DELETE", f"/calendars/primary/events/{gone['id']}")

    default, _, _ = _list_all(google_api)
    with_deleted, _, _ = _list_all(google_api, showDeleted="true")

    assert [item["summary"] for item in default] == ["Event 2"]
    assert {item["status"] for item in with_deleted} == {"confirmed", "cancelled"}


def test_an_event_changed_while_paging_is_left_for_the_next_incremental_sync(google_api):
    events = [google_api.call("POST", "/calendars/primary/events", json=_event(n)).json()
              for n in range(4)]
    first = google_api.call("GET", "/calendars/primary/events",
                            params={"maxResults": 2}).json()
    google_api.call("PATCH", f"/calendars/primary/events/{events[3]['id']}",
                    json={"summary": "Changed meanwhile"})
    google_api.call("PATCH", f"/calendars/primary/events/{events[0]['id']}",
                    json={"summary": "Already listed, changed"})

    rest = google_api.call("GET", "/calendars/primary/events", params={
        "maxResults": 2, "pageToken": first["nextPageToken"]}).json()
    changes, _, _ = _list_all(google_api, syncToken=rest["nextSyncToken"])

    listed = [item["id"] for item in first["items"] + rest["items"]]
    assert listed == [events[0]["id"], events[1]["id"], events[2]["id"]]
    assert {item["summary"] for item in changes} == {"Changed meanwhile",
                                                     "Already listed, changed"}


def test_time_min_and_time_max_keep_the_events_that_overlap_them(google_api):
    for day in (8, 10, 12):
        google_api.call("POST", "/calendars/primary/events", json=_event(day, day=day))

    items, _, _ = _list_all(google_api, timeMin="2026-12-09T00:00:00Z",
                            timeMax="2026-12-11T00:00:00+01:00")
    empty = google_api.call("GET", "/calendars/primary/events", params={
        "timeMin": "2026-12-11T00:00:00Z", "timeMax": "2026-12-09T00:00:00Z"})

    assert [item["summary"] for item in items] == ["Event 10"]
    assert empty.status_code == 400
    assert empty.json()["error"]["errors"][0]["reason"] == "timeRangeEmpty"


def test_a_sync_token_with_a_time_filter_is_refused(google_api):
    _, _, sync_token = _list_all(google_api)

    answer = google_api.call("GET", "/calendars/primary/events",
                             params={"syncToken": sync_token,
                                     "timeMin": "2026-12-09T00:00:00Z"})

    assert answer.status_code == 400
    assert answer.json()["error"]["errors"][0]["location"] == "timeMin"


def test_invalidated_sync_tokens_are_410_gone_and_a_full_sync_starts_again(google_api):
    google_api.call("POST", "/calendars/primary/events", json=_event(1))
    _, _, sync_token = _list_all(google_api)
    google_api.control("POST", "/sync-tokens", json={"expire": True})

    gone = google_api.call("GET", "/calendars/primary/events", params={"syncToken": sync_token})
    again, _, fresh_token = _list_all(google_api)

    assert gone.status_code == 410
    error = gone.json()["error"]
    assert error["code"] == 410
    assert error["errors"][0] == {"domain": "calendar", "reason": "fullSyncRequired",
                                  "message": "Sync token is no longer valid, a full sync is "
                                             "required.",
                                  "locationType": "parameter", "location": "syncToken"}
    assert len(again) == 1
    assert google_api.call("GET", "/calendars/primary/events",
                           params={"syncToken": fresh_token}).status_code == 200


def test_a_sync_token_older_than_its_maximum_age_is_410(google_simulator):
    api = GoogleApi(google_simulator(sync_token_max_age_seconds=3600)).connect()
    _, _, sync_token = _list_all(api)
    api.control("POST", "/advance", json={"seconds": 3000})
    young = api.call("GET", "/calendars/primary/events", params={"syncToken": sync_token})
    young_token = young.json()["nextSyncToken"]
    api.control("POST", "/advance", json={"seconds": 1000})
    # The access token expired meanwhile: the hub refreshes first.
    api.access_token = api.token(grant_type="refresh_token",
                                 refresh_token=api.refresh_token).json()["access_token"]

    old = api.call("GET", "/calendars/primary/events", params={"syncToken": sync_token})
    recent = api.call("GET", "/calendars/primary/events", params={"syncToken": young_token})

    assert young.status_code == 200
    assert old.status_code == 410
    assert recent.status_code == 200


def test_a_garbled_sync_or_page_token_is_400(google_api):
    sync = google_api.call("GET", "/calendars/primary/events", params={"syncToken": "%%%"})
    page = google_api.call("GET", "/calendars/primary/events", params={"pageToken": "bm9wZQ=="})

    assert sync.status_code == 400
    assert page.status_code == 400


def test_the_owner_imports_and_changes_events_in_bulk_for_benchmarks(google_api):
    created = google_api.control("POST", OWNER_EVENTS + "/generate",
                                 json={"count": 300, "start": "2026-12-07", "seed": 3}).json()
    _, pages, sync_token = _list_all(google_api, maxResults=2500)
    changed = google_api.control("POST", OWNER_EVENTS + "/change",
                                 json={"percent": 1, "seed": 3, "cancel_share": 0.34}).json()
    changes, _, _ = _list_all(google_api, syncToken=sync_token)

    assert created["created"] == 300
    assert len(pages[0]["items"]) == 300
    assert changed == {"changed": 2, "cancelled": 1, "ids": changed["ids"]}
    assert sorted(item["id"] for item in changes) == sorted(changed["ids"])
    assert sum(item["status"] == "cancelled" for item in changes) == 1


def test_a_forged_token_of_the_right_encoding_is_400_not_a_crash(google_api):
    forged = base64.urlsafe_b64encode(json.dumps(
        {"c": "sim.user@example.com", "s": 1, "t": "yesterday", "e": "x"}).encode()).decode()
    page = base64.urlsafe_b64encode(json.dumps(
        {"c": "sim.user@example.com", "a": 0, "hw": "all"}).encode()).decode()

    assert google_api.call("GET", "/calendars/primary/events",
                           params={"syncToken": forged}).status_code == 400
    assert google_api.call("GET", "/calendars/primary/events",
                           params={"pageToken": page}).status_code == 400


def test_the_owners_change_and_deletion_appear_in_the_next_incremental_sync(google_api):
    event = google_api.call("POST", "/calendars/primary/events", json=_event(1)).json()
    other = google_api.call("POST", "/calendars/primary/events", json=_event(2)).json()
    _, _, sync_token = _list_all(google_api)

    changed = google_api.control("PATCH", f"{OWNER_EVENTS}/{event['id']}",
                                 json={"summary": "Renamed by the owner"})
    deleted = google_api.control("DELETE", f"{OWNER_EVENTS}/{other['id']}")
    changes, _, _ = _list_all(google_api, syncToken=sync_token)

    assert changed.status_code == 200 and deleted.status_code == 204
    assert {item["id"]: item.get("summary", item["status"]) for item in changes} == {
        event["id"]: "Renamed by the owner", other["id"]: "cancelled"}
