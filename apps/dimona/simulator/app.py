"""The ONSS Dimona REST v2 API and its OAuth token endpoint, simulated.

Declarations are processed lazily: nothing runs in the background, every
request first brings the world up to `self.clock()` by processing, in
arrival order, the declarations whose processing time has come. Tests
move an injected clock instead of sleeping.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from apps.core.simulator import FaultKnobs, SimRequest, SimResponse, Simulator, route

from . import problems, rules
from .anomalies import result_of
from .oauth import CONSULT_SCOPE, DECLARANT_SCOPE, TokenRejected, onss_tokens, token_answer
from .problems import BadRequest, Issue
from .store import Declaration, IdAllocator, Outcome, Period, employer_id
from .validation import DATE, Submission, validate

TOKEN_PATH = "/REST/oauth/v5/token"  # noqa: S105 (a URL path, not a password)
API = "/REST/dimona/v2"
DEFAULT_PAGE_SIZE = 50
# INFERRED: the real maximum page size is not documented; clients use 50.
MAX_PAGE_SIZE = 100
# TokenRejected.reason -> the Belgif 401 answered for it.
_TOKEN_PROBLEMS = {
    "missing": problems.no_access_token,
    "invalid": problems.invalid_access_token,
    "expired": problems.expired_access_token,
}


class DimonaSimulator(Simulator):
    """The ONSS as the hub sees it.

    clients: client id -> PEM certificate registered "in Chaman".
    token_audience: an `aud` accepted besides the served token URL.
    processing_delay_seconds / cancel_delay_seconds: GET answers 404 until then.
    ineligible_flexi_ssins: FLX Ins of these workers get W 90017-510.
    sigedis_ssins / sigedis_seconds: Ins of these workers stay S that long.
    no_mandate_enterprise_numbers: declarations for these employers get 403.
    token_lifetime_seconds: the access tokens' `expires_in`.
    max_assertion_lifetime_seconds: how far ahead an assertion's `exp` may be.
    The sets are plain attributes: tests may change them on a running simulator.
    """

    name = "dimona"

    def __init__(
        self,
        *,
        clients: dict[str, str] | None = None,
        token_audience: str | None = None,
        processing_delay_seconds: float = 3.0,
        cancel_delay_seconds: float = 6.0,
        ineligible_flexi_ssins: Iterable[str] = (),
        sigedis_ssins: Iterable[str] = (),
        sigedis_seconds: float = 120.0,
        no_mandate_enterprise_numbers: Iterable[str] = (),
        token_lifetime_seconds: int = 600,
        max_assertion_lifetime_seconds: int = 600,
        faults: FaultKnobs | None = None,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(faults=faults, seed=seed, clock=clock)
        self.token_audience = token_audience
        self.processing_delay_seconds = processing_delay_seconds
        self.cancel_delay_seconds = cancel_delay_seconds
        self.sigedis_ssins = set(sigedis_ssins)
        self.sigedis_seconds = sigedis_seconds
        self.no_mandate_enterprise_numbers = set(no_mandate_enterprise_numbers)
        self.ineligible_flexi_ssins = set(ineligible_flexi_ssins)
        self.tokens = onss_tokens(
            clients or {},
            audiences=self._token_audiences,
            token_lifetime_seconds=token_lifetime_seconds,
            max_assertion_lifetime_seconds=max_assertion_lifetime_seconds,
        )
        self.reset()

    def reset(self) -> None:
        self.tokens.reset()
        self.ids = IdAllocator(self.random)
        self.declarations: dict[int, Declaration] = {}
        self.periods: dict[int, Period] = {}
        self.get_counts: Counter[str] = Counter()

    # -- OAuth ----------------------------------------------------------------
    @route("POST", TOKEN_PATH)
    def token(self, request: SimRequest) -> SimResponse:
        with self.lock:
            return token_answer(self.tokens, request, self.clock())

    def _token_audiences(self) -> set[str]:
        served = self.base_url + TOKEN_PATH if self.base_url else None
        return {aud for aud in (served, self.token_audience) if aud}

    # -- declarations -----------------------------------------------------------
    @route("POST", f"{API}/declarations")
    def post_declaration(self, request: SimRequest) -> SimResponse:
        with self.lock:
            denied = self._authorize(request, DECLARANT_SCOPE)
            if denied:
                return denied
            try:
                submission = validate(self._json_body(request))
            except BadRequest as exc:
                return problems.bad_request(exc)
            enterprise_number, ssin = self._parties(submission)
            if enterprise_number in self.no_mandate_enterprise_numbers:
                return problems.missing_permission(enterprise_number)
            declaration = self._receive(submission, enterprise_number, ssin)
            location = f"{self.base_url}{API}/declarations/{declaration.declaration_id}"
            return SimResponse.empty(201, {"Location": location})

    @route("GET", f"{API}/declarations/{{declaration_id}}")
    def get_declaration(self, request: SimRequest) -> SimResponse:
        with self.lock:
            if denied := self._consult(request):
                return denied
            raw_id = request.path_params["declaration_id"]
            self.get_counts[raw_id] += 1
            declaration = self.declarations.get(_as_id(raw_id))
            # Not processed yet and unknown look the same: clients retry on 404.
            if declaration is None or not self._visible(declaration):
                return problems.no_data_for("declaration", "declarationId", raw_id)
            return SimResponse.json(200, self._declaration_json(declaration))

    @route("POST", f"{API}/declarations/search")
    def search_declarations(self, request: SimRequest) -> SimResponse:
        with self.lock:
            if denied := self._consult(request):
                return denied
            try:
                wanted = _SearchFilter.from_body(self._json_body(request))
                visible = [d for d in self.declarations.values() if self._visible(d)]
                matching = [d for d in visible if wanted.matches_declaration(d)]
                return self._page(request, [self._declaration_json(d) for d in matching])
            except BadRequest as exc:
                return problems.bad_request(exc)

    # -- periods ------------------------------------------------------------------
    @route("GET", f"{API}/periods/{{period_id}}")
    def get_period(self, request: SimRequest) -> SimResponse:
        with self.lock:
            if denied := self._consult(request):
                return denied
            raw_id = request.path_params["period_id"]
            period = self.periods.get(_as_id(raw_id))
            if period is None:
                return problems.no_data_for("period", "periodId", raw_id)
            return SimResponse.json(200, self._period_json(period))

    @route("POST", f"{API}/periods/search")
    def search_periods(self, request: SimRequest) -> SimResponse:
        with self.lock:
            if denied := self._consult(request):
                return denied
            try:
                wanted = _SearchFilter.from_body(self._json_body(request))
                matching = [p for p in self.periods.values() if wanted.matches_period(p)]
                return self._page(request, [self._period_json(p) for p in matching])
            except BadRequest as exc:
                return problems.bad_request(exc)

    # -- base class hooks: every error in the platform's problem+json shape ----------
    def not_found(self, request: SimRequest) -> SimResponse:
        return problems.resource_not_found(f"No resource at {request.path}")

    def method_not_allowed(self, request: SimRequest) -> SimResponse:
        return problems.generic_problem(405, f"{request.method} is not allowed on {request.path}")

    def bad_json(self, request: SimRequest) -> SimResponse:
        issue = Issue("schemaViolation", "body", "The body is not valid JSON")
        return problems.bad_request(BadRequest([issue]))

    def rate_limited(self, request: SimRequest, retry_after: int) -> SimResponse:
        return problems.too_many_requests(retry_after)

    def server_error(self, request: SimRequest, status: int) -> SimResponse:
        return problems.server_error(status)

    def state(self) -> dict[str, Any]:
        self._advance()
        return {
            **super().state(),
            **self.tokens.state(),
            "declarations_by_kind": dict(Counter(d.kind for d in self.declarations.values())),
            "declaration_gets": dict(self.get_counts),
            "declarations": [self._declaration_summary(d) for d in self.declarations.values()],
            "periods": [self._period_json(p) for p in self.periods.values()],
        }

    # -- receiving and processing ----------------------------------------------------
    def _consult(self, request: SimRequest) -> SimResponse | None:
        """Authorize a read and bring processing up to date (with the lock held)."""
        denied = self._authorize(request, CONSULT_SCOPE)
        if denied is None:
            self._advance()
        return denied

    def _authorize(self, request: SimRequest, scope: str) -> SimResponse | None:
        try:
            token = self.tokens.authenticate(request.header("Authorization"), self.clock())
        except TokenRejected as exc:
            return _TOKEN_PROBLEMS[exc.reason]()
        if scope not in token.scopes:
            return problems.missing_scope(scope)
        return None

    @staticmethod
    def _json_body(request: SimRequest) -> Any:
        try:
            return json.loads(request.body.decode("utf-8")) if request.body else {}
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise json.JSONDecodeError("invalid body", "", 0) from exc

    def _parties(self, submission: Submission) -> tuple[str | None, str | None]:
        """Employer and worker of a declaration: in its body for an In, else its period's."""
        if submission.kind == "dimonaIn":
            return submission.employer["enterpriseNumber"], submission.worker["ssin"]
        period = self.periods.get(submission.period_id)
        return (period.enterprise_number, period.ssin) if period else (None, None)

    def _receive(
        self, submission: Submission, enterprise_number: str | None, ssin: str | None
    ) -> Declaration:
        now = self.clock()
        # Cancels take longer at the ONSS than the other declarations.
        delay = (self.cancel_delay_seconds if submission.kind == "dimonaCancel"
                 else self.processing_delay_seconds)
        waits_for_sigedis = submission.kind == "dimonaIn" and ssin in self.sigedis_ssins
        declaration = Declaration(
            declaration_id=self.ids.next(),
            sequence=len(self.declarations),
            submission=submission,
            received_at=now,
            visible_at=now + delay,
            decided_at=now + delay + (self.sigedis_seconds if waits_for_sigedis else 0),
            enterprise_number=enterprise_number,
            ssin=ssin,
        )
        self.declarations[declaration.declaration_id] = declaration
        return declaration

    def _visible(self, declaration: Declaration) -> bool:
        # The clock moves between _advance() and this check: a declaration
        # whose result is due but not computed yet is not visible yet (it
        # would otherwise show as S). Only a SIGeDIS wait is visible early.
        waiting_for_sigedis = declaration.decided_at > declaration.visible_at
        if declaration.outcome is None and not waiting_for_sigedis:
            return False
        return self.clock() >= declaration.visible_at

    def _advance(self) -> None:
        """Process every declaration whose time has come, oldest first."""
        now = self.clock()
        due = sorted(
            (d for d in self.declarations.values() if d.outcome is None and d.decided_at <= now),
            key=lambda d: (d.decided_at, d.sequence),
        )
        for declaration in due:
            declaration.outcome = self._process(declaration)

    def _process(self, declaration: Declaration) -> Outcome:
        submission = declaration.submission
        if submission.kind == "dimonaIn":
            return self._process_in(declaration)
        period = self.periods.get(submission.period_id)
        if period:
            # The period may not have existed yet when the declaration arrived.
            declaration.enterprise_number, declaration.ssin = period.enterprise_number, period.ssin
        if submission.kind == "dimonaUpdate":
            found = rules.for_update(submission, period, self.periods.values())
        elif submission.kind == "dimonaCancel":
            found = rules.for_cancel(period, declaration.received_at)
        else:
            found = rules.for_out(period)
        result = result_of(found)
        if period and result != "B":
            if submission.kind == "dimonaCancel":
                period.cancelled = True
            else:
                period.change(submission.action)
        return Outcome(result, tuple(found), period.period_id if period else None)

    def _process_in(self, declaration: Declaration) -> Outcome:
        submission = declaration.submission
        settings = rules.RuleSettings(frozenset(self.ineligible_flexi_ssins))
        found = rules.for_in(submission, declaration.received_at, self.periods.values(), settings)
        result = result_of(found)
        if result == "B":
            return Outcome(result, tuple(found))
        action = submission.action
        period = Period(
            period_id=self.ids.next(),
            enterprise_number=declaration.enterprise_number,
            ssin=declaration.ssin,
            features=dict(action["features"]),
            start_date=action["startDate"],
            start_hour=action.get("startHour"),
            end_date=action.get("endDate"),
            end_hour=action.get("endHour"),
            planned_hours=action.get("plannedHoursNumber"),
        )
        self.periods[period.period_id] = period
        return Outcome(result, tuple(found), period.period_id)

    # -- wire shapes --------------------------------------------------------------------
    def _declaration_json(self, declaration: Declaration) -> dict[str, Any]:
        body: dict[str, Any] = {
            "href": f"{self.base_url}{API}/declarations/{declaration.declaration_id}",
        }
        if declaration.enterprise_number:
            body["employer"] = _employer_json(declaration.enterprise_number)
        if declaration.kind == "dimonaIn":
            body["worker"] = dict(declaration.submission.worker)
        elif declaration.ssin:
            body["worker"] = {"ssin": declaration.ssin}
        body[declaration.kind] = dict(declaration.submission.action)
        body["declarationStatus"] = self._status_json(declaration)
        return body

    def _status_json(self, declaration: Declaration) -> dict[str, Any]:
        outcome = declaration.outcome
        if outcome is None:
            # Processed, but the worker's identity is being checked by SIGeDIS.
            # INFERRED: no period is shown until the final result.
            return {"declarationId": declaration.declaration_id, "result": "S", "anomalies": []}
        status: dict[str, Any] = {
            "declarationId": declaration.declaration_id,
            "result": outcome.result,
        }
        if outcome.period_id is not None:
            status["period"] = {
                "id": outcome.period_id,
                "href": f"{self.base_url}{API}/periods/{outcome.period_id}",
            }
        status["anomalies"] = [anomaly.to_json() for anomaly in outcome.anomalies]
        return status

    def _period_json(self, period: Period) -> dict[str, Any]:
        # INFERRED shape: the real period object was not seen; Odoo reads
        # periodId, startDate, endDate and worker.ssin from search items.
        body: dict[str, Any] = {
            "periodId": period.period_id,
            "href": f"{self.base_url}{API}/periods/{period.period_id}",
            "employer": _employer_json(period.enterprise_number),
            "worker": {"ssin": period.ssin},
            "features": dict(period.features),
            "startDate": period.start_date,
        }
        optional = {
            "startHour": period.start_hour,
            "endDate": period.end_date,
            "endHour": period.end_hour,
            "plannedHoursNumber": period.planned_hours,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        body["status"] = "CANCELLED" if period.cancelled else "ACTIVE"
        body["cancelled"] = period.cancelled
        return body

    def _declaration_summary(self, declaration: Declaration) -> dict[str, Any]:
        if not self._visible(declaration):
            result = None
        else:
            result = declaration.outcome.result if declaration.outcome else "S"
        return {
            "declarationId": declaration.declaration_id,
            "kind": declaration.kind,
            "receivedAt": declaration.received_at,
            "result": result,
            "periodId": declaration.outcome.period_id if declaration.outcome else None,
        }

    def _page(self, request: SimRequest, items: list[dict[str, Any]]) -> SimResponse:
        size = _query_int(request, "pageSize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        page = _query_int(request, "page", 1, None)
        start = (page - 1) * size
        body: dict[str, Any] = {"items": items[start:start + size]}
        if len(items) > start + size:
            body["next"] = f"{self.base_url}{request.path}?pageSize={size}&page={page + 1}"
        return SimResponse.json(200, body)


class _SearchFilter:
    """The optional criteria of a search body: employer, worker, date range."""

    def __init__(self, enterprise_number: str | None, ssin: str | None,
                 start_date: str | None, end_date: str | None) -> None:
        self.enterprise_number = enterprise_number
        self.ssin = ssin
        self.start_date = start_date
        self.end_date = end_date

    @classmethod
    def from_body(cls, body: Any) -> _SearchFilter:
        if not isinstance(body, dict):
            raise BadRequest([Issue("schemaViolation", "body", "The body must be a JSON object")])
        employer = body.get("employer") or {}
        worker = body.get("worker") or {}
        issues = [
            Issue("schemaViolation", name, "must be an object", body[name])
            for name, value in (("employer", employer), ("worker", worker))
            if not isinstance(value, dict)
        ] + [
            Issue("schemaViolation", name, "must match YYYY-MM-DD", body[name])
            for name in ("startDate", "endDate")
            if name in body and not (isinstance(body[name], str) and DATE.match(body[name]))
        ]
        if issues:
            raise BadRequest(issues)
        return cls(employer.get("enterpriseNumber"), worker.get("ssin"),
                   body.get("startDate"), body.get("endDate"))

    def matches_period(self, period: Period) -> bool:
        return (
            self._parties_match(period.enterprise_number, period.ssin)
            # ISO dates compare as text; a period without an end runs on.
            and (self.start_date is None or period.end_date is None
                 or period.end_date >= self.start_date)
            and (self.end_date is None or period.start_date <= self.end_date)
        )

    def matches_declaration(self, declaration: Declaration) -> bool:
        return self._parties_match(declaration.enterprise_number, declaration.ssin)

    def _parties_match(self, enterprise_number: str | None, ssin: str | None) -> bool:
        return (
            (self.enterprise_number is None or enterprise_number == self.enterprise_number)
            and (self.ssin is None or ssin == self.ssin)
        )


def _employer_json(enterprise_number: str) -> dict[str, Any]:
    return {"employerId": employer_id(enterprise_number), "enterpriseNumber": enterprise_number}


def _as_id(raw: str) -> int | None:
    return int(raw) if raw.isdigit() else None


def _query_int(request: SimRequest, name: str, default: int, maximum: int | None) -> int:
    values = request.query.get(name)
    if not values:
        return default
    raw = values[-1]
    value = int(raw) if raw.isdigit() else 0
    if value < 1 or (maximum is not None and value > maximum):
        bounds = f"between 1 and {maximum}" if maximum else "at least 1"
        raise BadRequest([Issue("schemaViolation", name, f"must be an integer {bounds}", raw,
                                location="query")])
    return value
