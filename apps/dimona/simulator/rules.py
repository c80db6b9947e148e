"""Which anomalies a declaration gets when the ONSS processes it.

Each function looks at one declaration and the periods as they stand at
processing time, and returns the anomalies; `anomalies.result_of` turns
them into A/W/B. Applying an accepted declaration is the caller's job.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from . import anomalies, timing
from .anomalies import Anomaly
from .store import Period
from .validation import Submission

FLEXI = "FLX"
# The joint commission a flexi (or student) worker is declared under.
OTHER_COMMISSION = "XXX"


@dataclass(frozen=True)
class RuleSettings:
    ineligible_flexi_ssins: frozenset[str] = frozenset()


def for_in(
    submission: Submission, received_at: float, periods: Iterable[Period], settings: RuleSettings
) -> list[Anomaly]:
    action = submission.action
    features = action["features"]
    flexi = features["workerType"] == FLEXI
    ssin = submission.worker["ssin"]
    found: list[Anomaly] = []
    if flexi and features["jointCommissionNumber"] != OTHER_COMMISSION:
        found.append(anomalies.JOINT_COMMISSION_MISMATCH)
    span = timing.span(action["startDate"], action.get("startHour"),
                       action.get("endDate"), action.get("endHour"))
    same_employment = _active_periods(periods, submission.employer["enterpriseNumber"], ssin)
    if any(timing.overlaps(span, period.span()) for period in same_employment):
        found.append(anomalies.DUPLICATE_PERIOD)
    if flexi and ssin in settings.ineligible_flexi_ssins:
        found.append(anomalies.FLEXI_CONDITIONS_NOT_MET)
    if _is_late(action, received_at):
        found.append(anomalies.LATE_DECLARATION)
    return found


def for_update(
    submission: Submission, period: Period | None, periods: Iterable[Period]
) -> list[Anomaly]:
    refused = _unusable(period)
    if refused:
        return refused
    changed = dataclasses.replace(period)
    changed.change(submission.action)
    others = [
        other for other in _active_periods(periods, period.enterprise_number, period.ssin)
        if other.period_id != period.period_id
    ]
    if any(timing.overlaps(changed.span(), other.span()) for other in others):
        return [anomalies.DUPLICATE_PERIOD]
    return []


def for_cancel(period: Period | None, received_at: float) -> list[Anomaly]:
    refused = _unusable(period)
    if refused:
        return refused
    # Official deadline: a cancel is due at the latest on the declared start date.
    received_on = timing.from_epoch(received_at).date()
    if received_on > dt.date.fromisoformat(period.start_date):
        return [anomalies.CANCEL_TOO_LATE]
    return []


def for_out(period: Period | None) -> list[Anomaly]:
    return _unusable(period)


def _unusable(period: Period | None) -> list[Anomaly]:
    if period is None:
        return [anomalies.UNKNOWN_PERIOD]
    if period.cancelled:
        return [anomalies.ALREADY_CANCELLED]
    return []


def _active_periods(periods: Iterable[Period], enterprise_number: str, ssin: str) -> list[Period]:
    return [
        period for period in periods
        if not period.cancelled
        and period.enterprise_number == enterprise_number
        and period.ssin == ssin
    ]


def _is_late(action: dict, received_at: float) -> bool:
    """Received after the work started (the In deadline).

    With hours the start is exact. Without, the ONSS cannot know the hour
    work began, so only an In received after the start date counts as late
    (INFERRED: the real rule is not documented).
    """
    received = timing.from_epoch(received_at)
    start_hour = action.get("startHour")
    if start_hour:
        return received > timing.instant(action["startDate"], start_hour)
    return received.date() > dt.date.fromisoformat(action["startDate"])
