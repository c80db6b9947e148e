"""MY TUNICLAIM's wire format ↔ our models: its vocabulary stays here.

Statuses go through reviewed tables; a value the tables do not know is an
invalid record (quarantined with the value), never a default. Amounts are
dinars with three decimals, read as Decimal from the JSON text (the client
parses numbers with `parse_float=Decimal`) or from a string; a fourth
decimal is a bad amount, not something to round. Dates are ISO 8601; a
date-time is taken in Tunis, where the claims are filed.

`parse_bordereau` and `parse_bulletin` turn one record into the values of
our rows, or raise `InvalidRecord` with the `QuarantinedRecord.Reason`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from apps.core.bulk import content_hash
from apps.tuniclaim.models import (
    Bordereau,
    BulletinSoin,
    BulletinSoinItem,
    Client,
    Contract,
    QuarantinedRecord,
)

Reason = QuarantinedRecord.Reason
# Where the platform and its users are: a date-time without a date of its
# own is a day in Tunis.
PLATFORM_ZONE = ZoneInfo("Africa/Tunis")
MILLIME = Decimal("0.001")
# DecimalField(max_digits=12, decimal_places=3): below a billion dinars.
AMOUNT_LIMIT = Decimal("1000000000")
# The largest count or delay our columns (PositiveIntegerField) hold.
COUNT_LIMIT = 2**31 - 1
# The ARS code's default delays when a contract gives none.
DEFAULT_DELAY_DAYS = 5

# -- reviewed status tables ---------------------------------------------------------

# Every batch status seen in the ARS code (reference B.3); SCANNE and
# SCAN_TERMINE are two spellings of one state.
BORDEREAU_STATUS_FROM_PLATFORM: dict[str, str] = {
    "EN_ATTENTE": Bordereau.Status.PENDING,
    "A_SCANNER": Bordereau.Status.TO_SCAN,
    "SCAN_EN_COURS": Bordereau.Status.SCANNING,
    "SCANNE": Bordereau.Status.SCANNED,
    "SCAN_TERMINE": Bordereau.Status.SCANNED,
    "A_AFFECTER": Bordereau.Status.TO_ASSIGN,
    "ASSIGNE": Bordereau.Status.ASSIGNED,
    "EN_COURS": Bordereau.Status.IN_PROGRESS,
    "TRAITE": Bordereau.Status.PROCESSED,
    "CLOTURE": Bordereau.Status.CLOSED,
    "EN_DIFFICULTE": Bordereau.Status.IN_DIFFICULTY,
    "PARTIEL": Bordereau.Status.PARTIAL,
    "RETOURNE": Bordereau.Status.RETURNED,
    "PAYE": Bordereau.Status.PAID,
    "MIS_EN_INSTANCE": Bordereau.Status.ON_HOLD,
    "REJETE": Bordereau.Status.REJECTED,
}

# A BS's `etat` (IN_PROGRESS and EN_COURS are the English and French
# spellings of one state), plus the two handler actions that are states of
# their own here: put on hold, and returned to the team lead.
BS_STATUS_FROM_PLATFORM: dict[str, str] = {
    "IN_PROGRESS": BulletinSoin.Status.IN_PROGRESS,
    "EN_COURS": BulletinSoin.Status.IN_PROGRESS,
    "VALIDATED": BulletinSoin.Status.VALIDATED,
    "REJECTED": BulletinSoin.Status.REJECTED,
    "MIS_EN_INSTANCE": BulletinSoin.Status.ON_HOLD,
    "RETOURNE_CHEF": BulletinSoin.Status.RETURNED,
    "DELETED": BulletinSoin.Status.DELETED,
}

# What a local decision is pushed as: one spelling per state (IN_PROGRESS,
# the one the platform's own BS carry).
BS_STATUS_TO_PLATFORM: dict[str, str] = {
    BulletinSoin.Status.IN_PROGRESS: "IN_PROGRESS",
    BulletinSoin.Status.VALIDATED: "VALIDATED",
    BulletinSoin.Status.REJECTED: "REJECTED",
    BulletinSoin.Status.ON_HOLD: "MIS_EN_INSTANCE",
    BulletinSoin.Status.RETURNED: "RETOURNE_CHEF",
    BulletinSoin.Status.DELETED: "DELETED",
}


# -- errors -------------------------------------------------------------------------

class InvalidRecord(ValueError):
    """A record the import cannot take; `reason` is a QuarantinedRecord.Reason."""

    reason: str = Reason.BAD_RECORD

    def __init__(self, detail: str, *, reason: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if reason is not None:
            self.reason = reason


class BadAmount(InvalidRecord):
    reason = Reason.BAD_AMOUNT


class BadDate(InvalidRecord):
    reason = Reason.BAD_DATE


# -- values ---------------------------------------------------------------------------

def parse_amount(value: Any) -> Decimal:
    """Dinars to the millime, exactly: a JSON number read as Decimal, an
    integer, or a string such as "150.500". Never through a float (a float
    given anyway is read from its shortest text, which is what was written)."""
    if isinstance(value, bool) or value is None:
        raise BadAmount(f"not an amount: {value!r}")
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, str):
        value = value.strip()
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise BadAmount(f"not an amount: {value!r}") from None
    if not amount.is_finite():
        raise BadAmount(f"not an amount: {value!r}")
    if amount < 0 or amount >= AMOUNT_LIMIT:
        raise BadAmount(f"out of range: {value}")
    # "1.2340" is a millime amount written long; "1.2345" is not one.
    if amount != amount.quantize(MILLIME):
        raise BadAmount(f"more than three decimals: {value}")
    # One form per value ("150.5" and "150.500" hash alike).
    return amount.quantize(MILLIME)


def parse_day(value: Any) -> date:
    """An ISO date, or the Tunis day of an ISO date-time."""
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            day = parse_date(text)
            if day is not None:
                return day
            moment = parse_datetime(text)
        except ValueError:
            moment = None
        if moment is not None:
            if timezone.is_naive(moment):
                return moment.date()
            return moment.astimezone(PLATFORM_ZONE).date()
    raise BadDate(f"not a date: {value!r}")


def parse_moment(value: Any) -> datetime:
    """An ISO date-time; one without an offset is Tunis time."""
    if isinstance(value, str) and value.strip():
        try:
            moment = parse_datetime(value.strip())
        except ValueError:
            moment = None
        if moment is not None:
            if timezone.is_naive(moment):
                moment = moment.replace(tzinfo=PLATFORM_ZONE)
            return moment.astimezone(ZoneInfo("UTC"))
    raise BadDate(f"not a date-time: {value!r}")


def _status(value: Any, table: dict[str, str], what: str) -> tuple[str, str]:
    """(our status, the platform's as received); unknown is an invalid record."""
    received = str(value).strip() if value is not None else ""
    ours = table.get(received.upper())
    if ours is None:
        raise InvalidRecord(f"unknown {what} status {received!r}", reason=Reason.UNKNOWN_STATUS)
    return str(ours), received


def _present(record: dict[str, Any], key: str) -> bool:
    value = record.get(key)
    return value is not None and not (isinstance(value, str) and not value.strip())


def _text(record: dict[str, Any], key: str, model_field: Any, *, required: bool = False,
          reason: str = Reason.BAD_RECORD) -> str:
    value = record.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidRecord(f"no {key}", reason=reason)
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise InvalidRecord(f"{key} is not text: {value!r}")
    text = str(value).strip()
    limit = getattr(model_field, "max_length", None)
    if limit and len(text) > limit:
        raise InvalidRecord(f"{key} longer than {limit} characters")
    return text


def _amount(record: dict[str, Any], key: str) -> Decimal:
    """An optional amount: absent or null is zero (the ARS code's default)."""
    if record.get(key) is None:
        return Decimal("0.000")
    try:
        return parse_amount(record[key])
    except BadAmount as exc:
        raise BadAmount(f"{key}: {exc.detail}") from None


def _optional_day(record: dict[str, Any], key: str) -> date | None:
    if not _present(record, key):
        return None
    try:
        return parse_day(record[key])
    except BadDate as exc:
        raise BadDate(f"{key}: {exc.detail}") from None


def _count(record: dict[str, Any], key: str, default: int) -> int:
    value = record.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        raise InvalidRecord(f"{key} is not a whole number: {value!r}")
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidRecord(f"{key} is not a whole number: {value!r}") from None
    if not number.is_finite() or number != number.to_integral_value() or number < 0:
        raise InvalidRecord(f"{key} is not a whole number: {value!r}")
    if number > COUNT_LIMIT:
        raise InvalidRecord(f"{key} is out of range: {value!r}")
    return int(number)


def _field(model: Any, name: str) -> Any:
    return model._meta.get_field(name)


# -- records --------------------------------------------------------------------------

def bordereau_keys(record: dict[str, Any]) -> tuple[str, str]:
    """(platform id, reference) as far as they can be read, for the
    quarantine of a record that fails before they are checked."""
    def read(key: str) -> str:
        value = record.get(key) if isinstance(record, dict) else None
        return str(value).strip()[:100] if isinstance(value, str | int) and \
            not isinstance(value, bool) else ""
    return read("id"), read("reference")


def bulletin_key(record: dict[str, Any]) -> str:
    value = record.get("numBs") if isinstance(record, dict) else None
    return str(value).strip()[:100] if isinstance(value, str | int) and \
        not isinstance(value, bool) else ""


@dataclass(frozen=True)
class ParsedBordereau:
    external_id: str
    reference: str
    client_code: str
    client_name: str
    contract_number: str
    settlement_days: int
    claim_days: int
    received_on: date
    declared_claims: int
    provider: str
    status: str
    platform_status: str
    platform_updated_at: datetime | None
    content_hash: str = field(default="", compare=False)

    @property
    def processing_deadline(self) -> date:
        # Without a contract (or a delay in it), the ARS default of 5 days.
        return self.received_on + timedelta(days=self.settlement_days)

    def row(self, *, client_id: int, contract_id: int | None) -> dict[str, Any]:
        """The values of the Bordereau row: all of them are the platform's."""
        return {
            "external_id": self.external_id, "reference": self.reference,
            "client_id": client_id, "contract_id": contract_id,
            "received_on": self.received_on, "processing_deadline": self.processing_deadline,
            "declared_claims": self.declared_claims, "provider": self.provider,
            "status": self.status, "platform_status": self.platform_status,
            "platform_updated_at": self.platform_updated_at,
            "content_hash": self.content_hash,
        }


def parse_bordereau(record: dict[str, Any]) -> ParsedBordereau:
    """One bordereau of the listing (without its BS, which are fetched apart)."""
    with _unreadable_as_bad_record():
        return _parse_bordereau(record)


def _parse_bordereau(record: dict[str, Any]) -> ParsedBordereau:
    if not isinstance(record, dict) or "_unreadable" in record:
        raise InvalidRecord("not an object")
    external_id = _text(record, "id", _field(Bordereau, "external_id"), required=True,
                        reason=Reason.MISSING_KEY)
    reference = _text(record, "reference", _field(Bordereau, "reference"), required=True,
                      reason=Reason.MISSING_KEY)
    client = record.get("client")
    if not isinstance(client, dict) or not _present(client, "code"):
        # The name alone is never enough: clients are known by their code.
        raise InvalidRecord("no client code", reason=Reason.MISSING_CLIENT)
    client_code = _text(client, "code", _field(Client, "code"))
    client_name = _text(client, "name", _field(Client, "name"))
    contract = record.get("contract")
    if contract is not None and not isinstance(contract, dict):
        raise InvalidRecord(f"contract is not an object: {contract!r}")
    contract = contract or {}
    contract_number = _text(contract, "number", _field(Contract, "number"))
    status, platform_status = _status(record.get("statut"), BORDEREAU_STATUS_FROM_PLATFORM,
                                      "bordereau")
    if not _present(record, "dateReception"):
        raise BadDate("no dateReception")
    try:
        received_on = parse_day(record["dateReception"])
    except BadDate as exc:
        raise BadDate(f"dateReception: {exc.detail}") from None
    updated_at = None
    if _present(record, "updatedAt"):
        try:
            updated_at = parse_moment(record["updatedAt"])
        except BadDate as exc:
            raise BadDate(f"updatedAt: {exc.detail}") from None
    parsed = ParsedBordereau(
        external_id=external_id, reference=reference,
        client_code=client_code, client_name=client_name,
        contract_number=contract_number,
        settlement_days=_count(contract, "delaiReglement", DEFAULT_DELAY_DAYS),
        claim_days=_count(contract, "delaiReclamation", DEFAULT_DELAY_DAYS),
        received_on=received_on,
        declared_claims=_count(record, "nombreBS", 0),
        provider=_text(record, "prestataire", _field(Bordereau, "provider")),
        status=status, platform_status=platform_status, platform_updated_at=updated_at,
    )
    # Everything we keep, the client's name and the contract's delays
    # included (a rename or a new delay is a change), and the platform's
    # updatedAt: a batch whose BS changed is re-read even if its own fields did not.
    digest = content_hash({name: getattr(parsed, name) for name in (
        "external_id", "reference", "client_code", "client_name", "contract_number",
        "settlement_days", "claim_days", "received_on", "declared_claims", "provider",
        "status", "platform_status", "platform_updated_at")})
    return _with_hash(parsed, digest)


@dataclass(frozen=True)
class ParsedBulletin:
    number: str
    fields: dict[str, Any]
    items: list[dict[str, Any]]
    # Our status from the platform's, for a BS nobody here has decided on.
    status: str
    content_hash: str

    def row(self, *, bordereau_id: int) -> dict[str, Any]:
        """The platform-owned values only: never the status, its decision or the payment."""
        return {"bordereau_id": bordereau_id, "number": self.number, **self.fields,
                "content_hash": self.content_hash}


# The BulletinSoin fields an import writes; everything else is decided here.
BULLETIN_PLATFORM_FIELDS = (
    "insured_code", "insured_name", "beneficiary_name", "relationship", "created_on",
    "illness_date", "company_name", "amount_claimed", "amount_covered", "platform_status",
)


def parse_bulletin(record: dict[str, Any]) -> ParsedBulletin:
    """One BS with its items (care acts), numbered in the order received."""
    with _unreadable_as_bad_record():
        return _parse_bulletin(record)


def _parse_bulletin(record: dict[str, Any]) -> ParsedBulletin:
    if not isinstance(record, dict) or "_unreadable" in record:
        raise InvalidRecord("not an object")
    number = _text(record, "numBs", _field(BulletinSoin, "number"), required=True,
                   reason=Reason.MISSING_KEY)
    status, platform_status = _status(record.get("etat"), BS_STATUS_FROM_PLATFORM, "BS")
    raw_items = record.get("items")
    if raw_items is None:
        raw_items = []
    if not isinstance(raw_items, list):
        raise InvalidRecord(f"items is not a list: {type(raw_items).__name__}")
    items = [_parse_item(item, line) for line, item in enumerate(raw_items, start=1)]
    claimed = sum((item["amount_claimed"] for item in items), Decimal("0.000"))
    if claimed >= AMOUNT_LIMIT:
        raise BadAmount(f"the items' total is out of range: {claimed}")
    fields = {
        "insured_code": _text(record, "codeAssure", _field(BulletinSoin, "insured_code")),
        "insured_name": _text(record, "nomAssure", None),
        "beneficiary_name": _text(record, "nomBeneficiaire", None),
        "relationship": _text(record, "lien", _field(BulletinSoin, "relationship")),
        "created_on": _optional_day(record, "dateCreation"),
        "illness_date": _optional_day(record, "dateMaladie"),
        "company_name": _text(record, "nomSociete", _field(BulletinSoin, "company_name")),
        # The platform sends what it covers; what was claimed is the sum of the acts.
        "amount_claimed": claimed,
        "amount_covered": _amount(record, "totalPec"),
        "platform_status": platform_status,
    }
    digest = content_hash({"number": number, **fields, "items": items})
    return ParsedBulletin(number=number, fields=fields, items=items, status=status,
                          content_hash=digest)


def _parse_item(record: Any, line: int) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise InvalidRecord(f"item {line} is not an object")
    try:
        quantity = parse_amount(record["quantite"]) if record.get("quantite") is not None \
            else Decimal("1.000")
    except BadAmount:
        raise InvalidRecord(f"item {line}: quantite is not a number: "
                            f"{record.get('quantite')!r}") from None
    if quantity >= Decimal("10000000"):
        raise InvalidRecord(f"item {line}: quantite out of range")
    try:
        return {
            "line_number": line,
            "product": _text(record, "nomProduit", _field(BulletinSoinItem, "product")),
            "quantity": quantity,
            "chapter": _text(record, "nomChapitre", _field(BulletinSoinItem, "chapter")),
            "provider": _text(record, "nomPrestataire", _field(BulletinSoinItem, "provider")),
            "service_date": _optional_day(record, "datePrestation"),
            "amount_claimed": _amount(record, "depense"),
            "amount_covered": _amount(record, "pec"),
            "member_share": _amount(record, "participationAdherent"),
            "message_code": _text(record, "codeMessage",
                                  _field(BulletinSoinItem, "message_code")),
            "message": _text(record, "message", _field(BulletinSoinItem, "message")),
        }
    except InvalidRecord as exc:
        raise type(exc)(f"item {line}: {exc.detail}", reason=exc.reason) from None


@contextmanager
def _unreadable_as_bad_record() -> Iterator[None]:
    """A record shaped so oddly that reading it fails some other way is a
    bad record too: quarantined with what went wrong, never a failed run."""
    try:
        yield
    except InvalidRecord:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, ArithmeticError) as exc:
        raise InvalidRecord(f"unreadable: {type(exc).__name__}: {exc}") from exc


def _with_hash(parsed: ParsedBordereau, digest: str) -> ParsedBordereau:
    return replace(parsed, content_hash=digest)
