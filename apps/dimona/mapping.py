"""Translation between our models and the ONSS Dimona v2 wire format.

Names from the ONSS vocabulary (periodId, dimonaIn, errorId) stay here and
in the client; the rest of the app uses our own words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_lazy as _

from apps.core.http import ErrorInfo, PermanentError
from apps.dimona.validators import joint_commission_is_valid, normalise_joint_commission

BRUSSELS = ZoneInfo("Europe/Brussels")
FLEXI_WORKER_TYPE = "FLX"
LABEL_LANGUAGES = ("fr", "nl", "de", "en")


def onss_date(moment: datetime) -> str:
    return moment.astimezone(BRUSSELS).strftime("%Y-%m-%d")


def onss_hour(moment: datetime) -> str:
    # HHMM, four digits, no colon or seconds: "17:00:00" is refused.
    return moment.astimezone(BRUSSELS).strftime("%H%M")


def _period_fields(start: datetime, end: datetime) -> dict[str, str]:
    # A night shift ends on the next calendar day, and says so.
    return {"startDate": onss_date(start), "startHour": onss_hour(start),
            "endDate": onss_date(end), "endHour": onss_hour(end)}


UNSENDABLE_JOINT_COMMISSION = _(
    "Not sent: the employer's joint commission %(value)s is not one the ONSS takes (XXX or a "
    "number such as 302 or 118.03). Correct the employer, then declare the shift again.")


def onss_joint_commission(value: str) -> str:
    """The joint commission as the ONSS takes it.

    One stored before it was validated is never sent: the ONSS would only
    refuse the declaration later. It fails at once, as a permanent error
    that names the value, so the manager can correct the employer.
    """
    commission = normalise_joint_commission(value)
    if not joint_commission_is_valid(commission):
        # repr() makes an invisible control character readable.
        message = str(UNSENDABLE_JOINT_COMMISSION) % {"value": repr(value)}
        # Imported here because the client imports this module.
        from apps.dimona.client import PLATFORM
        raise PermanentError(message, platform=PLATFORM,
                             error=ErrorInfo(code="invalid_joint_commission", message=message))
    return commission


def dimona_in_payload(*, enterprise_number: str, ssin: str, joint_commission: str,
                      start: datetime, end: datetime) -> dict[str, Any]:
    return {
        "employer": {"enterpriseNumber": enterprise_number},
        "worker": {"ssin": ssin},
        "dimonaIn": {
            **_period_fields(start, end),
            "features": {"workerType": FLEXI_WORKER_TYPE,
                         "jointCommissionNumber": onss_joint_commission(joint_commission)},
        },
    }


def dimona_update_payload(*, period_id: str, start: datetime, end: datetime) -> dict[str, Any]:
    return {"dimonaUpdate": {"periodId": int(period_id), **_period_fields(start, end)}}


def dimona_cancel_payload(*, period_id: str) -> dict[str, Any]:
    return {"dimonaCancel": {"periodId": int(period_id)}}


# What the known ONSS anomalies mean, by code, in our source language; the
# catalogues give the French and Dutch. A code missing here is shown with the
# label the ONSS sent (French first), as received.
ANOMALY_LABELS = {
    "90017-510": _("Access conditions for flexi-jobs not met"),
    "90017-520": _("Late Dimona declaration"),
    "90373-333": _("Duplicate Dimona period"),
    "90374-349": _("Joint commission incompatible with the worker type"),
    "00913-354": _("Unknown Dimona period"),
    "00913-355": _("Dimona period or daily registration already cancelled"),
    "00913-356": _("Cancellation after the start date of the Dimona period"),
}


@dataclass(frozen=True)
class Anomaly:
    code: str
    # The ONSS's own label as received (French first), kept for the record.
    label: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "label": self.label}


def anomaly_label(anomaly: dict[str, Any]) -> str:
    """What a stored anomaly ({"code", "label"}) says, in the active language.

    Show the code beside it: it is what the ONSS's documentation and support
    know it by.
    """
    known = ANOMALY_LABELS.get(str(anomaly.get("code") or ""))
    return str(known) if known is not None else str(anomaly.get("label") or "")


@dataclass(frozen=True)
class DeclarationResult:
    """`declarationStatus` of a processed declaration."""

    declaration_id: str
    result: str
    period_id: str
    anomalies: list[Anomaly] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


def parse_declaration_status(body: dict[str, Any]) -> DeclarationResult:
    status = body.get("declarationStatus") or {}
    period = status.get("period") or {}
    return DeclarationResult(
        declaration_id=str(status.get("declarationId") or ""),
        result=str(status.get("result") or "").upper(),
        period_id=str(period.get("id") or ""),
        anomalies=[parse_anomaly(a) for a in status.get("anomalies") or []
                   if isinstance(a, dict)],
        raw=status,
    )


def parse_anomaly(entry: dict[str, Any]) -> Anomaly:
    """Tolerant: the v2 element shape is not officially documented.

    Seen: {"errorId", "label": {"fr", "nl", "de"}}; v1: {"errorId", "labelFr",
    "labelNl"}; elsewhere {"code", "description"}.
    """
    code = str(entry.get("errorId") or entry.get("code") or entry.get("id") or "")
    label = entry.get("label")
    if isinstance(label, dict):
        text = next((label[lang] for lang in LABEL_LANGUAGES if label.get(lang)), "")
        text = text or next(iter(label.values()), "")
    elif isinstance(label, str):
        text = label
    else:
        text = next(
            (entry[key] for lang in LABEL_LANGUAGES
             for key in (f"label{lang.title()}", f"description{lang.title()}") if entry.get(key)),
            entry.get("description") or "",
        )
    return Anomaly(code=code, label=str(text))


@dataclass(frozen=True)
class Period:
    period_id: str
    ssin: str
    start_date: str
    start_hour: str
    end_date: str
    end_hour: str
    cancelled: bool


def parse_period(item: dict[str, Any]) -> Period:
    worker = item.get("worker") or {}
    status = str(item.get("status") or "").lower()
    return Period(
        period_id=str(item.get("periodId") or item.get("id") or ""),
        ssin=str(worker.get("ssin") or ""),
        start_date=str(item.get("startDate") or ""),
        start_hour=str(item.get("startHour") or ""),
        end_date=str(item.get("endDate") or ""),
        end_hour=str(item.get("endHour") or ""),
        cancelled=bool(item.get("cancelled")) or status in ("cancelled", "canceled"),
    )
