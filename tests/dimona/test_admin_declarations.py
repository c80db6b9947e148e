"""The declarations' list and page: a long error fits its column, times carry
their zone, and each declaration links to its operations and audit rows."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.dimona import services
from apps.dimona.models import DimonaDeclaration
from tests.dimona.factories import ShiftFactory, brussels

pytestmark = pytest.mark.django_db

DECLARATIONS = reverse("admin:dimona_dimonadeclaration_changelist")
LONG_ERROR = "Period 555000000001 found at the ONSS (refused as a duplicate) " + "x" * 200


def test_it_cuts_a_long_last_error_and_keeps_it_whole_in_the_tooltip(manager_client):
    DimonaDeclaration.objects.create(shift=ShiftFactory(), kind="in", error=LONG_ERROR)

    page = manager_client.get(DECLARATIONS)

    text = page.content.decode()
    assert f'title="{LONG_ERROR}"' in text
    assert f">{LONG_ERROR[:60]}…</span>" in text
    assert "last error" in text.lower()


def test_it_shows_times_with_their_zone(manager_client):
    DimonaDeclaration.objects.create(shift=ShiftFactory(), kind="in",
                                     created_at=brussels(2026, 11, 22, 20))

    page = manager_client.get(DECLARATIONS)

    assert "20:00 CET" in page.content.decode()


def test_it_links_a_declaration_to_its_operations_and_audit_rows(manager_client, onss):
    onss.accept_posts()
    declaration = services.shift_declare(shift=ShiftFactory())

    page = manager_client.get(reverse("admin:dimona_dimonadeclaration_change",
                                      args=[declaration.pk]))

    text = page.content.decode()
    assert f"entity_type=dimona.declaration&amp;entity_id={declaration.pk}" in text
    assert reverse("admin:core_outboundoperation_changelist") in text
    assert reverse("admin:core_synclog_changelist") in text
