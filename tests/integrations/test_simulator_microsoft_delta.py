"""The Microsoft simulator's calendarView delta over real HTTP: pages, delta
links, removed events, and the 410 that asks for a full resync."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.integrations import microsoft_fixtures
from tests.integrations.microsoft_fixtures import (
    control,
    event_body,
    graph_for,
)

# The fixtures, where pytest finds them (an import would be an unused name for ruff).
microsoft_simulator = microsoft_fixtures.microsoft_simulator

WINDOW = {"startDateTime": "2026-03-01T00:00:00Z", "endDateTime": "2026-04-01T00:00:00Z"}


@pytest.fixture
def sim(microsoft_simulator):
    return microsoft_simulator()


@pytest.fixture
def graph(sim):
    return graph_for(sim)


def _round(graph, first, page_size: int | None = None) -> tuple[list[dict], str, int]:
    """Follow nextLinks to the deltaLink: (items, deltaLink, pages)."""
    headers = {"Prefer": f"odata.maxpagesize={page_size}"} if page_size else {}
    items, pages, response = [], 0, first(headers)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["value"]
        pages += 1
        if "@odata.deltaLink" in body:
            assert "@odata.nextLink" not in body
            return items, body["@odata.deltaLink"], pages
        response = graph.get(body["@odata.nextLink"], headers=headers)


def _initial(graph, page_size: int | None = None):
    return _round(graph, lambda headers: graph.get("/me/calendarView/delta", params=WINDOW,
                                                   headers=headers), page_size)


def _next(graph, delta_link: str, page_size: int | None = None):
    return _round(graph, lambda headers: graph.get(delta_link, headers=headers), page_size)


def test_it_pages_the_first_round_and_ends_with_a_delta_link(graph):
    for day in range(1, 6):
        graph.post("/me/events", event_body(subject=f"Day {day}",
                                            start=f"2026-03-{day:02d}T09:00:00",
                                            end=f"2026-03-{day:02d}T10:00:00"))
    graph.post("/me/events", event_body(subject="Outside", start="2026-05-01T09:00:00",
                                        end="2026-05-01T10:00:00"))
    response = graph.get("/me/calendarView/delta", params=WINDOW,
                         headers={"Prefer": "odata.maxpagesize=2"})
    assert response.headers["Preference-Applied"] == "odata.maxpagesize=2"
    assert "$skiptoken" in response.json()["@odata.nextLink"]
    items, delta_link, pages = _initial(graph, page_size=2)
    assert pages == 3
    assert sorted(e["subject"] for e in items) == [f"Day {d}" for d in range(1, 6)]
    assert "$deltatoken" in delta_link


def test_it_returns_only_the_changes_in_the_next_round(graph, sim):
    kept = graph.post("/me/events", event_body(subject="Kept")).json()
    changed = graph.post("/me/events", event_body(subject="Changed")).json()
    deleted = graph.post("/me/events", event_body(subject="Deleted")).json()
    _, delta_link, _ = _initial(graph)
    graph.patch(f"/me/events/{changed['id']}", {"subject": "Changed again"})
    graph.delete(f"/me/events/{deleted['id']}")
    made = control(sim, "POST", "/events", event_body(subject="Made by the owner")).json()
    items, next_link, _ = _next(graph, delta_link)
    by_id = {item["id"]: item for item in items}
    assert kept["id"] not in by_id
    assert by_id[changed["id"]]["subject"] == "Changed again"
    assert by_id[deleted["id"]] == {"@odata.type": "#microsoft.graph.event",
                                    "id": deleted["id"], "@removed": {"reason": "deleted"}}
    assert by_id[made["id"]]["subject"] == "Made by the owner"
    assert _next(graph, next_link)[0] == []


def test_it_reports_an_event_moved_out_of_the_window_as_removed(graph):
    event = graph.post("/me/events", event_body()).json()
    _, delta_link, _ = _initial(graph)
    graph.patch(f"/me/events/{event['id']}", {
        "start": {"dateTime": "2026-06-01T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-06-01T10:00:00", "timeZone": "UTC"}})
    items, _, _ = _next(graph, delta_link)
    assert items == [{"@odata.type": "#microsoft.graph.event", "id": event["id"],
                      "@removed": {"reason": "deleted"}}]


def test_it_needs_the_window_on_the_first_request(graph):
    response = graph.get("/me/calendarView/delta")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ErrorInvalidParameter"


def test_it_answers_410_after_a_reset_with_a_location_that_starts_again(graph, sim):
    graph.post("/me/events", event_body())
    _, delta_link, _ = _initial(graph)
    control(sim, "POST", "/delta/reset", {"code": "syncStateNotFound"})
    response = graph.get(delta_link)
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "syncStateNotFound"
    restart = parse_qs(urlsplit(response.headers["Location"]).query, keep_blank_values=True)
    assert restart["$deltatoken"] == [""]
    assert restart["startDateTime"] == ["2026-03-01T00:00:00+00:00"]
    # Starting again gives the whole window, as a first round does.
    items, _, _ = _initial(graph)
    assert len(items) == 1


def test_it_can_reset_with_resync_required(graph, sim):
    _, delta_link, _ = _initial(graph)
    control(sim, "POST", "/delta/reset", {"code": "resyncRequired"})
    response = graph.get(delta_link)
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "resyncRequired"


def test_it_expires_old_delta_tokens(microsoft_simulator):
    sim = microsoft_simulator(delta_token_lifetime_seconds=60)
    graph = graph_for(sim)
    _, delta_link, _ = _initial(graph)
    control(sim, "POST", "/advance", {"seconds": 61})
    # The access token is still fresh (an hour); only the delta token aged.
    response = graph.get(delta_link)
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "syncStateNotFound"


def test_it_answers_410_for_a_token_it_never_gave(graph):
    response = graph.get("/me/calendarView/delta", params={"$deltatoken": "made-up"})
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "syncStateNotFound"
