"""Translation between our models and the Symphonics wire format.

Symphonics' words (`type`, `coordinates`, `pending_documents`,
`verification_status`) stay here and in the client; the rest of the app
uses ours. Statuses are stored as received and mapped to ours: a status
Symphonics adds one day is kept verbatim and shown as "other", never lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.utils.dateparse import parse_datetime

from apps.symphonics.models import (
    Intervention,
    InterventionDocument,
    InterventionEquipment,
    InterventionPhoto,
    InterventionService,
)

Status = Intervention.Status
Verification = InterventionDocument.Verification

STATUS_EVENT = "intervention.status_update"
DOCUMENT_EVENT = "document.verification"

# Inferred: the contract shows only created, processing and approved;
# pending_documents and rejected are what the simulator (and common sense)
# add. Anything else maps to OTHER and is kept as received.
REMOTE_STATUSES = {
    "created": Status.CREATED,
    "processing": Status.PROCESSING,
    "pending_documents": Status.PROOF_REQUIRED,
    "approved": Status.APPROVED,
    "rejected": Status.REJECTED,
}
# How far along the lifecycle a status is. Only used to order two statuses
# stamped with the same second (webhook timestamps have no fractions).
STATUS_RANK = {
    Status.CREATED: 1,
    Status.PROCESSING: 2,
    Status.OTHER: 2,
    Status.PROOF_REQUIRED: 3,
    Status.APPROVED: 4,
    Status.REJECTED: 4,
}
REMOTE_VERIFICATIONS = {
    "pending": Verification.PENDING,
    "verified": Verification.VERIFIED,
    "rejected": Verification.REJECTED,
}


def status_from_remote(remote_status: str) -> str:
    return REMOTE_STATUSES.get(remote_status, Status.OTHER)


def verification_from_remote(remote_status: str) -> str:
    return REMOTE_VERIFICATIONS.get(remote_status, Verification.OTHER)


def parse_timestamp(value: Any) -> datetime | None:
    """ISO 8601 as Symphonics writes it ("2025-03-26T14:30:00Z"), as an aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _number(value: Decimal | int | float) -> int | float:
    # 1 stays 1 on the wire, as in the contract; 12.5 m² stays 12.5.
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)


# -- outbound -------------------------------------------------------------------

def document_payload(document: InterventionDocument) -> dict[str, str]:
    return {"type": document.kind, "name": document.name, "url": document.url}


def intervention_payload(
    intervention: Intervention,
    *,
    services: Iterable[InterventionService],
    equipment: Iterable[InterventionEquipment],
    documents: Iterable[InterventionDocument],
    photos: Iterable[InterventionPhoto],
) -> dict[str, Any]:
    """The create body (POST /crm/interventions), in the contract's field order."""
    installation = {"address": intervention.address, "postal_code": intervention.postal_code,
                    "city": intervention.city, "pdl": intervention.pdl}
    if intervention.pce:
        installation["pce"] = intervention.pce
    installer = {"id": intervention.installer_user_id, "name": intervention.installer_name}
    if intervention.installer_company_id:
        installer["company_id"] = intervention.installer_company_id
    return {
        "customer": {
            "first_name": intervention.customer_first_name,
            "last_name": intervention.customer_last_name,
            "email": intervention.customer_email,
            "phone": intervention.customer_phone,
        },
        "installation": installation,
        "services": [{"code": s.code, "name": s.name, "quantity": _number(s.quantity)}
                     for s in services],
        "equipment": [{"name": e.name, "model": e.model, "serial_number": e.serial_number,
                       "quantity": _number(e.quantity)} for e in equipment],
        "documents": [document_payload(d) for d in documents],
        "photos": [_photo_payload(p) for p in photos],
        "installer": installer,
        "completion_date": iso(intervention.completion_date),
        "external_id": intervention.external_id,
    }


def _photo_payload(photo: InterventionPhoto) -> dict[str, Any]:
    coordinates = None
    if photo.latitude is not None and photo.longitude is not None:
        coordinates = {"latitude": photo.latitude, "longitude": photo.longitude}
    return {"type": photo.kind, "url": photo.url, "coordinates": coordinates,
            "timestamp": iso(photo.taken_at)}


def documents_update_payload(documents: Iterable[InterventionDocument]) -> dict[str, Any]:
    """The PATCH body that adds documents ("add proof")."""
    return {"documents": [document_payload(d) for d in documents]}


# -- inbound --------------------------------------------------------------------

@dataclass(frozen=True)
class RemoteDocument:
    kind: str
    name: str
    url: str
    verification_status: str


@dataclass(frozen=True)
class RemoteIntervention:
    """A create answer or a GET of an intervention."""

    symphonics_id: str
    external_id: str
    status: str
    created_at: datetime | None
    updated_at: datetime | None
    next_steps: list[dict[str, Any]] = field(default_factory=list)
    # None when Symphonics does not list them (the contract's GET does not;
    # the simulator does).
    documents: list[RemoteDocument] | None = None

    @property
    def changed_at(self) -> datetime | None:
        return self.updated_at or self.created_at


def parse_intervention(body: dict[str, Any]) -> RemoteIntervention:
    documents = body.get("documents")
    return RemoteIntervention(
        symphonics_id=str(body.get("id") or ""),
        external_id=str(body.get("external_id") or ""),
        status=str(body.get("status") or ""),
        created_at=parse_timestamp(body.get("created_at")),
        updated_at=parse_timestamp(body.get("updated_at")),
        next_steps=[step for step in body.get("next_steps") or [] if isinstance(step, dict)],
        documents=None if not isinstance(documents, list) else [
            RemoteDocument(kind=str(d.get("type") or ""), name=str(d.get("name") or ""),
                           url=str(d.get("url") or ""),
                           verification_status=str(d.get("verification_status") or ""))
            for d in documents if isinstance(d, dict)
        ],
    )


@dataclass(frozen=True)
class StatusEvent:
    symphonics_id: str
    external_id: str
    previous_status: str
    new_status: str
    notes: str
    at: datetime


@dataclass(frozen=True)
class DocumentEvent:
    symphonics_id: str
    external_id: str
    document_kind: str
    verification_status: str
    notes: str
    at: datetime


def _event_data(payload: dict[str, Any], *required: str) -> tuple[dict[str, Any], datetime]:
    data = payload.get("data")
    at = parse_timestamp(payload.get("timestamp"))
    if not isinstance(data, dict) or at is None:
        raise ValueError("the event has no data object or no timestamp")
    missing = [key for key in required if not data.get(key)]
    if missing:
        raise ValueError(f"the event data lacks {', '.join(missing)}")
    if not data.get("external_id") and not data.get("intervention_id"):
        raise ValueError("the event names no intervention")
    return data, at


def parse_status_event(payload: dict[str, Any]) -> StatusEvent:
    data, at = _event_data(payload, "new_status")
    return StatusEvent(
        symphonics_id=str(data.get("intervention_id") or ""),
        external_id=str(data.get("external_id") or ""),
        previous_status=str(data.get("previous_status") or ""),
        new_status=str(data["new_status"]),
        notes=str(data.get("notes") or ""),
        at=at,
    )


def parse_document_event(payload: dict[str, Any]) -> DocumentEvent:
    data, at = _event_data(payload, "document_type", "verification_status")
    return DocumentEvent(
        symphonics_id=str(data.get("intervention_id") or ""),
        external_id=str(data.get("external_id") or ""),
        document_kind=str(data["document_type"]),
        verification_status=str(data["verification_status"]),
        notes=str(data.get("notes") or ""),
        at=at,
    )


@dataclass(frozen=True)
class PdlCheck:
    """GET /validation/pdl/{pdl}: valid or not, and where it is."""

    valid: bool
    pdl: str
    address: dict[str, str] | None = None
    meter_type: str = ""
    message: str = ""


@dataclass(frozen=True)
class PdlMatch:
    """POST /validation/pdl/lookup: the PDL found for an address and a name."""

    pdl: str
    confidence: float | None
    address: dict[str, str] | None
    meter_type: str


@dataclass(frozen=True)
class UserCheck:
    """GET /validation/user/{email}."""

    exists: bool
    user_id: str = ""
    status: str = ""
    message: str = ""


def parse_address(value: Any) -> dict[str, str] | None:
    if not isinstance(value, dict):
        return None
    return {key: str(value.get(key) or "") for key in ("street", "postal_code", "city")}


def parse_pdl_check(pdl: str, status_code: int, body: dict[str, Any]) -> PdlCheck:
    if status_code == 200 and body.get("valid") is not False:
        return PdlCheck(valid=True, pdl=str(body.get("pdl") or pdl),
                        address=parse_address(body.get("address")),
                        meter_type=str(body.get("meter_type") or ""))
    # The contract's 400 is flat ({"valid", "error", "message"}); a 404 has
    # the usual error object.
    error = body.get("error")
    if isinstance(error, dict):
        message = str(error.get("message") or "")
    else:
        message = " — ".join(str(body[key]) for key in ("error", "message") if body.get(key))
    return PdlCheck(valid=False, pdl=pdl, message=message or "PDL not valid")


def parse_pdl_match(body: dict[str, Any]) -> PdlMatch:
    confidence = body.get("confidence")
    return PdlMatch(
        pdl=str(body.get("pdl") or ""),
        confidence=float(confidence) if isinstance(confidence, int | float) else None,
        address=parse_address(body.get("address")),
        meter_type=str(body.get("meter_type") or ""),
    )


def parse_user_check(status_code: int, body: dict[str, Any]) -> UserCheck:
    if status_code == 200 and body.get("exists") is not False:
        return UserCheck(exists=True, user_id=str(body.get("user_id") or ""),
                         status=str(body.get("status") or ""))
    return UserCheck(exists=False, message=str(body.get("message") or "User not found"))


def conflict_existing_id(details: Any) -> str:
    """The id a 409 CONFLICT names in details[].existing_id, if it names one."""
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and detail.get("existing_id"):
            return str(detail["existing_id"])
    return ""
