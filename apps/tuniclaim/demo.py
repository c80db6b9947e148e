"""Demo data: three claim batches as MY TUNICLAIM sends them, imported
through the import's own parsing and writing path (not over HTTP).

One BS carries a status the mapping does not know, so the quarantine and
its attention item have something to show. Loading twice changes nothing:
the second load finds every record unchanged.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from apps.core.models import SyncRun
from apps.core.sync import sync_run_start
from apps.tuniclaim.client import tuniclaim_connection
from apps.tuniclaim.imports import import_records

DEMO_KIND = "tuniclaim.demo"


def _item(product: str, chapter: str, provider: str, day: str, spent: str, covered: str
          ) -> dict[str, Any]:
    return {"nomProduit": product, "quantite": 1, "nomChapitre": chapter,
            "nomPrestataire": provider, "datePrestation": day, "depense": spent, "pec": covered,
            "participationAdherent": str(Decimal(spent) - Decimal(covered)),
            "codeMessage": "", "message": ""}


def _bs(number: str, status: str, insured_code: str, insured: str, beneficiary: str,
        relationship: str, day: str, company: str, items: list[dict[str, Any]]
        ) -> dict[str, Any]:
    return {"numBs": number, "etat": status, "codeAssure": insured_code, "nomAssure": insured,
            "nomBeneficiaire": beneficiary, "lien": relationship, "dateCreation": day,
            "dateMaladie": day, "nomSociete": company,
            "totalPec": sum_text(item["pec"] for item in items), "items": items}


def sum_text(amounts) -> str:
    return str(sum((Decimal(amount) for amount in amounts), Decimal("0.000")))


BORDEREAUX: list[dict[str, Any]] = [
    {"id": "demo-1001", "reference": "BR-DEMO-2025-001",
     "client": {"code": "CLI-STAR", "name": "STAR Assurances"},
     "contract": {"number": "GRP-2025-014", "delaiReglement": 10, "delaiReclamation": 30},
     "dateReception": "2025-03-03", "nombreBS": 2, "prestataire": "Clinique Les Oliviers",
     "statut": "EN_COURS", "updatedAt": "2025-03-04T09:15:00+01:00"},
    {"id": "demo-1002", "reference": "BR-DEMO-2025-002",
     "client": {"code": "CLI-STAR", "name": "STAR Assurances"},
     "contract": {"number": "GRP-2025-014", "delaiReglement": 10, "delaiReclamation": 30},
     "dateReception": "2025-03-05", "nombreBS": 1, "prestataire": "Pharmacie Ennasr",
     "statut": "A_AFFECTER", "updatedAt": "2025-03-05T16:40:00+01:00"},
    {"id": "demo-1003", "reference": "BR-DEMO-2025-003",
     "client": {"code": "CLI-COMAR", "name": "COMAR"},
     "contract": {"number": "SANTE-77", "delaiReglement": 5, "delaiReclamation": 15},
     "dateReception": "2025-03-06", "nombreBS": 2, "prestataire": "Centre Optique Lac",
     "statut": "SCAN_TERMINE", "updatedAt": "2025-03-06T11:05:00+01:00"},
]

BULLETINS: dict[str, list[dict[str, Any]]] = {
    "demo-1001": [
        _bs("BS-0001", "EN_COURS", "MAT-48213", "Ahmed Ben Salah", "Ahmed Ben Salah", "ASSURE",
            "2025-02-20", "Tunisie Telecom", [
                _item("Consultation généraliste", "Consultations", "Dr Slim Trabelsi",
                      "2025-02-20", "45.000", "36.000"),
                _item("Amoxicilline 1 g", "Pharmacie", "Pharmacie Ennasr", "2025-02-20",
                      "12.850", "10.280")]),
        _bs("BS-0002", "VALIDATED", "MAT-48213", "Ahmed Ben Salah", "Leila Ben Salah",
            "CONJOINT", "2025-02-22", "Tunisie Telecom", [
                _item("Échographie abdominale", "Radiologie", "Clinique Les Oliviers",
                      "2025-02-22", "120.000", "96.000")]),
    ],
    "demo-1002": [
        _bs("BS-0003", "IN_PROGRESS", "MAT-51007", "Mariem Jlassi", "Youssef Jlassi", "ENFANT",
            "2025-03-01", "Poulina Group", [
                _item("Vaccin ROR", "Pharmacie", "Pharmacie Ennasr", "2025-03-01", "38.500",
                      "38.500")]),
    ],
    "demo-1003": [
        _bs("BS-0004", "MIS_EN_INSTANCE", "MAT-60342", "Karim Haddad", "Karim Haddad",
            "ASSURE", "2025-03-02", "Délice Danone", [
                _item("Verres progressifs", "Optique", "Centre Optique Lac", "2025-03-02",
                      "650.000", "400.000"),
                _item("Monture", "Optique", "Centre Optique Lac", "2025-03-02", "180.000",
                      "90.000")]),
        # A status the reviewed table does not know: it goes to the quarantine.
        _bs("BS-0005", "EN_EXPERTISE", "MAT-60342", "Karim Haddad", "Sonia Haddad",
            "CONJOINT", "2025-03-03", "Délice Danone", [
                _item("Détartrage", "Dentaire", "Dr Amel Gharbi", "2025-03-03", "60.000",
                      "42.000")]),
    ],
}


def demo_load() -> str:
    run, started = sync_run_start(kind=DEMO_KIND, connection=tuniclaim_connection(),
                                  trigger=SyncRun.Trigger.MANUAL, direction="inbound")
    if not started:
        return "a demo load is already running"
    run = import_records(run=run, records=BORDEREAUX,
                         bulletins_of=lambda external_id: BULLETINS.get(external_id, []))
    return (f"{len(BORDEREAUX)} claim batches: {run.created} records created, "
            f"{run.updated} updated, {run.unchanged} unchanged, {run.invalid} quarantined")
