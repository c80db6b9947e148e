"""The back-office's RestoSync forms speak the manager's language the same way
everywhere: entity types by their names, not the engine's identifiers, and
every label capitalised as Django capitalises those it takes from a model."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.text import capfirst

from apps.restosync.admin import (
    CustomerForm,
    DiningServiceForm,
    PlatformConfigForm,
    ReservationForm,
)
from apps.restosync.models import (
    ENTITY_SERVICE,
    SYNC_ENTITIES,
    DiningService,
    Reservation,
)
from tests.restosync.factories import make_config

pytestmark = pytest.mark.django_db

FORMS = [CustomerForm, DiningServiceForm, PlatformConfigForm, ReservationForm]


@pytest.mark.parametrize("language", ["en", "fr", "nl"])
def test_it_names_the_entity_types_as_the_models_do(language):
    with translation.override(language):
        for name in ("master_for", "sync_entities"):
            choices = {value: str(label)
                       for value, label in PlatformConfigForm.base_fields[name].choices}
            assert list(choices) == list(SYNC_ENTITIES)
            assert choices[ENTITY_SERVICE] == str(
                capfirst(DiningService._meta.verbose_name_plural))
            assert "dining_service" not in choices.values()


def test_the_french_configuration_page_shows_the_entity_names(manager_client):
    config = make_config()

    with translation.override("fr"):
        page = manager_client.get(
            reverse("admin:restosync_syncplatformconfig_change", args=[config.pk]),
            headers={"accept-language": "fr"})
        services = str(capfirst(DiningService._meta.verbose_name_plural))
        reservations = str(capfirst(Reservation._meta.verbose_name_plural))

    content = page.content.decode()
    assert page.status_code == 200
    assert services != "Dining services"  # the French catalogue has it
    assert f"{services}</label>" in content and f"{reservations}</label>" in content
    assert "dining_service</label>" not in content


@pytest.mark.parametrize("language", ["en", "fr", "nl"])
@pytest.mark.parametrize("form", FORMS, ids=lambda form: form.__name__)
def test_every_label_of_a_form_starts_with_a_capital(form, language):
    with translation.override(language):
        labels = {name: str(field.label) for name, field in form.base_fields.items()}

    lower = {name: label for name, label in labels.items() if label[:1].islower()}
    assert not lower, f"{form.__name__} ({language}): {lower}"
