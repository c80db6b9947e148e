"""Demo data: interventions a manager can publish from the admin on a first run."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.symphonics.demo import demo_load
from apps.symphonics.models import Intervention
from apps.symphonics.selectors import intervention_publication_problems

pytestmark = pytest.mark.django_db


def test_it_loads_publishable_interventions_once():
    first = demo_load()
    again = demo_load()

    assert first.startswith("2 new")
    assert again.startswith("0 new")
    interventions = list(Intervention.objects.all())
    assert {i.status for i in interventions} == {Intervention.Status.READY}
    assert all(intervention_publication_problems(i) == {} for i in interventions)


def test_it_loads_with_the_demo_command(capsys):
    call_command("setup_demo")

    assert "symphonics: 2 new intervention(s) ready to publish" in capsys.readouterr().out
