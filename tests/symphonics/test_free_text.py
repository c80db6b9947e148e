"""Control characters never reach Symphonics, whichever way the text comes in."""

from __future__ import annotations

from typing import Any

import pytest
import responses
from django import forms
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from apps.core.models import OutboundOperation
from apps.symphonics.models import Intervention
from tests.symphonics.factories import PROOF, InterventionFactory

pytestmark = pytest.mark.django_db

URL = "/api/symphonics/interventions/"
FUZZED = "\u001bÖ"
CONTROL = "Remove the control character"


def _details(response) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    return error["details"]


@responses.activate
@pytest.mark.parametrize(("change", "field"), [
    ({"customer_name": f"Mar{FUZZED}tin"}, "customer_name"),
    ({"address": {"street": "123 Rue\nde Paris", "postal_code": "75001", "city": "Paris"}},
     "address.street"),
    ({"address": {"street": "123 Rue de Paris", "postal_code": "75001", "city": "Pa\u0085ris"}},
     "address.city"),
], ids=["customer-name", "street", "city"])
def test_it_refuses_control_characters_in_a_pdl_lookup(api_client, change, field):
    body = {"address": {"street": "123 Rue de Paris", "postal_code": "75001", "city": "Paris"},
            "customer_name": "Martin", **change}

    details = _details(api_client.post("/api/symphonics/validate/pdl/lookup/", body,
                                       format="json"))

    assert any(CONTROL in message for message in details[field]), details
    assert len(responses.calls) == 0


@responses.activate
def test_it_refuses_an_email_to_validate_with_a_control_character(api_client):
    # EmailValidator alone takes a quoted local part with control characters.
    response = api_client.get('/api/symphonics/validate/user/"a%07b"@example.com/')

    assert "email" in _details(response)
    assert len(responses.calls) == 0


@pytest.mark.parametrize(("document", "field"), [
    ({**PROOF, "name": f"Preuve {FUZZED}"}, "documents[0].name"),
    ({**PROOF, "url": "https://example.com/proof\u001b.pdf"}, "documents[0].url"),
], ids=["name", "url"])
def test_it_refuses_a_document_to_add_with_a_control_character(api_client, document, field):
    intervention = InterventionFactory(published=True)

    details = _details(api_client.post(f"{URL}{intervention.pk}/add-documents/",
                                       {"documents": [document]}, format="json"))

    assert any(CONTROL in message for message in details[field]), details
    assert not intervention.documents.filter(kind="additional_proof").exists()
    assert not OutboundOperation.objects.exists()


def test_it_refuses_a_proof_with_a_control_character_from_the_admin_action(admin_client):
    intervention = InterventionFactory(published=True)

    response = admin_client.post(reverse("admin:symphonics_intervention_changelist"), {
        "action": "add_proof", ACTION_CHECKBOX_NAME: [intervention.pk], "apply": "1",
        "kind": "additional_proof", "name": f"Preuve {FUZZED}",
        "url": "https://docs.example.com/proof.pdf"}, follow=True)

    messages = " ".join(str(message) for message in response.context["messages"])
    assert f"documents[0].name: {CONTROL} U+001B" in messages
    assert not intervention.documents.filter(kind="additional_proof").exists()


def test_it_does_not_publish_text_stored_before_the_check(api_client):
    intervention = InterventionFactory()
    Intervention.objects.filter(pk=intervention.pk).update(installer_name=f"Jean {FUZZED}")
    intervention.services.update(name="Régulation\u0007")

    details = _details(api_client.post(f"{URL}{intervention.pk}/publish/"))

    assert set(details) == {"installer.name", "services[0].name"}
    assert not OutboundOperation.objects.exists()
    intervention.refresh_from_db()
    assert intervention.status == Intervention.Status.READY


def _form_data(form: forms.BaseForm) -> dict[str, Any]:
    """What the browser posts back for `form` as it was shown."""
    data: dict[str, Any] = {}
    for field in form:
        value = field.value()
        if isinstance(field.field.widget, forms.MultiWidget):
            for i, part in enumerate(field.field.widget.decompress(value)):
                data[f"{field.html_name}_{i}"] = "" if part is None else str(part)
        elif value is not None:
            data[field.html_name] = value
    return data


def _change_form_data(page) -> dict[str, Any]:
    data = _form_data(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(_form_data(formset.management_form))
        for form in formset.forms:
            data.update(_form_data(form))
    return data


def test_it_refuses_control_characters_in_the_admin_change_form(admin_client):
    intervention = InterventionFactory()
    url = reverse("admin:symphonics_intervention_change", args=[intervention.pk])
    data = _change_form_data(admin_client.get(url))
    data.update({"customer_first_name": f"Tho{FUZZED}mas",
                 "documents-0-name": "Facture\u0085 Martin"})

    page = admin_client.post(url, data)

    assert page.status_code == 200
    errors = page.context["adminform"].form.errors
    assert list(errors) == ["customer_first_name"]
    assert f"{CONTROL} U+001B at position 4" in errors["customer_first_name"][0]
    documents = next(inline.formset for inline in page.context["inline_admin_formsets"]
                     if inline.formset.prefix == "documents")
    assert CONTROL in documents.forms[0].errors["name"][0]
    intervention.refresh_from_db()
    assert intervention.customer_first_name == "Thomas"


def test_it_saves_the_admin_change_form_without_control_characters(admin_client):
    intervention = InterventionFactory()
    url = reverse("admin:symphonics_intervention_change", args=[intervention.pk])
    data = _change_form_data(admin_client.get(url))
    data.update({"customer_first_name": "Thomas-Émile", "city": "Saint-Étienne"})

    response = admin_client.post(url, data)

    assert response.status_code == 302, (
        response.context["adminform"].form.errors if response.context else response)
    intervention.refresh_from_db()
    assert (intervention.customer_first_name, intervention.city) == ("Thomas-Émile",
                                                                     "Saint-Étienne")
