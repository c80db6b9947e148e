"""Demo data: two completed interventions waiting for a manager to publish them.

With the simulator, the first one is approved after its documents are
verified; the second has a document the simulator rejects (its name says
"reject"), so Symphonics asks for additional proof.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from apps.symphonics.models import Intervention
from apps.symphonics.services import intervention_create

DOCUMENTS_URL = "https://app.workforce-automation.com/documents"
PHOTOS_URL = "https://app.workforce-automation.com/photos"
DEMO = [
    # (external id, first name, last name, e-mail, PDL, attestation name)
    ("demo_int_0001", "Thomas", "Martin", "thomas.martin@example.com", "12345678901234",
     "Attestation d'honneur - Thomas Martin"),
    ("demo_int_0002", "Claire", "Lefebvre", "claire.lefebvre@example.com", "34567890123456",
     "Attestation d'honneur - Claire Lefebvre (scan to reject)"),
]


def demo_load() -> str:
    created = 0
    completed = timezone.now() - timedelta(hours=2)
    for external_id, first, last, email, pdl, attestation in DEMO:
        if Intervention.objects.filter(external_id=external_id).exists():
            continue
        intervention_create(
            external_id=external_id,
            customer_first_name=first, customer_last_name=last, customer_email=email,
            customer_phone="+33612345678",
            address="45 Rue des Fleurs", postal_code="75015", city="Paris", pdl=pdl,
            installer_user_id="usr_87654321", installer_company_id="cmp_12345678",
            installer_name="Jean Dupont", completion_date=completed,
            services=[{"code": "BAR-TH-173", "quantity": 1,
                       "name": "Système de régulation par programmation horaire pièce par pièce"}],
            equipment=[{"name": "Régulateur Thaléos", "model": "RT-2000",
                        "serial_number": f"TH{external_id[-4:]}2025", "quantity": 1}],
            documents=[
                {"kind": "invoice", "name": f"Facture - {first} {last}",
                 "url": f"{DOCUMENTS_URL}/{external_id}/invoice.pdf"},
                {"kind": "attestation_honneur", "name": attestation,
                 "url": f"{DOCUMENTS_URL}/{external_id}/ah.pdf"},
            ],
            photos=[
                {"kind": kind, "url": f"{PHOTOS_URL}/{external_id}/{kind}_1.jpg",
                 "latitude": 48.841, "longitude": 2.292, "taken_at": completed - offset}
                for kind, offset in (("before", timedelta(hours=1)), ("after", timedelta()))
            ],
            # A manager publishes them from the admin, to see each step.
            publish=False,
        )
        created += 1
    return f"{created} new intervention(s) ready to publish (of {len(DEMO)})"
