"""How a status Symphonics reported reads on the intervention's page (its
history rows): a sentence of the manager's language, at their time, zone named."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone

from apps.symphonics import models
from apps.symphonics.models import InterventionStatusChange

REPORTED = InterventionStatusChange(remote_status="approved",
                                    occurred_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC))


def test_it_reads_at_the_managers_time_with_the_zone():
    with timezone.override("Europe/Brussels"):
        assert str(REPORTED) == "approved at 2026-03-01 10:30:00 CET"


def test_it_is_a_sentence_the_catalogue_translates(monkeypatch):
    # The catalogue's French, as the translators give it: only the words around
    # Symphonics' status and the time are ours to translate.
    french = {"%(status)s at %(time)s": "%(status)s à %(time)s"}
    monkeypatch.setattr(models, "gettext", lambda msgid: french[msgid])

    with timezone.override("Europe/Brussels"):
        assert str(REPORTED) == "approved à 2026-03-01 10:30:00 CET"
