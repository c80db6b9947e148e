"""How the back-office shows statuses, times and masked values, the same on every page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from apps.core.admin_display import (
    OPERATION_TONES,
    choice_badge,
    entity_url,
    local_time,
    masked_value,
    status_badge,
)
from apps.core.models import OutboundOperation
from tests.factories import OutboundOperationFactory, SyncLogFactory

# 13:05 UTC on 2 December 2026: 14:05 in Brussels (CET), 08:05 in New York (EST).
MOMENT = datetime(2026, 12, 2, 13, 5, tzinfo=UTC)


def test_it_writes_the_label_of_a_badge_beside_its_colour():
    badge = status_badge("dead", "Dead (needs a manager)", "error")

    assert 'class="hub-badge hub-badge--error"' in badge
    assert ">Dead (needs a manager)</span>" in badge
    assert 'data-status="dead"' in badge


def test_it_refuses_a_tone_it_has_no_style_for():
    with pytest.raises(ValueError, match="unknown badge tone"):
        status_badge("dead", "Dead", "red")


def test_it_labels_a_status_badge_in_the_readers_language():
    operation = OutboundOperation(state=OutboundOperation.State.PENDING)

    with translation.override("fr"):
        badge = choice_badge(operation, "state", OPERATION_TONES)
        label = str(OutboundOperation.State.PENDING.label)

    assert f">{label}</span>" in badge
    assert "hub-badge--pending" in badge


def test_it_shows_a_time_in_the_readers_zone_with_the_zone():
    with translation.override("fr"), timezone.override("Europe/Brussels"):
        brussels = local_time(MOMENT)
    with translation.override("fr"), timezone.override("America/New_York"):
        new_york = local_time(MOMENT)

    assert ">02/12/2026 14:05 CET</time>" in brussels
    assert 'title="Europe/Brussels"' in brussels
    assert ">02/12/2026 08:05 EST</time>" in new_york


def test_it_formats_a_time_in_the_readers_language():
    with translation.override("en"), timezone.override("Europe/Brussels"):
        shown = local_time(MOMENT)

    assert "02/12/2026 14:05" in shown
    assert "CET</time>" in shown


def test_it_shows_summer_time_by_its_own_name():
    with timezone.override("Europe/Brussels"):
        shown = local_time(datetime(2026, 7, 1, 12, 0, tzinfo=UTC))

    assert "CEST</time>" in shown


def test_it_shows_no_time_as_a_dash():
    assert local_time(None) == "—"


def test_it_masks_an_email_keeping_its_first_letter_and_domain():
    shown = masked_value("thomas.martin@example.com", kind="email")

    assert "thomas" not in shown
    assert "t" + "•" * 12 + "@example.com" in shown
    assert 'class="hub-masked"' in shown


def test_it_masks_a_phone_keeping_its_last_three_digits():
    shown = masked_value("+33612345678")

    assert "+33612345678" not in shown
    assert "•••••••••678" in shown


def test_it_shows_nothing_to_mask_as_a_dash():
    assert masked_value("") == "—"
    assert masked_value(None) == "—"


@pytest.mark.django_db
def test_it_links_only_entities_the_admin_shows():
    operation = OutboundOperationFactory()

    assert entity_url("core.outboundoperation", str(operation.pk)) == (
        f"{reverse('admin:core_entity')}?type=core.outboundoperation&id={operation.pk}")
    assert entity_url("thing", "1") == ""
    assert entity_url("nosuchapp.model", "1") == ""
    assert entity_url("core.outboundoperation", "") == ""


@pytest.mark.django_db
def test_it_shows_times_of_the_audit_log_with_their_zone(admin_client, settings):
    SyncLogFactory(created_at=MOMENT)

    page = admin_client.get(reverse("admin:core_synclog_changelist"),
                            HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    # The user chose no zone: the deployment's, Brussels, in French dates.
    assert settings.TIME_ZONE == "Europe/Brussels"
    assert ">02/12/2026 14:05 CET</time>" in page


@pytest.mark.django_db
def test_it_shows_each_breaker_as_a_labelled_badge(admin_client):
    page = admin_client.get(reverse("admin:platform-health")).content.decode()

    # No call has failed: every registered platform's breaker is closed.
    assert ('<span class="hub-badge hub-badge--ok" data-status="closed">'
            "closed: calls go through</span>") in page


def test_short_text_keeps_a_short_text_and_cuts_a_long_one_with_the_whole_in_its_tooltip():
    from apps.core.admin_display import EMPTY, short_text

    assert short_text("") == EMPTY
    assert short_text("timeout") == "timeout"
    cut = short_text("x" * 100, 10)
    assert cut == f'<span title="{"x" * 100}">{"x" * 10}…</span>'
