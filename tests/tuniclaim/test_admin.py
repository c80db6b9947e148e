"""The MY TUNICLAIM back-office: every page opens for a manager, imported records are
read-only (no add, no delete, no edit), and the insured's and beneficiary's names are
masked in the lists and on the pages alike."""

from __future__ import annotations

from decimal import Decimal

import factory
import pytest
from django.urls import reverse
from django.utils import timezone

from apps.core.admin_display import masked_value
from apps.core.connections import connection_default
from apps.core.models import SyncRun
from apps.tuniclaim.client import PLATFORM
from apps.tuniclaim.imports import IMPORT_KIND
from apps.tuniclaim.models import (
    Bordereau,
    BulletinSoin,
    Client,
    Contract,
    QuarantinedRecord,
)
from tests.tuniclaim.factories import (
    BordereauFactory,
    BulletinSoinFactory,
    BulletinSoinItemFactory,
    ClientFactory,
    QuarantinedRecordFactory,
)

pytestmark = pytest.mark.django_db

INSURED = "Mohamed Ben Salah"
BENEFICIARY = "Amira Ben Salah"


# -- rows (helper B's factories), with the names this file checks are masked -------------

def make_client(code: str = "", name: str = "STAR Assurances") -> Client:
    return ClientFactory(**({"code": code} if code else {}), name=name)


def make_bordereau(*, client: Client | None = None, **values) -> Bordereau:
    return BordereauFactory(**({"client": client} if client else {}), **values)


def make_bulletin(*, bordereau: Bordereau | None = None, items: int = 1,
                  **values) -> BulletinSoin:
    values = {"insured_name": INSURED, "beneficiary_name": BENEFICIARY,
              "amount_claimed": Decimal("150.500"), "amount_covered": Decimal("120.400"),
              **values}
    bulletin = BulletinSoinFactory(**({"bordereau": bordereau} if bordereau else {}), **values)
    for line in range(1, items + 1):
        BulletinSoinItemFactory(bulletin=bulletin, line_number=line, chapter="Médecine",
                                amount_claimed=Decimal("75.250"),
                                amount_covered=Decimal("60.200"),
                                member_share=Decimal("15.050"))
    return bulletin


def make_quarantined(**values) -> QuarantinedRecord:
    defaults = {"reason": QuarantinedRecord.Reason.BAD_AMOUNT,
                "detail": "totalPec: 12,5 is not an amount",
                "payload": factory.LazyAttribute(lambda record: {
                    "numBs": record.record_key, "nomAssure": INSURED,
                    "nomBeneficiaire": BENEFICIARY, "totalPec": "12,5"})}
    return QuarantinedRecordFactory(**{**defaults, **values})


def make_run(**values) -> SyncRun:
    """A finished import run, unless told `status=SyncRun.Status.RUNNING` (one at a time)."""
    defaults = {"kind": IMPORT_KIND, "connection": connection_default(platform=PLATFORM),
                "trigger": SyncRun.Trigger.AUTOMATIC, "status": SyncRun.Status.SUCCESS,
                "finished_at": timezone.now()}
    return SyncRun.objects.create(**{**defaults, **values})


def admin_url(model, view: str, *args) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


@pytest.fixture
def rows():
    bulletin = make_bulletin(items=2)
    bordereau = bulletin.bordereau
    return {Client: bordereau.client, Contract: bordereau.contract, Bordereau: bordereau,
            BulletinSoin: bulletin, QuarantinedRecord: make_quarantined(run=make_run())}


MODELS = [Client, Contract, Bordereau, BulletinSoin, QuarantinedRecord]


# -- every page --------------------------------------------------------------------------------

@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_it_opens_every_page_for_a_manager(manager_client, rows, model):
    assert manager_client.get(admin_url(model, "changelist")).status_code == 200
    assert manager_client.get(admin_url(model, "change", rows[model].pk)).status_code == 200


def test_it_opens_the_app_index_with_a_link_to_the_sync_page(manager_client, rows):
    response = manager_client.get(reverse("admin:app_list", args=["tuniclaim"]))

    assert response.status_code == 200
    assert reverse("admin:tuniclaim_sync") in response.content.decode()


def test_the_bordereaux_list_links_to_the_sync_page(manager_client, rows):
    page = manager_client.get(admin_url(Bordereau, "changelist")).content.decode()

    assert reverse("admin:tuniclaim_sync") in page


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_it_offers_no_add_and_no_delete_of_imported_records(manager_client, rows, model):
    """The import owns them: a record added or deleted by hand would be undone silently."""
    obj = rows[model]

    assert manager_client.get(admin_url(model, "add")).status_code == 403
    assert manager_client.get(admin_url(model, "delete", obj.pk)).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_an_object_page_is_never_saved_from_a_form(manager_client, rows, model):
    obj = rows[model]
    before = model.objects.filter(pk=obj.pk).values().get()

    response = manager_client.post(admin_url(model, "change", obj.pk),
                                   {"reference": "HACKED", "status": "validated",
                                    "code": "HACKED", "number": "HACKED", "reason": "bad_date"})

    assert response.status_code == 403
    assert model.objects.filter(pk=obj.pk).values().get() == before


def test_a_claims_page_shows_its_platform_fields_read_only_with_its_care_acts(manager_client,
                                                                             rows):
    bulletin = rows[BulletinSoin]

    response = manager_client.get(admin_url(BulletinSoin, "change", bulletin.pk))

    page = response.content.decode()
    assert response.context["adminform"].form.fields == {}
    assert 'name="platform_status"' not in page and 'name="amount_covered"' not in page
    assert page.count("Consultation") == 2
    # Amounts to the millime, as stored.
    assert "150.500" in page and "120.400" in page and "15.050" in page


# -- masking ------------------------------------------------------------------------------------

def test_it_masks_the_names_in_the_claims_list_and_on_the_claims_page(manager_client, rows):
    bulletin = rows[BulletinSoin]

    listed = manager_client.get(admin_url(BulletinSoin, "changelist")).content.decode()
    page = manager_client.get(admin_url(BulletinSoin, "change", bulletin.pk)).content.decode()

    assert masked_value(INSURED) in listed
    assert masked_value(INSURED) in page and masked_value(BENEFICIARY) in page
    for shown in (listed, page):
        assert INSURED not in shown and BENEFICIARY not in shown
        assert "Ben Salah" not in shown


def test_it_masks_the_names_in_a_quarantined_records_payload(manager_client, rows):
    record = rows[QuarantinedRecord]

    page = manager_client.get(admin_url(QuarantinedRecord, "change", record.pk)).content.decode()

    assert INSURED not in page and BENEFICIARY not in page
    # The rest of the record, as received, to see what was wrong.
    assert "12,5" in page and "totalPec" in page and record.record_key in page


# -- lists and their filters ------------------------------------------------------------------

def test_the_bordereaux_list_shows_its_columns_and_links_to_its_claims(manager_client, rows):
    bordereau = rows[Bordereau]

    page = manager_client.get(admin_url(Bordereau, "changelist")).content.decode()

    assert bordereau.reference in page and bordereau.client.code in page
    assert 'data-status="in_progress"' in page and "EN_COURS" in page
    assert f"?bordereau={bordereau.pk}" in page


def test_the_claims_list_filters_by_bordereau_client_status_and_payment(manager_client):
    wanted = make_bulletin(status=BulletinSoin.Status.VALIDATED,
                           payment_status=BulletinSoin.PaymentStatus.EXECUTED)
    other = make_bulletin()
    changelist = admin_url(BulletinSoin, "changelist")

    def listed(query: str) -> set[str]:
        response = manager_client.get(f"{changelist}?{query}")
        assert response.status_code == 200
        return {bulletin.number for bulletin in response.context["cl"].result_list}

    assert listed(f"bordereau={wanted.bordereau_id}") == {wanted.number}
    assert listed(f"client={wanted.bordereau.client_id}") == {wanted.number}
    assert listed("status__exact=validated") == {wanted.number}
    assert listed("payment_status__exact=EXECUTE") == {wanted.number}
    assert listed(f"q={other.insured_code}") == {other.number}
    assert listed(f"q={wanted.number}") == {wanted.number}


def test_the_bordereaux_list_filters_by_client_and_finds_a_reference(manager_client):
    star = make_bordereau(client=make_client(code="CLI-STAR"))
    make_bordereau(client=make_client(code="CLI-GAT"))
    changelist = admin_url(Bordereau, "changelist")

    by_client = manager_client.get(f"{changelist}?client={star.client_id}")
    by_reference = manager_client.get(f"{changelist}?q={star.reference}")

    assert [b.pk for b in by_client.context["cl"].result_list] == [star.pk]
    assert [b.pk for b in by_reference.context["cl"].result_list] == [star.pk]


def test_the_quarantine_shows_open_records_unless_asked(manager_client):
    waiting = make_quarantined()
    taken = make_quarantined(released_at=timezone.now())
    changelist = admin_url(QuarantinedRecord, "changelist")

    default = manager_client.get(changelist).context["cl"].result_list
    released = manager_client.get(f"{changelist}?state=released").context["cl"].result_list

    assert [r.pk for r in default] == [waiting.pk]
    assert [r.pk for r in released] == [taken.pk]


def test_the_clients_page_links_to_the_clients_bordereaux(manager_client, rows):
    client = rows[Client]

    page = manager_client.get(admin_url(Client, "changelist")).content.decode()

    assert f"/admin/tuniclaim/bordereau/?client={client.pk}" in page
