"""The ONSS Dimona simulator, spoken to over real HTTP like the real service.

Time is a fake clock the tests move forward: processing delays, token and
assertion lifetimes all read it, so nothing sleeps.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import jwt
import pytest
import requests

from apps.core.simulator import FaultKnobs, serve
from apps.dimona.credentials import generate_key_pair
from apps.dimona.simulator import DimonaSimulator, build

BRUSSELS = ZoneInfo("Europe/Brussels")
CLIENT_ID = "self_service_chaman_305369_testclient"
TOKEN_PATH = "/REST/oauth/v5/token"
API = "/REST/dimona/v2"
PROBLEM_JSON = "application/problem+json"
# Monday 9 March 2026, 10:00 in Brussels; shifts below are on the next day.
START = dt.datetime(2026, 3, 9, 10, 0, tzinfo=BRUSSELS).timestamp()


def with_mod97_check(base: str, prefix: int = 0) -> str:
    return f"{base}{97 - (prefix + int(base)) % 97:02d}"


EMPLOYER = with_mod97_check("04036782")
EMPLOYER_WITHOUT_MANDATE = with_mod97_check("08765432")
WORKER = with_mod97_check("850730033")
OTHER_WORKER = with_mod97_check("900101123")
INELIGIBLE_WORKER = with_mod97_check("700512045")
UNIDENTIFIED_WORKER = with_mod97_check("050203001", prefix=2_000_000_000)


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now
        self.tick = 0.0  # added after every reading, to model time passing mid-request

    def __call__(self) -> float:
        now = self.now
        self.now += self.tick
        return now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def key_pair() -> tuple[str, str]:
    return generate_key_pair("Dimona simulator tests")


@pytest.fixture(scope="module")
def other_key_pair() -> tuple[str, str]:
    return generate_key_pair("Someone else")


@pytest.fixture(scope="module")
def module_clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture(scope="module")
def served(key_pair: tuple[str, str], module_clock: FakeClock) -> Iterator[DimonaSimulator]:
    # One server per module: stopping one takes half a second (the poll
    # interval of serve_forever), so each test resets it instead.
    sim = DimonaSimulator(
        clients={CLIENT_ID: key_pair[1]},
        processing_delay_seconds=3,
        cancel_delay_seconds=6,
        ineligible_flexi_ssins={INELIGIBLE_WORKER},
        sigedis_ssins={UNIDENTIFIED_WORKER},
        sigedis_seconds=60,
        no_mandate_enterprise_numbers={EMPLOYER_WITHOUT_MANDATE},
        seed=7,
        clock=module_clock,
    )
    running = serve(sim)
    yield sim
    running.stop()


@pytest.fixture
def clock(module_clock: FakeClock) -> FakeClock:
    module_clock.now = START
    module_clock.tick = 0.0
    return module_clock


@pytest.fixture
def simulator(served: DimonaSimulator, clock: FakeClock) -> DimonaSimulator:
    requests.post(served.base_url + "/_sim/reset", timeout=5).raise_for_status()
    served.token_audience = None
    return served


class Onss:
    """A minimal client of the simulated ONSS, for the tests."""

    def __init__(self, simulator: DimonaSimulator, clock: FakeClock, private_key: str) -> None:
        self.base_url = simulator.base_url
        self.clock = clock
        self.private_key = private_key
        self._token: str | None = None

    def assertion(self, key: str | None = None, **overrides: object) -> str:
        now = int(self.clock())
        claims = {
            "iss": CLIENT_ID, "sub": CLIENT_ID, "aud": self.base_url + TOKEN_PATH,
            "jti": str(uuid.uuid4()), "iat": now, "exp": now + 300, **overrides,
        }
        return jwt.encode(claims, key or self.private_key, algorithm="RS256")

    def request_token(self, assertion: str, **form: str) -> requests.Response:
        data = {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
            **form,
        }
        return requests.post(self.base_url + TOKEN_PATH, data=data, timeout=5)

    @property
    def token(self) -> str:
        if self._token is None:
            response = self.request_token(self.assertion())
            assert response.status_code == 200, response.text
            self._token = response.json()["access_token"]
        return self._token

    def call(self, method: str, path: str, body: object = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        url = path if path.startswith("http") else self.base_url + API + path
        return requests.request(method, url, json=body, headers=headers, timeout=5, **kwargs)

    def declare(self, body: dict) -> int:
        response = self.call("POST", "/declarations", body)
        assert response.status_code == 201, response.text
        return int(response.headers["Location"].rsplit("/", 1)[-1])

    def result(self, declaration_id: int, wait: float = 6) -> dict:
        """The processed declaration, `wait` seconds of fake time later."""
        self.clock.advance(wait)
        response = self.call("GET", f"/declarations/{declaration_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def declare_and_wait(self, body: dict) -> dict:
        return self.result(self.declare(body))


@pytest.fixture
def onss(simulator: DimonaSimulator, clock: FakeClock, key_pair: tuple[str, str]) -> Onss:
    return Onss(simulator, clock, key_pair[0])


def flexi_in(
    *,
    ssin: str = WORKER,
    enterprise_number: str = EMPLOYER,
    date: str = "2026-03-10",
    start: str = "1700",
    end: str = "2130",
    end_date: str | None = None,
    commission: str = "XXX",
) -> dict:
    return {
        "employer": {"enterpriseNumber": enterprise_number},
        "worker": {"ssin": ssin},
        "dimonaIn": {
            "startDate": date, "startHour": start,
            "endDate": end_date or date, "endHour": end,
            "features": {"workerType": "FLX", "jointCommissionNumber": commission},
        },
    }


def anomaly_codes(declaration: dict) -> list[str]:
    return [anomaly["errorId"] for anomaly in declaration["declarationStatus"]["anomalies"]]


# -- OAuth ---------------------------------------------------------------------


def test_it_issues_a_token_for_a_valid_client_assertion(onss: Onss) -> None:
    response = onss.request_token(onss.assertion())

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["scope"] == "scope:dimona:declaration:declarant scope:dimona:declaration:consult"
    assert body["access_token"]


def test_it_refuses_an_assertion_signed_by_another_key(
    onss: Onss, other_key_pair: tuple[str, str]
) -> None:
    response = onss.request_token(onss.assertion(key=other_key_pair[0]))

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "signature" in response.json()["error_description"]


def test_it_refuses_an_assertion_for_another_audience(onss: Onss) -> None:
    assertion = onss.assertion(aud="https://services.socialsecurity.be/REST/oauth/v3/token")

    response = onss.request_token(assertion)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "audience" in response.json()["error_description"]


def test_it_accepts_the_configured_audience(
    simulator: DimonaSimulator, onss: Onss
) -> None:
    simulator.token_audience = "http://onss.example/REST/oauth/v5/token"

    response = onss.request_token(onss.assertion(aud=simulator.token_audience))

    assert response.status_code == 200


def test_it_refuses_a_replayed_jti(onss: Onss) -> None:
    assertion = onss.assertion()
    assert onss.request_token(assertion).status_code == 200

    replay = onss.request_token(assertion)

    assert replay.status_code == 401
    assert "already used" in replay.json()["error_description"]


def test_it_refuses_assertions_expired_or_living_too_long(onss: Onss) -> None:
    now = int(onss.clock())
    expired = onss.request_token(onss.assertion(exp=now - 1))
    too_long = onss.request_token(onss.assertion(exp=now + 601))

    assert (expired.status_code, too_long.status_code) == (401, 401)
    assert "expired" in expired.json()["error_description"]


def test_it_refuses_other_grant_types_and_a_missing_assertion(onss: Onss) -> None:
    wrong_grant = onss.request_token(onss.assertion(), grant_type="password")
    no_assertion = onss.request_token("")

    assert wrong_grant.status_code == 400
    assert wrong_grant.json()["error"] == "unsupported_grant_type"
    assert no_assertion.status_code == 400
    assert no_assertion.json()["error"] == "invalid_request"


def test_it_counts_token_requests(simulator: DimonaSimulator, onss: Onss) -> None:
    onss.request_token(onss.assertion())
    onss.request_token("not a jwt")

    state = requests.get(simulator.base_url + "/_sim/state", timeout=5).json()

    assert state["token_requests"] == 2
    assert state["tokens_issued"] == 1
    assert state["token_errors"] == {"invalid_client": 1}


# -- bearer tokens -------------------------------------------------------------------


def test_it_answers_401_problem_without_a_valid_token(onss: Onss) -> None:
    url = onss.base_url + API + "/declarations"
    missing = requests.post(url, json=flexi_in(), timeout=5)
    invalid = requests.post(url, json=flexi_in(), headers={"Authorization": "Bearer nope"},
                            timeout=5)

    assert missing.status_code == invalid.status_code == 401
    assert missing.headers["Content-Type"] == PROBLEM_JSON
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert missing.json()["type"] == "urn:problem-type:belgif:noAccessToken"
    assert invalid.json()["type"] == "urn:problem-type:belgif:invalidAccessToken"
    assert 'error="invalid_token"' in invalid.headers["WWW-Authenticate"]


def test_it_answers_401_expired_once_the_token_lifetime_is_over(onss: Onss) -> None:
    onss.token  # noqa: B018 (fetches the token now, before time moves)
    onss.clock.advance(601)

    response = onss.call("POST", "/declarations", flexi_in())

    assert response.status_code == 401
    assert response.json()["type"] == "urn:problem-type:belgif:expiredAccessToken"
    assert response.json()["title"] == "Expired Access Token"
    assert "expired" in response.headers["WWW-Authenticate"]


def test_it_answers_403_when_the_token_lacks_the_scope(onss: Onss) -> None:
    granted = onss.request_token(onss.assertion(), scope="scope:dimona:declaration:consult")
    onss._token = granted.json()["access_token"]

    response = onss.call("POST", "/declarations", flexi_in())

    assert granted.json()["scope"] == "scope:dimona:declaration:consult"
    assert response.status_code == 403
    assert response.json()["type"] == "urn:problem-type:belgif:missingScope"


# -- declaring -------------------------------------------------------------------------


def test_it_accepts_an_in_after_the_processing_delay(onss: Onss) -> None:
    response = onss.call("POST", "/declarations", flexi_in())
    assert response.status_code == 201
    assert response.content == b""
    location = response.headers["Location"]
    assert location.startswith(onss.base_url + API + "/declarations/")
    declaration_id = location.rsplit("/", 1)[-1]
    assert declaration_id.isdigit()
    assert len(declaration_id) == 12

    onss.clock.advance(2.9)
    pending = onss.call("GET", f"/declarations/{declaration_id}")
    assert pending.status_code == 404
    assert pending.headers["Content-Type"] == PROBLEM_JSON

    onss.clock.advance(0.1)
    done = onss.call("GET", f"/declarations/{declaration_id}").json()
    status = done["declarationStatus"]
    assert status["result"] == "A"
    assert status["declarationId"] == int(declaration_id)
    assert status["anomalies"] == []
    assert status["period"]["id"] != int(declaration_id)
    assert status["period"]["href"] == f"{onss.base_url}{API}/periods/{status['period']['id']}"
    assert done["employer"]["enterpriseNumber"] == EMPLOYER
    assert isinstance(done["employer"]["employerId"], int)
    assert done["worker"] == {"ssin": WORKER}
    assert done["dimonaIn"]["startHour"] == "1700"


def test_it_answers_404_for_an_unknown_declaration(onss: Onss) -> None:
    response = onss.call("GET", "/declarations/123456789012")

    assert response.status_code == 404
    assert response.json()["type"] == "urn:problem-type:belgif:resourceNotFound"


def test_it_requires_features(onss: Onss) -> None:
    body = flexi_in()
    del body["dimonaIn"]["features"]["jointCommissionNumber"]

    response = onss.call("POST", "/declarations", body)

    assert response.status_code == 400
    assert response.headers["Content-Type"] == PROBLEM_JSON
    assert response.json()["detail"] == "Bad Request: Features required"


def test_it_reports_schema_violations_as_issues(onss: Onss) -> None:
    body = flexi_in(start="17:00")
    body["dimonaIn"]["startingDate"] = "2026-03-10"

    response = onss.call("POST", "/declarations", body)

    assert response.status_code == 400
    problem = response.json()
    assert problem["type"] == "urn:problem-type:belgif:badRequest"
    assert problem["title"] == "Bad Request"
    issues = {issue["name"]: issue for issue in problem["issues"]}
    assert issues["dimonaIn.startHour"] == {
        "type": "urn:problem-type:belgif:input-validation:schemaViolation",
        "in": "body",
        "name": "dimonaIn.startHour",
        "value": "17:00",
        "detail": "must match HHMM (4 digits, 0000-2359)",
    }
    assert issues["dimonaIn.startingDate"]["type"].endswith(":unknownInput")


def test_it_refuses_a_declaration_with_two_actions_or_a_bad_ssin(onss: Onss) -> None:
    two_actions = {**flexi_in(), "dimonaCancel": {"periodId": 123456789012}}
    bad_ssin = flexi_in(ssin="85073003300")

    first = onss.call("POST", "/declarations", two_actions).json()
    second = onss.call("POST", "/declarations", bad_ssin).json()

    assert first["issues"][0]["type"].endswith(":exactlyOneOfExpected")
    assert second["issues"] == [{
        "type": "urn:problem-type:belgif:input-validation:invalidStructure", "in": "body",
        "name": "worker.ssin", "value": "85073003300", "detail": "SSIN 85073003300 is invalid",
    }]


def test_it_answers_400_problem_for_a_body_that_is_not_json(onss: Onss) -> None:
    response = onss.call("POST", "/declarations", data=b"{not json",
                         headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json()["type"] == "urn:problem-type:belgif:badRequest"


def test_it_refuses_an_employer_without_mandate(onss: Onss) -> None:
    response = onss.call("POST", "/declarations",
                         flexi_in(enterprise_number=EMPLOYER_WITHOUT_MANDATE))

    assert response.status_code == 403
    assert response.json()["type"] == "urn:problem-type:belgif:missingPermission"


# -- results -------------------------------------------------------------------------------


def test_it_warns_when_flexi_conditions_are_not_met(onss: Onss) -> None:
    declaration = onss.declare_and_wait(flexi_in(ssin=INELIGIBLE_WORKER))

    status = declaration["declarationStatus"]
    assert status["result"] == "W"
    assert status["anomalies"] == [{
        "errorId": "90017-510",
        "label": {
            "nl": "Toegangsvoorwaarden voor flexi-jobs niet gerespecteerd",
            "fr": "Conditions d'accès aux flexi-jobs non respectées",
            "de": "Zugangsbedingungen für Flexi-Jobs nicht erfüllt",
        },
    }]
    assert "period" in status


def test_it_warns_on_a_late_declaration(onss: Onss) -> None:
    # The shift started at 09:00 today; it is 10:00.
    declaration = onss.declare_and_wait(flexi_in(date="2026-03-09", start="0900", end="1300"))

    assert declaration["declarationStatus"]["result"] == "W"
    assert anomaly_codes(declaration) == ["90017-520"]
    assert declaration["declarationStatus"]["anomalies"][0]["label"]["fr"] == "Dimona tardive"


def test_it_refuses_a_joint_commission_other_than_xxx_for_flexi(onss: Onss) -> None:
    declaration = onss.declare_and_wait(flexi_in(commission="302"))

    status = declaration["declarationStatus"]
    assert status["result"] == "B"
    assert anomaly_codes(declaration) == ["90374-349"]
    assert status["anomalies"][0]["label"]["fr"] == (
        "Incompatibilité entre commission paritaire et type de travailleur"
    )
    assert "period" not in status


def test_it_refuses_a_duplicate_or_overlapping_period(onss: Onss) -> None:
    first = onss.declare_and_wait(flexi_in())
    duplicate = onss.declare_and_wait(flexi_in())
    overlapping = onss.declare_and_wait(flexi_in(start="2100", end="0200", end_date="2026-03-11"))
    after = onss.declare_and_wait(flexi_in(start="2130", end="2330"))
    other_worker = onss.declare_and_wait(flexi_in(ssin=OTHER_WORKER))

    assert first["declarationStatus"]["result"] == "A"
    assert anomaly_codes(duplicate) == anomaly_codes(overlapping) == ["90373-333"]
    assert duplicate["declarationStatus"]["result"] == "B"
    assert after["declarationStatus"]["result"] == "A"
    assert other_worker["declarationStatus"]["result"] == "A"


def test_it_processes_declarations_in_arrival_order(onss: Onss) -> None:
    first = onss.declare(flexi_in())
    second = onss.declare(flexi_in())

    # Asking for the second first must not let it take the first one's place.
    assert onss.result(second)["declarationStatus"]["result"] == "B"
    assert onss.result(first, wait=0)["declarationStatus"]["result"] == "A"


def test_it_never_shows_s_for_a_result_due_during_the_request(onss: Onss) -> None:
    # Regression: the clock read by the processing step and the one read by
    # the visibility check differed, so a result falling due between the two
    # was shown as S (seen in the 1,000-shift benchmark).
    declaration_id = onss.declare(flexi_in())
    onss.clock.advance(3 - 0.0005)
    onss.clock.tick = 0.0002
    response = onss.call("GET", f"/declarations/{declaration_id}")
    onss.clock.tick = 0.0
    if response.status_code == 200:
        assert response.json()["declarationStatus"]["result"] == "A"
    else:
        assert response.status_code == 404


def test_it_keeps_the_period_id_on_update(onss: Onss) -> None:
    period_id = onss.declare_and_wait(flexi_in())["declarationStatus"]["period"]["id"]

    update_id = onss.declare({"dimonaUpdate": {
        "periodId": period_id, "startDate": "2026-03-10", "startHour": "1700",
        "endDate": "2026-03-10", "endHour": "2230",
    }})
    update = onss.result(update_id)

    assert update["declarationStatus"]["result"] == "A"
    assert update["declarationStatus"]["declarationId"] == update_id
    assert update["declarationStatus"]["period"]["id"] == period_id
    assert update["dimonaUpdate"]["periodId"] == period_id
    assert update["worker"] == {"ssin": WORKER}
    period = onss.call("GET", f"/periods/{period_id}").json()
    assert (period["endHour"], period["status"]) == ("2230", "ACTIVE")


def test_it_refuses_an_update_of_an_unknown_period(onss: Onss) -> None:
    update = onss.declare_and_wait({"dimonaUpdate": {"periodId": 111111111111,
                                                     "endHour": "2230"}})

    assert update["declarationStatus"]["result"] == "B"
    assert anomaly_codes(update) == ["00913-354"]


def test_it_refuses_cancelling_a_cancelled_period(onss: Onss) -> None:
    period_id = onss.declare_and_wait(flexi_in())["declarationStatus"]["period"]["id"]

    cancel_id = onss.declare({"dimonaCancel": {"periodId": period_id}})
    onss.clock.advance(3)
    assert onss.call("GET", f"/declarations/{cancel_id}").status_code == 404  # cancels are slower
    cancel = onss.result(cancel_id, wait=3)
    again = onss.declare_and_wait({"dimonaCancel": {"periodId": period_id}})

    assert cancel["declarationStatus"]["result"] == "A"
    assert cancel["declarationStatus"]["period"]["id"] == period_id
    assert again["declarationStatus"]["result"] == "B"
    assert again["declarationStatus"]["anomalies"][0] == {
        "errorId": "00913-355",
        "label": {
            "nl": "Reeds geannuleerde Dimonaperiode of dagelijkse registratie",
            "fr": "Période Dimona ou enregistrement journalier déjà annulé",
            "de": "Bereits annullierter Dimona-Zeitraum oder tägliche Registrierung",
        },
    }
    period = onss.call("GET", f"/periods/{period_id}").json()
    assert (period["status"], period["cancelled"]) == ("CANCELLED", True)


def test_it_lets_a_cancelled_shift_be_declared_again(onss: Onss) -> None:
    period_id = onss.declare_and_wait(flexi_in())["declarationStatus"]["period"]["id"]
    onss.declare_and_wait({"dimonaCancel": {"periodId": period_id}})

    again = onss.declare_and_wait(flexi_in())

    assert again["declarationStatus"]["result"] == "A"
    assert again["declarationStatus"]["period"]["id"] != period_id


def test_it_answers_s_then_a_for_a_worker_waiting_for_sigedis(onss: Onss) -> None:
    declaration_id = onss.declare(flexi_in(ssin=UNIDENTIFIED_WORKER))

    waiting = onss.result(declaration_id, wait=3)
    still_waiting = onss.result(declaration_id, wait=59)
    accepted = onss.result(declaration_id, wait=1)

    assert waiting["declarationStatus"]["result"] == "S"
    assert "period" not in waiting["declarationStatus"]
    assert still_waiting["declarationStatus"]["result"] == "S"
    assert accepted["declarationStatus"]["result"] == "A"
    assert accepted["declarationStatus"]["period"]["id"]


# -- periods and searches ----------------------------------------------------------------------


def test_it_finds_periods_by_worker_and_date(onss: Onss) -> None:
    period_id = onss.declare_and_wait(flexi_in())["declarationStatus"]["period"]["id"]
    onss.declare_and_wait(flexi_in(date="2026-03-12"))
    onss.declare_and_wait(flexi_in(ssin=OTHER_WORKER))

    response = onss.call(
        "POST", "/periods/search",
        {"employer": {"enterpriseNumber": EMPLOYER}, "worker": {"ssin": WORKER},
         "startDate": "2026-03-10", "endDate": "2026-03-10"},
        params={"pageSize": 50, "page": 1},
    )

    assert response.status_code == 200
    body = response.json()
    assert "next" not in body
    assert [item["periodId"] for item in body["items"]] == [period_id]
    assert body["items"][0] == {
        "periodId": period_id,
        "href": f"{onss.base_url}{API}/periods/{period_id}",
        "employer": body["items"][0]["employer"],
        "worker": {"ssin": WORKER},
        "features": {"workerType": "FLX", "jointCommissionNumber": "XXX"},
        "startDate": "2026-03-10", "startHour": "1700",
        "endDate": "2026-03-10", "endHour": "2130",
        "status": "ACTIVE", "cancelled": False,
    }


def test_it_pages_search_results_with_a_next_url(onss: Onss) -> None:
    for day in ("10", "11", "12"):
        onss.declare_and_wait(flexi_in(date=f"2026-03-{day}"))
    query = {"employer": {"enterpriseNumber": EMPLOYER}}

    first = onss.call("POST", "/periods/search", query, params={"pageSize": 2, "page": 1}).json()
    second = onss.call("POST", first["next"], query).json()

    assert [item["startDate"] for item in first["items"]] == ["2026-03-10", "2026-03-11"]
    assert first["next"] == f"{onss.base_url}{API}/periods/search?pageSize=2&page=2"
    assert [item["startDate"] for item in second["items"]] == ["2026-03-12"]
    assert "next" not in second


def test_it_searches_processed_declarations(onss: Onss) -> None:
    processed = onss.declare_and_wait(flexi_in())
    onss.declare(flexi_in(date="2026-03-11"))  # not processed yet

    body = onss.call("POST", "/declarations/search",
                     {"worker": {"ssin": WORKER}}, params={"pageSize": 50, "page": 1}).json()

    assert body["items"] == [processed]


def test_it_answers_404_for_an_unknown_period(onss: Onss) -> None:
    response = onss.call("GET", "/periods/999999999999")

    assert response.status_code == 404
    assert response.json()["type"] == "urn:problem-type:belgif:resourceNotFound"


# -- fault knobs and state ----------------------------------------------------------------------


def test_it_answers_rate_limits_as_problem_json(simulator: DimonaSimulator, onss: Onss) -> None:
    onss.token  # noqa: B018 (the token request must not be the limited one)
    simulator.faults = FaultKnobs(rate_limit_every=1, retry_after_seconds=7)

    response = onss.call("GET", "/periods/123456789012")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.headers["Content-Type"] == PROBLEM_JSON
    assert response.json() == {
        "type": "urn:problem-type:belgif:tooManyRequests",
        "href": "https://www.belgif.be/specification/rest/api-guide/problems/tooManyRequests.html",
        "status": 429,
        "title": "Too Many Requests",
        "detail": "Too many requests sent, retry later",
        "retryAfterSec": 7,
    }


def test_it_answers_injected_server_errors_as_problem_json(
    simulator: DimonaSimulator, onss: Onss
) -> None:
    onss.token  # noqa: B018
    requests.post(simulator.base_url + "/_sim/faults", json={"error_rate": 1.0}, timeout=5)

    response = onss.call("POST", "/declarations", flexi_in())

    assert response.status_code == 503
    assert response.json()["type"] == "urn:problem-type:belgif:serviceUnavailable"


def test_it_exposes_its_state_and_resets(simulator: DimonaSimulator, onss: Onss) -> None:
    declaration_id = onss.declare(flexi_in())
    onss.call("GET", f"/declarations/{declaration_id}")
    onss.result(declaration_id)
    onss.declare({"dimonaCancel": {"periodId": 123456789012}})

    state = requests.get(simulator.base_url + "/_sim/state", timeout=5).json()

    assert state["declarations_by_kind"] == {"dimonaIn": 1, "dimonaCancel": 1}
    assert state["declaration_gets"] == {str(declaration_id): 2}
    assert [period["startDate"] for period in state["periods"]] == ["2026-03-10"]
    assert state["declarations"][0]["result"] == "A"
    assert state["declarations"][1]["result"] is None  # still being processed

    requests.post(simulator.base_url + "/_sim/reset", timeout=5)
    state = requests.get(simulator.base_url + "/_sim/state", timeout=5).json()
    assert state["declarations"] == state["periods"] == []
    assert state["token_requests"] == 0


def test_it_builds_from_the_hub_credentials(settings, tmp_path) -> None:
    settings.VAR_DIR = tmp_path
    settings.DIMONA_PRIVATE_KEY = ""
    settings.DIMONA_CLIENT_ID = CLIENT_ID
    simulator = build(processing_delay_seconds=0)
    running = serve(simulator)
    try:
        private_key = (tmp_path / "dimona-dev" / "private-key.pem").read_text()
        onss = Onss(simulator, FakeClock(dt.datetime.now(dt.UTC).timestamp()), private_key)
        simulator.clock = onss.clock

        declaration = onss.declare_and_wait(flexi_in(date="2030-01-07"))
    finally:
        running.stop()

    assert declaration["declarationStatus"]["result"] == "A"
