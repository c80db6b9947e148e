"""Synchronous checks of `POST /declarations`: what the ONSS refuses with a 400.

Everything here is about the shape of the message. Business rules
(duplicates, flexi conditions, lateness...) are applied later, when the
declaration is processed, and come back as anomalies (see rules.py).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from .problems import BadRequest, Issue

ACTIONS = ("dimonaIn", "dimonaUpdate", "dimonaCancel", "dimonaOut")
TOP_LEVEL_FIELDS = {"employer", "worker", *ACTIONS}
ACTION_FIELDS = {
    "dimonaIn": {"startDate", "startHour", "endDate", "endHour", "features",
                 "plannedHoursNumber", "studentPlaceOfWork"},
    "dimonaUpdate": {"periodId", "startDate", "startHour", "endDate", "endHour",
                     "plannedHoursNumber"},
    "dimonaCancel": {"periodId"},
    "dimonaOut": {"periodId", "endDate", "endHour"},
}
UPDATABLE_FIELDS = ("startDate", "startHour", "endDate", "endHour", "plannedHoursNumber")

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HOUR = re.compile(r"^([01]\d|2[0-3])[0-5]\d$")
WORKER_TYPE = re.compile(r"^[A-Z0-9]{3}$")
JOINT_COMMISSION = re.compile(r"^(XXX|\d{3}(\.\d{2})?)$")
ENTERPRISE_NUMBER = re.compile(r"^\d{10}$")
SSIN = re.compile(r"^\d{11}$")

# The exact text the ONSS answers when `features` (or one of its two
# fields) is missing, as observed in production.
FEATURES_REQUIRED = "Bad Request: Features required"


@dataclass(frozen=True)
class Submission:
    """A declaration that passed validation."""

    kind: str  # one of ACTIONS
    action: dict[str, Any]
    employer: dict[str, Any] | None
    worker: dict[str, Any] | None

    @property
    def period_id(self) -> int | None:
        return self.action.get("periodId")


def validate(body: Any) -> Submission:
    """The submission in `body`, or BadRequest with the Belgif issues."""
    if not isinstance(body, dict):
        raise BadRequest([Issue("schemaViolation", "body", "The body must be a JSON object")])
    issues = [
        Issue("unknownInput", key, f"Input {key} is unknown")
        for key in body if key not in TOP_LEVEL_FIELDS
    ]
    present = [action for action in ACTIONS if action in body]
    if len(present) != 1:
        issues.append(Issue("exactlyOneOfExpected", ", ".join(ACTIONS),
                            f"Exactly one of these inputs must be present: {', '.join(ACTIONS)}"))
        raise BadRequest(issues)
    kind = present[0]
    action = body[kind]
    if not isinstance(action, dict):
        raise BadRequest([*issues, Issue("schemaViolation", kind, "must be an object")])
    if kind == "dimonaIn":
        _require_features(action)
        issues += _employer_issues(body.get("employer")) + _worker_issues(body.get("worker"))
    checker = _Checker(kind, action)
    checker.unknown_fields()
    _ACTION_CHECKS[kind](checker)
    issues += checker.issues
    if issues:
        raise BadRequest(issues)
    return Submission(kind, action, body.get("employer"), body.get("worker"))


def _require_features(action: dict[str, Any]) -> None:
    features = action.get("features")
    if (
        not isinstance(features, dict)
        or not features.get("workerType")
        or not features.get("jointCommissionNumber")
    ):
        issue = Issue("schemaViolation", "dimonaIn.features", "Features required")
        raise BadRequest([issue], detail=FEATURES_REQUIRED)


def _employer_issues(employer: Any) -> list[Issue]:
    # The real API also accepts {"employerId": <NSSO number>}; the hub always
    # sends the enterprise number, so the simulator only supports that.
    if not isinstance(employer, dict) or "enterpriseNumber" not in employer:
        return [Issue("schemaViolation", "employer.enterpriseNumber",
                      "Input employer.enterpriseNumber is required")]
    number = employer["enterpriseNumber"]
    if not isinstance(number, str) or not ENTERPRISE_NUMBER.match(number):
        return [Issue("schemaViolation", "employer.enterpriseNumber",
                      "must be a string of 10 digits", number)]
    if not valid_enterprise_number(number):
        return [Issue("invalidStructure", "employer.enterpriseNumber",
                      f"Enterprise number {number} is invalid", number)]
    return []


def _worker_issues(worker: Any) -> list[Issue]:
    # Workers without an SSIN (declared by identity) exist in the real API;
    # the hub always knows the SSIN, so the simulator requires it.
    if not isinstance(worker, dict) or "ssin" not in worker:
        return [Issue("schemaViolation", "worker.ssin", "Input worker.ssin is required")]
    ssin = worker["ssin"]
    if not isinstance(ssin, str) or not SSIN.match(ssin):
        return [Issue("schemaViolation", "worker.ssin", "must be a string of 11 digits", ssin)]
    if not valid_ssin(ssin):
        return [Issue("invalidStructure", "worker.ssin", f"SSIN {ssin} is invalid", ssin)]
    return []


def valid_enterprise_number(number: str) -> bool:
    return 97 - int(number[:8]) % 97 == int(number[8:])


def valid_ssin(ssin: str) -> bool:
    # Mod-97 over the first nine digits; people born from 2000 on have a "2"
    # prefixed to them, and the number does not say which century applies.
    base, check = int(ssin[:9]), int(ssin[9:])
    return check in (97 - base % 97, 97 - (2_000_000_000 + base) % 97)


class _Checker:
    """Collects the issues of one action block (`dimonaIn`, ...)."""

    def __init__(self, kind: str, action: dict[str, Any]) -> None:
        self.kind = kind
        self.action = action
        self.issues: list[Issue] = []

    def add(self, kind: str, field: str, detail: str, value: Any = None) -> None:
        self.issues.append(Issue(kind, f"{self.kind}.{field}", detail, value))

    def unknown_fields(self) -> None:
        for field in self.action:
            if field not in ACTION_FIELDS[self.kind]:
                self.add("unknownInput", field, f"Input {self.kind}.{field} is unknown")

    def required(self, field: str) -> bool:
        if field in self.action:
            return True
        self.add("schemaViolation", field, f"Input {self.kind}.{field} is required")
        return False

    def pattern(self, field: str, regex: re.Pattern[str], expected: str) -> bool:
        value = self.action.get(field)
        if field not in self.action:
            return True
        if isinstance(value, str) and regex.match(value):
            return True
        self.add("schemaViolation", field, f"must match {expected}", value)
        return False

    def date(self, field: str) -> bool:
        if not self.pattern(field, DATE, "YYYY-MM-DD"):
            return False
        if field in self.action:
            try:
                dt.date.fromisoformat(self.action[field])
            except ValueError:
                self.add("schemaViolation", field, "is not a valid date", self.action[field])
                return False
        return True

    def hour(self, field: str) -> bool:
        return self.pattern(field, HOUR, "HHMM (4 digits, 0000-2359)")

    def period_id(self) -> None:
        value = self.action.get("periodId")
        if self.required("periodId") and (
            isinstance(value, bool) or not isinstance(value, int) or value <= 0
        ):
            self.add("schemaViolation", "periodId", "must be a positive integer", value)

    def planned_hours(self) -> None:
        value = self.action.get("plannedHoursNumber")
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or value < 0
        ):
            self.add("schemaViolation", "plannedHoursNumber", "must be a positive number", value)

    def end_after_start(self) -> None:
        start, end = self.action.get("startDate"), self.action.get("endDate")
        if start and end and end < start:
            self.add("invalidPeriod", "endDate",
                     f"{self.kind}.endDate should not precede {self.kind}.startDate", end)
        elif start and start == end:
            start_hour, end_hour = self.action.get("startHour"), self.action.get("endHour")
            if start_hour and end_hour and end_hour <= start_hour:
                # A night shift ends on the next day: its endDate must say so.
                self.add("invalidPeriod", "endHour",
                         f"{self.kind}.endHour should follow {self.kind}.startHour", end_hour)


def _check_in(checker: _Checker) -> None:
    features = checker.action["features"]
    worker_type = features["workerType"]
    if not isinstance(worker_type, str) or not WORKER_TYPE.match(worker_type):
        checker.add("schemaViolation", "features.workerType", "must be a 3-letter code",
                    worker_type)
    commission = features["jointCommissionNumber"]
    if not isinstance(commission, str) or not JOINT_COMMISSION.match(commission):
        checker.add("schemaViolation", "features.jointCommissionNumber",
                    "must be XXX or a joint commission number such as 302 or 118.03", commission)
    dates_ok = checker.required("startDate") and checker.date("startDate")
    dates_ok = checker.date("endDate") and dates_ok
    if worker_type == "FLX":
        # A flexi Dimona is declared per shift, with its hours and its end.
        for field in ("endDate", "startHour", "endHour"):
            checker.required(field)
    hours_ok = checker.hour("startHour") & checker.hour("endHour")
    checker.planned_hours()
    if dates_ok and hours_ok:
        checker.end_after_start()


def _check_update(checker: _Checker) -> None:
    checker.period_id()
    if not any(field in checker.action for field in UPDATABLE_FIELDS):
        checker.issues.append(Issue(
            "anyOfExpected", checker.kind,
            f"Any of these inputs must be present: {', '.join(UPDATABLE_FIELDS)}",
        ))
    dates_ok = checker.date("startDate") & checker.date("endDate")
    hours_ok = checker.hour("startHour") & checker.hour("endHour")
    checker.planned_hours()
    if dates_ok and hours_ok:
        checker.end_after_start()


def _check_cancel(checker: _Checker) -> None:
    checker.period_id()


def _check_out(checker: _Checker) -> None:
    checker.period_id()
    if checker.required("endDate"):
        checker.date("endDate")
    checker.hour("endHour")


_ACTION_CHECKS = {
    "dimonaIn": _check_in,
    "dimonaUpdate": _check_update,
    "dimonaCancel": _check_cancel,
    "dimonaOut": _check_out,
}
