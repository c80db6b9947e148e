"""The MY TUNICLAIM simulator's listing and bulletins over real HTTP: pages,
updatedSince, the wire format, amounts to the millime, 404s and the token."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

import requests

from apps.tuniclaim.simulator import BORDEREAU_STATUSES, BS_STATES
from apps.tuniclaim.simulator.names import FAMILY_NAMES, FEMALE_FIRST_NAMES, MALE_FIRST_NAMES

START = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC).timestamp()
BORDEREAU_KEYS = {"id", "reference", "client", "contract", "dateReception", "nombreBS",
                  "prestataire", "statut", "updatedAt"}
BS_KEYS = {"numBs", "etat", "codeAssure", "nomAssure", "nomBeneficiaire", "lien",
           "dateCreation", "dateMaladie", "nomSociete", "totalPec", "items"}
ITEM_KEYS = {"nomProduit", "quantite", "nomChapitre", "nomPrestataire", "datePrestation",
             "depense", "pec", "participationAdherent", "codeMessage", "message"}
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def api(sim, path: str, **kwargs: Any) -> requests.Response:
    return requests.get(f"{sim.base_url}/api/bordereaux{path}", timeout=10, **kwargs)


def control(sim, method: str, action: str, body: Any = None) -> dict[str, Any]:
    answer = requests.request(method, f"{sim.base_url}/_sim/{action}", json=body, timeout=30)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def exact(response: requests.Response) -> Any:
    """The body with its numbers as Decimal, as the hub reads it."""
    return json.loads(response.content, parse_float=Decimal)


def test_it_serves_a_default_data_set_of_5_bordereaux_of_4_claims(tuniclaim_simulator):
    sim = tuniclaim_simulator()

    listing = api(sim, "").json()

    assert listing["page"] == 1
    assert listing["totalPages"] == 1
    assert len(listing["bordereaux"]) == 5
    for record in listing["bordereaux"]:
        assert record["nombreBS"] == 4
        assert len(api(sim, f"/{record['id']}/bulletins").json()) == 4


def test_a_bordereau_has_the_wire_format(tuniclaim_simulator):
    sim = tuniclaim_simulator()

    for record in api(sim, "").json()["bordereaux"]:
        assert set(record) == BORDEREAU_KEYS
        assert re.fullmatch(r"BR-\d{4}-\d{6}", record["reference"])
        assert re.fullmatch(r"CLI-\d{3}", record["client"]["code"])
        assert record["client"]["name"]
        assert set(record["contract"]) == {"number", "delaiReglement", "delaiReclamation"}
        assert isinstance(record["contract"]["delaiReglement"], int)
        assert DATE.match(record["dateReception"])
        assert record["statut"] in BORDEREAU_STATUSES
        assert ISO_Z.match(record["updatedAt"])


def test_a_bs_has_the_wire_format_with_tunisian_names(tuniclaim_simulator):
    sim = tuniclaim_simulator()
    record = api(sim, "").json()["bordereaux"][0]

    claims = api(sim, f"/{record['id']}/bulletins").json()

    first_names = set(MALE_FIRST_NAMES) | set(FEMALE_FIRST_NAMES)
    for claim in claims:
        assert set(claim) == BS_KEYS
        assert claim["etat"] in BS_STATES
        assert claim["numBs"].startswith(record["reference"].replace("BR-", "BS-"))
        first, family = claim["nomAssure"].split(" ", 1)
        assert first in first_names
        assert family in FAMILY_NAMES
        assert DATE.match(claim["dateCreation"])
        assert claim["dateMaladie"] <= claim["dateCreation"] <= record["dateReception"]
        assert len(claim["items"]) == 3
        for item in claim["items"]:
            assert set(item) == ITEM_KEYS
            assert claim["dateMaladie"] <= item["datePrestation"] <= claim["dateCreation"]


def test_amounts_come_as_numbers_and_as_text_and_add_up_to_the_millime(tuniclaim_simulator):
    sim = tuniclaim_simulator(batches=3, claims=9)
    shapes = set()

    for record in api(sim, "").json()["bordereaux"]:
        for claim in exact(api(sim, f"/{record['id']}/bulletins")):
            shapes.add(type(claim["totalPec"]))
            amounts = [Decimal(claim["totalPec"])]
            for item in claim["items"]:
                depense, pec, share = (Decimal(item[key]) for key in (
                    "depense", "pec", "participationAdherent"))
                assert pec + share == depense
                amounts += [depense, pec, share]
            assert Decimal(claim["totalPec"]) == sum(Decimal(i["pec"]) for i in claim["items"])
            for amount in amounts:
                assert amount >= 0
                assert amount == amount.quantize(Decimal("0.001"))
            if isinstance(claim["totalPec"], str):
                assert re.fullmatch(r"\d+\.\d{3}", claim["totalPec"])

    assert shapes == {str, Decimal}


def test_it_pages_by_updated_at_then_id_without_gaps_or_repeats(tuniclaim_simulator):
    clock = FakeClock()
    sim = tuniclaim_simulator(batches=4, clock=clock)
    clock.now += 60
    control(sim, "POST", "bordereaux", {"batches": 3})

    pages = [api(sim, "", params={"page": page, "pageSize": 3}).json() for page in (1, 2, 3)]

    assert [page["totalPages"] for page in pages] == [3, 3, 3]
    assert [page["page"] for page in pages] == [1, 2, 3]
    records = [record for page in pages for record in page["bordereaux"]]
    assert len(records) == 7
    assert len({record["id"] for record in records}) == 7
    assert records == sorted(records, key=lambda r: (r["updatedAt"], r["id"]))
    past_the_end = api(sim, "", params={"page": 4, "pageSize": 3}).json()
    assert past_the_end == {"bordereaux": [], "page": 4, "totalPages": 3}


def test_updated_since_keeps_what_changed_at_or_after_it(tuniclaim_simulator):
    clock = FakeClock()
    sim = tuniclaim_simulator(batches=3, clock=clock)
    clock.now += 3600
    added = control(sim, "POST", "bordereaux", {"batches": 2})["ids"]
    later = api(sim, f"/{added[0]}/bulletins")  # reading changes nothing
    assert later.status_code == 200
    since = next(r["updatedAt"] for r in api(sim, "").json()["bordereaux"] if r["id"] == added[0])

    at_or_after = api(sim, "", params={"updatedSince": since}).json()
    in_paris = api(sim, "", params={"updatedSince": dt.datetime.fromtimestamp(
        clock.now, tz=dt.timezone(dt.timedelta(hours=1))).isoformat()}).json()
    a_millisecond_later = api(sim, "", params={"updatedSince": since.replace(".000Z", ".001Z")})

    assert sorted(r["id"] for r in at_or_after["bordereaux"]) == sorted(added)
    assert at_or_after["totalPages"] == 1
    assert sorted(r["id"] for r in in_paris["bordereaux"]) == sorted(added)
    assert a_millisecond_later.json() == {"bordereaux": [], "page": 1, "totalPages": 0}


def test_a_bad_query_is_a_400_naming_the_field(tuniclaim_simulator):
    sim = tuniclaim_simulator()

    cases = {
        "updatedSince": {"updatedSince": "2026-12-01T10:00:00"},  # no zone
        "page": {"page": 0},
        "pageSize": {"pageSize": 5000},
    }
    for field, params in cases.items():
        answer = api(sim, "", params=params)
        assert answer.status_code == 400
        body = answer.json()
        assert body["statusCode"] == 400
        assert list(body["errors"]) == [field]


def test_an_unknown_bordereau_is_a_404_in_json(tuniclaim_simulator):
    sim = tuniclaim_simulator()

    answer = api(sim, "/no-such-id/bulletins")

    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json() == {"statusCode": 404, "message": "Bordereau no-such-id not found",
                             "error": "Not Found"}
    assert api(sim, "/no-such-id/nothing-here").status_code == 404


def test_with_a_token_every_api_request_must_carry_it(tuniclaim_simulator, settings):
    sim = tuniclaim_simulator(token="s3cret-token")
    assert settings.TUNICLAIM_API_TOKEN == "s3cret-token"  # the hub sends what it asks

    missing = api(sim, "")
    wrong = api(sim, "", headers={"Authorization": "Bearer other"})
    basic = api(sim, "", headers={"Authorization": "Basic s3cret-token"})
    right = api(sim, "", headers={"Authorization": "Bearer s3cret-token"})

    for refused in (missing, wrong, basic):
        assert refused.status_code == 401
        assert refused.json() == {"statusCode": 401, "message": "Unauthorized",
                                  "error": "Unauthorized"}
        assert refused.headers["WWW-Authenticate"] == "Bearer"
    assert right.status_code == 200
    assert len(right.json()["bordereaux"]) == 5
    # The controls are the test's, not the hub's: no token.
    assert control(sim, "GET", "state")["token_required"] is True


def test_without_a_token_none_is_asked(tuniclaim_simulator):
    sim = tuniclaim_simulator()

    assert api(sim, "").status_code == 200
    assert api(sim, "", headers={"Authorization": "Bearer anything"}).status_code == 200
