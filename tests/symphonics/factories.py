"""Factories of the Symphonics tests, and the contract's create payload."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import factory
from django.utils import timezone

from apps.symphonics.models import (
    Intervention,
    InterventionDocument,
    InterventionPhoto,
    InterventionService,
)

# The create example of the contract (seed 001), exactly as written there.
CONTRACT_PAYLOAD: dict[str, Any] = {
    "customer": {"first_name": "Thomas", "last_name": "Martin",
                 "email": "thomas.martin@example.com", "phone": "+33612345678"},
    "installation": {"address": "45 Rue des Fleurs", "postal_code": "75015", "city": "Paris",
                     "pdl": "12345678901234", "pce": "98765432109876"},
    "services": [{"code": "BAR-TH-173", "name": "Régulateur de ballon d'eau chaude",
                  "quantity": 1}],
    "equipment": [{"name": "Régulateur Thaléos", "model": "RT-2000",
                   "serial_number": "TH2023456789", "quantity": 1}],
    "documents": [
        {"type": "invoice", "name": "Facture - Thomas Martin - 25/03/2025",
         "url": "https://app.workforce-automation.com/documents/int_12345678/invoice.pdf"},
        {"type": "attestation_honneur",
         "name": "Attestation d'Honneur - Thomas Martin - 25/03/2025",
         "url": "https://app.workforce-automation.com/documents/int_12345678/ah.pdf"},
        {"type": "contract", "name": "Contrat Symphonics - Thomas Martin - 25/03/2025",
         "url": "https://app.workforce-automation.com/documents/int_12345678/contract.pdf"},
    ],
    "photos": [
        {"type": "before",
         "url": "https://app.workforce-automation.com/photos/int_12345678/before_1.jpg",
         "coordinates": {"latitude": 48.856614, "longitude": 2.352222},
         "timestamp": "2025-03-25T10:30:00Z"},
        {"type": "after",
         "url": "https://app.workforce-automation.com/photos/int_12345678/after_1.jpg",
         "coordinates": {"latitude": 48.856614, "longitude": 2.352222},
         "timestamp": "2025-03-25T11:15:00Z"},
    ],
    "installer": {"id": "usr_87654321", "company_id": "cmp_12345678", "name": "Jean Dupont"},
    "completion_date": "2025-03-25T11:30:00Z",
    "external_id": "int_12345678",
}

PROOF = {"type": "additional_proof", "name": "Preuve supplémentaire - Thomas Martin",
         "url": "https://app.workforce-automation.com/documents/int_12345678/proof.pdf"}


def create_payload(external_id: str = "int_12345678", **changes: Any) -> dict[str, Any]:
    """The contract's example with another external id and top-level changes."""
    body = copy.deepcopy(CONTRACT_PAYLOAD)
    body["external_id"] = external_id
    body.update(changes)
    return body


def iso_now(offset_seconds: float = 0) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=offset_seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class InterventionFactory(factory.django.DjangoModelFactory):
    """A complete intervention, ready to publish (services, documents, photos)."""

    class Meta:
        model = Intervention
        skip_postgeneration_save = True

    external_id = factory.Sequence(lambda n: f"int_test_{n:05d}")
    customer_first_name = "Thomas"
    customer_last_name = factory.Sequence(lambda n: f"Martin{n}")
    customer_email = factory.Sequence(lambda n: f"customer{n}@example.com")
    customer_phone = "+33612345678"
    address = "45 Rue des Fleurs"
    postal_code = "75015"
    city = "Paris"
    pdl = "12345678901234"
    installer_user_id = "usr_87654321"
    installer_company_id = "cmp_12345678"
    installer_name = "Jean Dupont"
    completion_date = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))

    class Params:
        # Symphonics has it and is verifying its documents.
        published = factory.Trait(
            status=Intervention.Status.PROCESSING,
            remote_status="processing",
            symphonics_id=factory.Sequence(lambda n: f"sym_{n:08d}"),
            remote_status_at=factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=5)),
            published_at=factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=6)),
            synced_at=factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=5)),
        )

    @factory.post_generation
    def dossier(obj, create, extracted, **kwargs):
        """The children a publishable intervention has; `dossier=False` for none."""
        if not create or extracted is False:
            return
        sent_at = timezone.now() if obj.symphonics_id else None
        InterventionServiceFactory(intervention=obj)
        for kind in ("invoice", "attestation_honneur"):
            InterventionDocumentFactory(intervention=obj, kind=kind, sent_at=sent_at)
        for kind in ("before", "after"):
            InterventionPhotoFactory(intervention=obj, kind=kind)


class InterventionServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InterventionService

    code = "BAR-TH-173"
    name = "Système de régulation par programmation horaire pièce par pièce"
    quantity = 1


class InterventionDocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InterventionDocument

    kind = InterventionDocument.Kind.INVOICE
    name = factory.LazyAttribute(lambda d: f"{d.kind} of {d.intervention.external_id}")
    url = factory.LazyAttribute(
        lambda d: f"https://docs.example.com/{d.intervention.external_id}/{d.kind}.pdf")


class InterventionPhotoFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InterventionPhoto

    kind = InterventionPhoto.Kind.BEFORE
    url = factory.LazyAttribute(
        lambda p: f"https://photos.example.com/{p.intervention.external_id}/{p.kind}.jpg")
    latitude = 48.856614
    longitude = 2.352222
    taken_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=2))
