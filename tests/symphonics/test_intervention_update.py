"""Correcting an intervention before Symphonics has it goes through one service."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.core.errors import ServiceError
from apps.symphonics.models import Intervention
from apps.symphonics.services import intervention_update
from tests.symphonics.factories import InterventionFactory
from tests.symphonics.helpers import change_form_data

pytestmark = pytest.mark.django_db


def test_it_saves_a_correction_checked_by_the_models_validators():
    intervention = InterventionFactory(city="Lyon")

    intervention_update(intervention=intervention, changes={"city": "Lille"})

    intervention.refresh_from_db()
    assert intervention.city == "Lille"


def test_it_refuses_a_value_the_model_refuses_and_keeps_the_stored_one():
    intervention = InterventionFactory()

    with pytest.raises(ServiceError) as excinfo:
        intervention_update(intervention=intervention, changes={"customer_phone": "0612"})

    assert excinfo.value.code == "validation_error"
    assert "customer_phone" in excinfo.value.details
    intervention.refresh_from_db()
    assert intervention.customer_phone == "+33612345678"


def test_it_refuses_fields_a_person_may_not_correct():
    intervention = InterventionFactory()

    with pytest.raises(ServiceError) as excinfo:
        intervention_update(intervention=intervention, changes={"symphonics_id": "sym_1"})

    assert list(excinfo.value.details) == ["symphonics_id"]


def test_it_refuses_an_intervention_symphonics_already_has():
    intervention = InterventionFactory(status=Intervention.Status.CREATED, symphonics_id="s1")

    with pytest.raises(ServiceError) as excinfo:
        intervention_update(intervention=intervention, changes={"city": "Lille"})

    assert excinfo.value.status == 409
    intervention.refresh_from_db()
    assert intervention.city != "Lille"


def test_the_change_page_saves_through_the_service(manager_client, monkeypatch):
    from apps.symphonics import services

    calls = []
    real = services.intervention_update
    monkeypatch.setattr(services, "intervention_update",
                        lambda **kwargs: calls.append(kwargs) or real(**kwargs))
    intervention = InterventionFactory(city="Lyon")
    url = reverse("admin:symphonics_intervention_change", args=[intervention.pk])
    data = change_form_data(manager_client.get(url))
    data["city"] = "Lille"

    response = manager_client.post(url, data)

    assert response.status_code == 302
    assert calls and calls[0]["changes"]["city"] == "Lille"
