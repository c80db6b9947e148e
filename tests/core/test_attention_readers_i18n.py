"""The domains' readers of attention items and stored texts, in the reader's language.

A domain's change list and API show each row's newest open reason from
annotated columns (no item is loaded); a declaration's error and a status
change's note are English source texts saved on the record. A French reader
sees all of them in French; an empty text stays empty, never the
catalogue's header that gettext("") returns.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from apps.core.attention import attention_raise
from apps.core.attention_selectors import attention_open_for
from apps.core.models.attention import stored_text
from apps.core.preferences import user_preference_set
from apps.dimona import services as dimona_services
from apps.dimona.models import DimonaDeclaration, Shift
from tests.dimona.factories import ShiftFactory
from tests.symphonics.factories import InterventionFactory

pytestmark = pytest.mark.django_db

# Source texts of the catalogues, passed as the domains pass them (marked
# there; not marked here, so the tests add nothing to the catalogues).
REFUSED = "Dimona-%(kind)s refused: %(codes)s"
REFUSED_ENGLISH = "Dimona-in refused: 90374-349"
REFUSED_FRENCH = "Dimona-in refusée : 90374-349"
REJECTED = "Rejected by Symphonics: %(notes)s"
REJECTED_ENGLISH = "Rejected by Symphonics: Illegible"
REJECTED_FRENCH = "Rejetée par Symphonics : Illegible"
DUPLICATE = ("Refused as a duplicate of our own period, which was found at the ONSS and "
             "adopted; not sent again.")
DUPLICATE_FRENCH = ("Refusée comme doublon de notre propre période, retrouvée à l’ONSS et "
                    "reprise ; pas envoyée à nouveau.")
CREATED = "Created at Symphonics."
CREATED_FRENCH = "Créée chez Symphonics."


@pytest.fixture
def french_client(manager_client, manager_user):
    user_preference_set(user=manager_user, language="fr")
    return manager_client


def refused_shift(**shift_fields) -> Shift:
    shift = ShiftFactory(**shift_fields)
    # As a worker raises it: in English, whatever the language of its reader.
    with translation.override("en"):
        dimona_services.shift_attention_raise(
            shift=shift, kind=dimona_services.ATTENTION_REFUSED, summary=REFUSED,
            values={"kind": "in", "codes": "90374-349"})
    return shift


def rejected_intervention():
    intervention = InterventionFactory(published=True)
    with translation.override("en"):
        attention_raise(domain="symphonics", kind="symphonics.rejected", subject=intervention,
                        summary=REJECTED, values={"notes": "Illegible"})
    return intervention


def test_a_french_reader_sees_the_shifts_reason_in_french_in_the_list(french_client):
    refused_shift()

    html = french_client.get(reverse("admin:dimona_shift_changelist")).content.decode()

    assert f"⚠ {escape(REFUSED_FRENCH)}" in html
    assert REFUSED_ENGLISH not in html


def test_the_list_shows_no_reason_for_a_cancelled_shifts_stale_item(french_client):
    shift = refused_shift(status=Shift.Status.CANCELLED)
    DimonaDeclaration.objects.create(shift=shift, kind="cancel",
                                     status=DimonaDeclaration.Status.ACCEPTED, period_id="77")

    page = french_client.get(reverse("admin:dimona_shift_changelist"))

    [row] = page.context["cl"].result_list
    assert (row.needs_attention, row.attention_reason, row.attention_reason_msgid,
            row.attention_reason_values) == (False, "", "", None)
    assert escape(REFUSED_FRENCH) not in page.content.decode()


def test_a_french_reader_sees_the_interventions_reason_in_french_in_the_list(french_client):
    rejected_intervention()

    html = french_client.get(reverse("admin:symphonics_intervention_changelist")
                             ).content.decode()

    assert f"⚠ {escape(REJECTED_FRENCH)}" in html
    assert escape(REJECTED_ENGLISH) not in html


def test_the_shifts_api_answers_the_reason_in_the_requests_language(api_client):
    shift = refused_shift()

    french = api_client.get(f"/api/dimona/shifts/{shift.pk}/", HTTP_ACCEPT_LANGUAGE="fr").json()
    english = api_client.get("/api/dimona/shifts/", HTTP_ACCEPT_LANGUAGE="en").json()

    assert (french["needs_attention"], french["attention_reason"]) == (True, REFUSED_FRENCH)
    assert [row["attention_reason"] for row in english["results"]] == [REFUSED_ENGLISH]


def test_the_interventions_api_answers_the_reason_in_the_requests_language(api_client):
    intervention = rejected_intervention()

    french = api_client.get(f"/api/symphonics/interventions/{intervention.pk}/",
                            HTTP_ACCEPT_LANGUAGE="fr").json()

    assert (french["needs_attention"], french["attention_reason"]) == (True, REJECTED_FRENCH)


def test_a_row_with_no_open_item_has_an_empty_reason_in_any_language(api_client):
    ShiftFactory()

    [row] = api_client.get("/api/dimona/shifts/", HTTP_ACCEPT_LANGUAGE="fr").json()["results"]

    assert (row["needs_attention"], row["attention_reason"]) == (False, "")


def test_the_open_items_of_an_object_are_rendered_in_the_active_language():
    shift = refused_shift()

    with translation.override("fr"):
        assert attention_open_for(shift) == {dimona_services.ATTENTION_REFUSED: REFUSED_FRENCH}


def test_a_stored_text_is_translated_and_an_empty_one_stays_empty():
    with translation.override("fr"):
        assert stored_text(DUPLICATE) == DUPLICATE_FRENCH
        # A platform's message as received has no translation.
        assert stored_text("HTTP 503 from the ONSS") == "HTTP 503 from the ONSS"
        assert stored_text("") == ""


def test_a_declarations_error_is_shown_in_the_readers_language(french_client, api_client):
    shift = ShiftFactory()
    failed = DimonaDeclaration.objects.create(shift=shift, kind="in", error=DUPLICATE,
                                              status=DimonaDeclaration.Status.ACCEPTED)
    clean = DimonaDeclaration.objects.create(shift=shift, kind="update",
                                             status=DimonaDeclaration.Status.ACCEPTED)

    pages = [french_client.get(reverse("admin:dimona_dimonadeclaration_change",
                                       args=[failed.pk])).content.decode(),
             french_client.get(reverse("admin:dimona_shift_change", args=[shift.pk])
                               ).content.decode()]
    listed = french_client.get(reverse("admin:dimona_dimonadeclaration_changelist"))
    api = {row["id"]: row["error"] for row in api_client.get(
        "/api/dimona/declarations/", HTTP_ACCEPT_LANGUAGE="fr").json()["results"]}

    assert all(escape(DUPLICATE_FRENCH[:40]) in page for page in pages)
    assert all(DUPLICATE[:40] not in page for page in pages)
    assert escape(DUPLICATE_FRENCH[:40]) in listed.content.decode()
    assert api == {failed.pk: DUPLICATE_FRENCH, clean.pk: ""}


def test_a_status_changes_note_is_shown_in_the_readers_language(french_client, api_client):
    intervention = InterventionFactory(published=True)
    at = intervention.published_at
    intervention.status_history.create(remote_status="created", status="submitted",
                                       source="publish", occurred_at=at, notes=CREATED)
    intervention.status_history.create(remote_status="processing", status="processing",
                                       source="webhook", occurred_at=at)

    page = french_client.get(reverse("admin:symphonics_intervention_change",
                                     args=[intervention.pk])).content.decode()
    body = api_client.get(f"/api/symphonics/interventions/{intervention.pk}/",
                          HTTP_ACCEPT_LANGUAGE="fr").json()

    assert escape(CREATED_FRENCH) in page and CREATED not in page
    assert [change["notes"] for change in body["status_history"]] == [CREATED_FRENCH, ""]
