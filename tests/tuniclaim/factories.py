"""Factories for MY TUNICLAIM: our rows, and the platform's records as the
wire carries them (plain dicts, for `responses` bodies and the importer)."""

from __future__ import annotations

import itertools
import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import factory

from apps.core.bulk import content_hash
from apps.tuniclaim.models import (
    Bordereau,
    BulletinSoin,
    BulletinSoinItem,
    Client,
    Contract,
    QuarantinedRecord,
)

_numbers = itertools.count(1)


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"CLI-{n:04d}")
    name = factory.Sequence(lambda n: f"Assurances {n}")


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contract

    client = factory.SubFactory(ClientFactory)
    number = factory.Sequence(lambda n: f"CTR-{n:04d}")
    settlement_days = 10
    claim_days = 30


class BordereauFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bordereau

    external_id = factory.Sequence(lambda n: f"b-{n}")
    reference = factory.Sequence(lambda n: f"BR-2025-{n:05d}")
    client = factory.SubFactory(ClientFactory)
    contract = factory.SubFactory(ContractFactory, client=factory.SelfAttribute("..client"))
    received_on = date(2025, 3, 3)
    declared_claims = 1
    status = Bordereau.Status.IN_PROGRESS
    platform_status = "EN_COURS"
    content_hash = factory.LazyAttribute(lambda o: content_hash(o.reference))


class BulletinSoinFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BulletinSoin

    bordereau = factory.SubFactory(BordereauFactory)
    number = factory.Sequence(lambda n: f"BS-{n:05d}")
    insured_code = factory.Sequence(lambda n: f"MAT-{n:05d}")
    insured_name = "Ahmed Ben Salah"
    beneficiary_name = "Leila Ben Salah"
    relationship = "CONJOINT"
    created_on = date(2025, 2, 20)
    amount_claimed = Decimal("120.000")
    amount_covered = Decimal("96.000")
    platform_status = "EN_COURS"
    status = BulletinSoin.Status.IN_PROGRESS
    content_hash = factory.LazyAttribute(lambda o: content_hash(o.number))


class BulletinSoinItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BulletinSoinItem

    bulletin = factory.SubFactory(BulletinSoinFactory)
    line_number = factory.Sequence(lambda n: n + 1)
    product = "Consultation"
    amount_claimed = Decimal("45.000")
    amount_covered = Decimal("36.000")


class QuarantinedRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QuarantinedRecord

    kind = QuarantinedRecord.Kind.BULLETIN
    bordereau_external_id = factory.Sequence(lambda n: f"b-{n}")
    record_key = factory.Sequence(lambda n: f"BS-Q{n}")
    reason = QuarantinedRecord.Reason.UNKNOWN_STATUS
    detail = "unknown BS status 'EN_EXPERTISE'"
    payload = factory.LazyAttribute(lambda o: {"numBs": o.record_key, "etat": "EN_EXPERTISE"})


# --- the platform's records -------------------------------------------------------

def item_record(**overrides: Any) -> dict[str, Any]:
    return {"nomProduit": "Consultation généraliste", "quantite": 1,
            "nomChapitre": "Consultations", "nomPrestataire": "Dr Slim Trabelsi",
            "datePrestation": "2025-02-20", "depense": "45.000", "pec": "36.000",
            "participationAdherent": "9.000", "codeMessage": "", "message": "", **overrides}


def bulletin_record(*, items: list[dict[str, Any]] | None = None,
                    **overrides: Any) -> dict[str, Any]:
    n = next(_numbers)
    return {"numBs": f"BS-{n:05d}", "etat": "EN_COURS", "codeAssure": f"MAT-{n:05d}",
            "nomAssure": "Ahmed Ben Salah", "nomBeneficiaire": "Ahmed Ben Salah",
            "lien": "ASSURE", "dateCreation": "2025-02-20", "dateMaladie": "2025-02-19",
            "nomSociete": "Tunisie Telecom", "totalPec": "36.000",
            "items": [item_record()] if items is None else items, **overrides}


def bordereau_record(**overrides: Any) -> dict[str, Any]:
    n = next(_numbers)
    return {"id": f"b-{n}", "reference": f"BR-2025-{n:05d}",
            "client": {"code": "CLI-STAR", "name": "STAR Assurances"},
            "contract": {"number": "GRP-2025-014", "delaiReglement": 10,
                         "delaiReclamation": 30},
            "dateReception": "2025-03-03", "nombreBS": 1, "prestataire": "Clinique Les Oliviers",
            "statut": "EN_COURS", "updatedAt": "2025-03-04T09:15:00+01:00", **overrides}


# --- a fake MY TUNICLAIM on `responses` ------------------------------------------

API_URL = "https://tuniclaim.test"


class FakePlatform:
    """The listing and bulletins endpoints served from lists, on `responses`:
    paginated like the platform, filtered by updatedSince, calls recorded."""

    def __init__(self, rsps: Any, *, base_url: str = API_URL, bare: bool = False) -> None:
        self.bordereaux: list[dict[str, Any]] = []
        self.bulletins: dict[str, list[dict[str, Any]]] = {}
        self.listing_calls: list[dict[str, str]] = []
        self.bulletin_calls: list[str] = []
        # Bordereau ids whose bulletins answer 500; listing pages that do.
        self.failing_bulletins: set[str] = set()
        self.failing_pages: set[int] = set()
        self.bare = bare
        rsps.add_callback("GET", re.compile(re.escape(base_url) + r"/api/bordereaux(\?.*)?$"),
                          callback=self._listing)
        rsps.add_callback("GET", re.compile(re.escape(base_url)
                                            + r"/api/bordereaux/([^/?]+)/bulletins$"),
                          callback=self._bulletins)

    def add(self, record: dict[str, Any] | None = None,
            bulletins: list[dict[str, Any]] | None = None, **overrides: Any) -> dict[str, Any]:
        bulletins = [bulletin_record()] if bulletins is None else bulletins
        if record is None:
            record = bordereau_record(**{"nombreBS": len(bulletins), **overrides})
        self.bordereaux.append(record)
        if isinstance(record, dict) and record.get("id") is not None:
            self.bulletins[str(record["id"])] = bulletins
        return record

    def _listing(self, request: Any) -> tuple[int, dict[str, str], str]:
        query = {key: values[0] for key, values in parse_qs(urlparse(request.url).query).items()}
        self.listing_calls.append(query)
        page, size = int(query.get("page", 1)), int(query.get("pageSize", 50))
        if page in self.failing_pages:
            return 500, {}, json.dumps({"message": "listing unavailable"})
        records = self.bordereaux
        since = query.get("updatedSince")
        if since:
            moment = datetime.fromisoformat(since)
            records = [r for r in records if isinstance(r, dict) and r.get("updatedAt")
                       and datetime.fromisoformat(r["updatedAt"]) >= moment]
        if self.bare:
            return 200, {}, json.dumps(records, default=str)
        total = max(1, -(-len(records) // size))
        chunk = records[(page - 1) * size: page * size]
        return 200, {}, json.dumps({"bordereaux": chunk, "page": page, "totalPages": total},
                                   default=str)

    def _bulletins(self, request: Any) -> tuple[int, dict[str, str], str]:
        external_id = unquote(urlparse(request.url).path.split("/")[-2])
        self.bulletin_calls.append(external_id)
        if external_id in self.failing_bulletins:
            return 500, {}, json.dumps({"message": "down"})
        if external_id not in self.bulletins:
            return 404, {}, json.dumps({"message": "no such bordereau"})
        return 200, {}, json.dumps(self.bulletins[external_id], default=str)
