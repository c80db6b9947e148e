"""The deterministic data generator: bordereaux, their bulletins de soin and care acts.

Everything follows from a seed and a bordereau's sequence number: the same
seed gives the same batches, claims, names and amounts, whatever else the
simulator holds. A bordereau's claims are not stored; they are made again
from `Recipe` each time they are asked for (a claim that changed, or was
given whole, is stored instead: see store.Batch), so 100,000 claims cost a
few kilobytes per batch, not the hundreds of megabytes their JSON would.

Amounts are millimes (integers) until they are written out, as JSON numbers
for two claims in three and as text ("150.500") for the third (position 1,
4, 7… of each bordereau), so both shapes are always present. A JSON number
is written from a float whose shortest form is the exact three-decimal
value (12345 millimes -> 12.345), so a reader parsing it as Decimal gets it
to the millime. A claim's totalPec is the sum of its acts' pec.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from .names import (
    CHAPTERS,
    CITIES,
    CLINICS,
    COMPANIES,
    FAMILY_NAMES,
    FEMALE_FIRST_NAMES,
    INSURERS,
    MALE_FIRST_NAMES,
    PRESTATAIRES,
    RELATIONSHIPS,
    Chapter,
)

# The platform's vocabularies (docs/tuniclaim.md, from the ARS code).
BORDEREAU_STATUSES = (
    "EN_ATTENTE", "A_SCANNER", "SCAN_EN_COURS", "SCANNE", "SCAN_TERMINE", "A_AFFECTER",
    "ASSIGNE", "EN_COURS", "TRAITE", "CLOTURE", "EN_DIFFICULTE", "PARTIEL", "RETOURNE", "PAYE",
    "MIS_EN_INSTANCE", "REJETE",
)
BS_STATES = (
    "IN_PROGRESS", "EN_COURS", "VALIDATED", "REJECTED", "DELETED", "MIS_EN_INSTANCE",
    "RETOURNE_CHEF",
)
PAYMENT_STATUSES = (
    "NON_EXECUTE", "EN_COURS_EXECUTION", "EXECUTE_PARTIELLEMENT", "REJETE", "BLOQUE", "EXECUTE",
)
# How often each shows up: most batches are somewhere in processing, few are
# in trouble; most claims are being processed or validated.
BORDEREAU_STATUS_WEIGHTS = (8, 6, 3, 3, 3, 5, 6, 10, 10, 6, 2, 3, 2, 8, 2, 1)
BS_STATE_WEIGHTS = (40, 20, 25, 5, 2, 5, 3)
# Pharmacy and consultations are most of what a health cover pays for.
CHAPTER_WEIGHTS = (25, 35, 12, 8, 8, 6, 6)
RELATIONSHIP_WEIGHTS = (50, 20, 30)
SETTLEMENT_DAYS = (5, 7, 10, 15, 30)
COMPLAINT_DAYS = (5, 10, 15, 30)
CONTRACTS_PER_CLIENT = 2
# Days back from the generation's day that batches, claims and illnesses go.
RECEPTION_SPREAD_DAYS = 60
CREATION_SPREAD_DAYS = (1, 10)
ILLNESS_SPREAD_DAYS = (0, 20)
INSURED_PER_CLIENT = 5000
# Share of acts the contract does not cover at all (pec 0 with a message).
NOT_COVERED_PERCENT = 4
DEFAULT_SEED = 2026
# Ids are UUIDs, as Prisma gives them, derived from the reference so that a
# bordereau keeps its id when data is generated again (another seed included).
ID_NAMESPACE = uuid.UUID("8f0e6a52-4f7d-4d38-9a55-0c3f5b3f7a11")


class _Weighted:
    """A weighted choice by one draw and a bisection: `random.choices` rebuilds
    its table at every call, which is most of a claim's cost at 100,000 claims."""

    def __init__(self, values: tuple[Any, ...], weights: tuple[int, ...]) -> None:
        self.values = values
        self.bounds = list(itertools.accumulate(weights))
        self.total = self.bounds[-1]

    def pick(self, draw: float) -> Any:
        return self.values[bisect.bisect_right(self.bounds, draw * self.total)]


_BORDEREAU_STATUS = _Weighted(BORDEREAU_STATUSES, BORDEREAU_STATUS_WEIGHTS)
_BS_STATE = _Weighted(BS_STATES, BS_STATE_WEIGHTS)
_CHAPTER = _Weighted(CHAPTERS, CHAPTER_WEIGHTS)
_RELATIONSHIP = _Weighted(RELATIONSHIPS, RELATIONSHIP_WEIGHTS)
_ANY_FIRST_NAME = MALE_FIRST_NAMES + FEMALE_FIRST_NAMES


@dataclass(frozen=True, slots=True)
class ContractInfo:
    number: str
    settlement_days: int
    complaint_days: int


@dataclass(frozen=True, slots=True)
class ClientInfo:
    number: int
    code: str
    name: str
    contracts: tuple[ContractInfo, ...]


@lru_cache(maxsize=4096)
def client_info(number: int) -> ClientInfo:
    """Client `number` (1-based) and its contracts: the same whatever the seed,
    so batches generated at different times agree on their clients."""
    rng = random.Random(f"client:{number}")
    name = INSURERS[(number - 1) % len(INSURERS)]
    if number > len(INSURERS):
        name = f"{name} {CITIES[(number - 1) // len(INSURERS) % len(CITIES)]}"
    contracts = tuple(
        ContractInfo(number=f"CTR-{number:03d}-{k:02d}",
                     settlement_days=rng.choice(SETTLEMENT_DAYS),
                     complaint_days=rng.choice(COMPLAINT_DAYS))
        for k in range(1, CONTRACTS_PER_CLIENT + 1))
    return ClientInfo(number=number, code=f"CLI-{number:03d}", name=name, contracts=contracts)


@dataclass(frozen=True, slots=True)
class Recipe:
    """What a generated bordereau's claims are made from."""

    seed: int  # seeds the generator of its claims
    items: int  # care acts per claim
    number_prefix: str  # numBs = prefix + "-" + position (1-based, 3 digits)
    received: dt.date
    client_number: int

    def number(self, position: int) -> str:
        return f"{self.number_prefix}-{position + 1:03d}"

    def position(self, number: str) -> int | None:
        """The position a numBs of this bordereau names, or None."""
        prefix, _, tail = number.rpartition("-")
        if prefix != self.number_prefix or not tail.isdigit():
            return None
        return int(tail) - 1


@dataclass(frozen=True, slots=True)
class GeneratedBatch:
    id: str
    record: dict[str, Any]  # the bordereau as listed, without updatedAt
    recipe: Recipe


def batch_id(name: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"bordereau:{name}"))


def _seed(*parts: int) -> int:
    """An integer seed from integers: cheaper than seeding from a string
    (which hashes it with SHA-512), and the same on every run and machine."""
    value = 0
    for part in parts:
        value = value * 1_000_003 + part
    return value


def generate_batch(*, seed: int, sequence: int, claims: int, items: int, clients: int,
                   today: dt.date) -> GeneratedBatch:
    rng = random.Random(_seed(seed, sequence))
    client = client_info(rng.randrange(clients) + 1)
    contract = rng.choice(client.contracts)
    received = today - dt.timedelta(days=rng.randrange(RECEPTION_SPREAD_DAYS))
    # The year the batch is registered in: the generation's, so that a
    # reference (and the id derived from it) does not depend on the seed.
    reference = f"BR-{today.year}-{sequence:06d}"
    record = {
        "id": batch_id(reference),
        "reference": reference,
        "client": {"code": client.code, "name": client.name},
        "contract": {"number": contract.number, "delaiReglement": contract.settlement_days,
                     "delaiReclamation": contract.complaint_days},
        "dateReception": received.isoformat(),
        "nombreBS": claims,
        "prestataire": rng.choice(PRESTATAIRES),
        "statut": _BORDEREAU_STATUS.pick(rng.random()),
    }
    recipe = Recipe(seed=_seed(seed, sequence, rng.getrandbits(32)), items=items,
                    number_prefix=f"BS-{today.year}-{sequence:06d}", received=received,
                    client_number=client.number)
    return GeneratedBatch(id=record["id"], record=record, recipe=recipe)


# -- amounts -------------------------------------------------------------------------

def amount_out(millimes: int, *, as_text: bool) -> float | str:
    """Millimes as the platform writes them: "150.500", or the number 150.5."""
    if as_text:
        sign = "-" if millimes < 0 else ""
        whole, part = divmod(abs(millimes), 1000)
        return f"{sign}{whole}.{part:03d}"
    return millimes / 1000


def amount_in(value: Any) -> int:
    """Millimes from an amount as written (number or text); ValueError if unreadable."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not an amount: {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    millimes = number * 1000
    if not number.is_finite() or millimes != millimes.to_integral_value():
        raise ValueError(f"not an amount in millimes: {value!r}")
    return int(millimes)


# -- claims --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Insured:
    code: str
    first_name: str
    family_name: str
    female: bool
    company: str


@lru_cache(maxsize=65536)
def insured(client_number: int, insured_number: int) -> Insured:
    """An insured person: the same name and employer on every claim they make."""
    rng = random.Random(_seed(client_number, insured_number, 7))
    female = rng.random() < 0.5
    return Insured(
        code=f"{client_number:03d}{insured_number:05d}",
        first_name=rng.choice(FEMALE_FIRST_NAMES if female else MALE_FIRST_NAMES),
        family_name=rng.choice(FAMILY_NAMES),
        female=female,
        company=rng.choice(COMPANIES),
    )


def _pick(rand: Callable[[], float], values: Sequence[Any]) -> Any:
    return values[int(rand() * len(values))]


def _upto(rand: Callable[[], float], low: int, high: int) -> int:
    """An integer from low to high, both included."""
    return low + int(rand() * (high - low + 1))


def _beneficiary(rand: Callable[[], float], person: Insured) -> tuple[str, str]:
    relationship = _RELATIONSHIP.pick(rand())
    if relationship == "Conjoint":
        # Tunisian women keep their family name on marriage.
        first = _pick(rand, MALE_FIRST_NAMES if person.female else FEMALE_FIRST_NAMES)
        return f"{first} {_pick(rand, FAMILY_NAMES)}", relationship
    if relationship == "Enfant":
        return f"{_pick(rand, _ANY_FIRST_NAME)} {person.family_name}", relationship
    return f"{person.first_name} {person.family_name}", relationship


def _provider(rand: Callable[[], float], chapter: Chapter) -> str:
    kind = chapter.provider_kind
    if kind == "clinic":
        return _pick(rand, CLINICS)
    if kind == "imaging":
        return f"Centre d'imagerie de {_pick(rand, CITIES)}"
    family = _pick(rand, FAMILY_NAMES)
    if kind == "pharmacy":
        return f"Pharmacie {family}"
    if kind == "lab":
        return f"Laboratoire d'analyses {family}"
    if kind == "optician":
        return f"Optique {family}"
    doctor = f"Dr {_pick(rand, _ANY_FIRST_NAME)} {family}"
    return f"{doctor}, médecin dentiste" if kind == "dentist" else doctor


def bulletins(recipe: Recipe, count: int) -> list[dict[str, Any]]:
    """The `count` claims of a generated bordereau, as the platform lists them.

    One generator per bordereau, drawn in order: seeding one per claim
    costs more than the claim itself. So a claim is made with those before
    it; claims that change are stored (store.Batch.keep) and never made again.
    """
    rand = random.Random(recipe.seed).random
    received = recipe.received.toordinal()
    return [_claim(recipe, position, rand, received) for position in range(count)]


def _claim(recipe: Recipe, position: int, rand: Callable[[], float],
           received: int) -> dict[str, Any]:
    as_text = position % 3 == 1
    person = insured(recipe.client_number, _upto(rand, 1, INSURED_PER_CLIENT))
    beneficiary, relationship = _beneficiary(rand, person)
    created = received - _upto(rand, *CREATION_SPREAD_DAYS)
    ill = created - _upto(rand, *ILLNESS_SPREAD_DAYS)
    acts = []
    total = 0
    for _ in range(recipe.items):
        chapter = _CHAPTER.pick(rand())
        act = _pick(rand, chapter.acts)
        quantity = _upto(rand, 1, act.max_quantity)
        # Prices end in 0 or 5 millimes, as Tunisian tariffs do.
        spent = (act.low + 5 * _upto(rand, 0, (act.high - act.low) // 5)) * quantity
        covered = (spent * chapter.covered_percent + 50) // 100
        code, message = "", ""
        if rand() * 100 < NOT_COVERED_PERCENT:
            covered, code, message = 0, "NR", "Acte non couvert par le contrat"
        elif chapter.ceiling and covered > chapter.ceiling:
            covered, code, message = chapter.ceiling, "PLAF", "Plafond par acte atteint"
        total += covered
        acts.append({
            "nomProduit": act.product,
            "quantite": quantity,
            "nomChapitre": chapter.name,
            "nomPrestataire": _provider(rand, chapter),
            "datePrestation": dt.date.fromordinal(_upto(rand, ill, created)).isoformat(),
            "depense": amount_out(spent, as_text=as_text),
            "pec": amount_out(covered, as_text=as_text),
            "participationAdherent": amount_out(spent - covered, as_text=as_text),
            "codeMessage": code,
            "message": message,
        })
    return {
        "numBs": recipe.number(position),
        "etat": _BS_STATE.pick(rand()),
        "codeAssure": person.code,
        "nomAssure": f"{person.first_name} {person.family_name}",
        "nomBeneficiaire": beneficiary,
        "lien": relationship,
        "dateCreation": dt.date.fromordinal(created).isoformat(),
        "dateMaladie": dt.date.fromordinal(ill).isoformat(),
        "nomSociete": person.company,
        "totalPec": amount_out(total, as_text=as_text),
        "items": acts,
    }


# -- changes on the platform's side ----------------------------------------------------

AMOUNT = "amount"
STATUS = "status"
MIXED = "mixed"
CHANGE_FIELDS = (AMOUNT, STATUS, MIXED)


def change_bulletin(claim: dict[str, Any], rng: random.Random, what: str) -> str:
    """Change one claim in place as the platform's staff would; returns what changed.

    "amount": one act's pec moves (and its participationAdherent, and the
    claim's totalPec with it), keeping the claim's amount shape; "status":
    the etat becomes another one. A claim whose amounts cannot be read (or
    that has no act) gets a new status instead.
    """
    if what == MIXED:
        what = rng.choice((AMOUNT, STATUS))
    if what == AMOUNT and _change_amount(claim, rng):
        return AMOUNT
    current = claim.get("etat")
    claim["etat"] = rng.choice([state for state in BS_STATES if state != current])
    return STATUS


def _change_amount(claim: dict[str, Any], rng: random.Random) -> bool:
    acts = claim.get("items") or []
    try:
        covered = [amount_in(act["pec"]) for act in acts]
        spent = [amount_in(act["depense"]) for act in acts]
    except (KeyError, TypeError, ValueError):
        return False
    if not acts:
        return False
    index = rng.randrange(len(acts))
    if spent[index] < 5:
        return False  # nothing to move a covered amount within
    act = acts[index]
    as_text = isinstance(act["pec"], str)
    # Another covered amount between nothing and everything spent.
    choices = spent[index] // 5 + 1
    new = 5 * rng.randrange(choices)
    if new == covered[index]:
        new = covered[index] - 5 if covered[index] >= 5 else covered[index] + 5
    covered[index] = new
    act["pec"] = amount_out(new, as_text=as_text)
    act["participationAdherent"] = amount_out(spent[index] - new, as_text=as_text)
    claim["totalPec"] = amount_out(sum(covered), as_text=isinstance(claim.get("totalPec"), str))
    return True


# -- invalid records -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Defect:
    kind: str
    record: str  # "bordereau", "bulletin" or "item": where the defect is
    field: str
    value: Any


# kind -> (the records it may be put in, the default first).
INVALID_KINDS = {
    "missing_reference": ("bordereau",),
    "missing_client_code": ("bordereau",),
    "unknown_status": ("bordereau", "bulletin"),
    "bad_amount": ("bulletin", "item"),
    "bad_date": ("bordereau", "bulletin", "item"),
    "missing_bs_number": ("bulletin",),
}
UNKNOWN_BORDEREAU_STATUS = "EN_VERIFICATION"
UNKNOWN_BS_STATE = "A_VERIFIER"
# A comma for the decimal point: what a French-locale export writes.
BAD_AMOUNT = "12,500"
# The 30th of February: the right shape, not a date.
BAD_DATE = "2026-02-30"


def defect_for(kind: str, record: str | None) -> Defect:
    """The defect of `kind` in `record` (its default when None); ValueError if none."""
    if kind not in INVALID_KINDS:
        raise ValueError(f"kind must be one of: {', '.join(INVALID_KINDS)}")
    places = INVALID_KINDS[kind]
    record = record or places[0]
    if record not in places:
        raise ValueError(f"a {kind} defect goes in: {', '.join(places)}")
    fields = {
        ("missing_reference", "bordereau"): ("reference", None),
        ("missing_client_code", "bordereau"): ("client.code", None),
        ("unknown_status", "bordereau"): ("statut", UNKNOWN_BORDEREAU_STATUS),
        ("unknown_status", "bulletin"): ("etat", UNKNOWN_BS_STATE),
        ("bad_amount", "bulletin"): ("totalPec", BAD_AMOUNT),
        ("bad_amount", "item"): ("items[0].pec", BAD_AMOUNT),
        ("bad_date", "bordereau"): ("dateReception", BAD_DATE),
        ("bad_date", "bulletin"): ("dateMaladie", BAD_DATE),
        ("bad_date", "item"): ("items[0].datePrestation", BAD_DATE),
        ("missing_bs_number", "bulletin"): ("numBs", None),
    }
    field, value = fields[(kind, record)]
    return Defect(kind=kind, record=record, field=field, value=value)


def apply_defect(defect: Defect, record: dict[str, Any], claim: dict[str, Any]) -> None:
    """Put the defect in the bordereau's record or in its first claim, in place."""
    if defect.record == "bordereau":
        if defect.field == "client.code":
            # The name stays: an importer matching clients by name would take it.
            record["client"] = {**record["client"], "code": defect.value}
        else:
            record[defect.field] = defect.value
    elif defect.record == "bulletin":
        claim[defect.field] = defect.value
    else:
        claim["items"][0][defect.field.removeprefix("items[0].")] = defect.value
