"""Attention items are read in the reader's language, whoever raised them.

A worker raises in English; a French or Dutch manager reads the same item
in the admin, the API and the digest in their own language. A value the
text cannot be filled with falls back to the English text stored with the
item, never to an error.
"""

from __future__ import annotations

from unittest import mock

import pytest
import responses
import time_machine
from django.core import mail
from django.utils import translation
from django.utils.html import escape

from apps.core.attention import attention_message, attention_raise
from apps.core.connections import connection_default, connection_record_error
from apps.core.digest import attention_digest_send
from apps.core.models import AttentionItem
from apps.core.preferences import user_preference_set
from apps.dimona import services as dimona_services
from tests.dimona.conftest import API, TOKEN_URL, FakeOnss
from tests.dimona.factories import ShiftFactory, brussels
from tests.dimona.helpers import drive_outbox
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# Source texts of the catalogues, passed as a domain passes them (marked
# there with gettext_noop; not marked here, so the tests add nothing to the
# catalogues).
REJECTED = "Rejected by Symphonics: %(notes)s"
NO_REASON = "no reason given"
HINT = "Read Symphonics' notes; contact Symphonics if the rejection is wrong."

ENGLISH = "Rejected by Symphonics: no reason given"
FRENCH = "Rejetée par Symphonics : aucun motif donné"
FRENCH_HINT = "Lisez les notes de Symphonics ; contactez Symphonics si le rejet est erroné."
DUTCH_HINT = ("Lees de notities van Symphonics; contacteer Symphonics als de afwijzing "
              "onterecht is.")


def raise_rejected(**values) -> AttentionItem:
    # As a worker does: in English, whatever the language of the reader.
    with translation.override("en"):
        return attention_raise(
            domain="symphonics", kind="symphonics.rejected", key="symphonics.rejected:1",
            summary=REJECTED, action_hint=HINT,
            values=values or {"notes": attention_message(NO_REASON)})


@pytest.fixture
def french_manager(manager_user):
    manager_user.email = "manager@example.test"
    manager_user.save()
    user_preference_set(user=manager_user, language="fr")
    return manager_user


def test_it_stores_the_source_text_its_values_and_the_english_text():
    item = raise_rejected()

    item.refresh_from_db()
    assert (item.summary, item.action_hint) == (ENGLISH, HINT)
    assert (item.summary_msgid, item.action_hint_msgid) == (REJECTED, HINT)
    assert item.message_values == {"notes": {"msgid": NO_REASON, "values": {}}}


def test_it_renders_the_item_in_the_active_language():
    item = raise_rejected()

    with translation.override("fr"):
        assert (item.summary_text, item.action_hint_text) == (FRENCH, FRENCH_HINT)
        assert str(item) == FRENCH
    with translation.override("nl"):
        assert item.action_hint_text == DUTCH_HINT
    with translation.override("en"):
        assert item.summary_text == ENGLISH


def test_it_shows_an_english_item_in_french_in_the_admin(manager_client, french_manager):
    item = raise_rejected()

    changelist = manager_client.get("/admin/core/attentionitem/")
    page = manager_client.get(f"/admin/core/attentionitem/{item.pk}/change/")

    assert (changelist.status_code, page.status_code) == (200, 200)
    changelist, page = changelist.content.decode(), page.content.decode()

    for html in (changelist, page):
        assert escape(FRENCH) in html and escape(FRENCH_HINT) in html
        assert ENGLISH not in html


def test_it_answers_in_the_requests_language_in_the_api(api_client):
    raise_rejected()

    french = api_client.get("/api/attention/", HTTP_ACCEPT_LANGUAGE="fr").json()
    english = api_client.get("/api/attention/", HTTP_ACCEPT_LANGUAGE="en").json()

    assert [(i["kind"], i["summary"]) for i in french["results"]] == [
        ("symphonics.rejected", FRENCH)]
    assert [i["summary"] for i in english["results"]] == [ENGLISH]


def test_it_mails_each_manager_the_digest_in_their_language(french_manager, django_user_model):
    dutch = UserFactory(username="dutch", email="dutch@example.test")
    dutch.groups.add(*french_manager.groups.all())
    user_preference_set(user=dutch, language="nl")
    with time_machine.travel(brussels(2026, 12, 2, 6, 15), tick=False):
        raise_rejected()
        attention_digest_send()

    by_address = {message.to[0]: message for message in mail.outbox}
    french_mail = by_address["manager@example.test"]
    assert FRENCH in french_mail.body and FRENCH_HINT in french_mail.body
    assert escape(FRENCH) in french_mail.alternatives[0][0]
    assert DUTCH_HINT in by_address["dutch@example.test"].body


def test_it_keeps_a_code_or_a_platforms_message_as_it_is():
    with translation.override("en"):
        item = attention_raise(
            domain="core", kind="connection.broken", key="broken:1",
            summary="Connection %(connection)s is broken: %(reason)s",
            values={"connection": "ONSS <prod>", "reason": "invalid_client (100% sure)"})

    with translation.override("fr"):
        assert item.summary_text == (
            "La connexion ONSS <prod> est rompue : invalid_client (100% sure)")


def test_it_falls_back_to_the_english_text_when_a_value_is_missing():
    item = raise_rejected()
    AttentionItem.objects.filter(pk=item.pk).update(message_values={"other": "x"})
    item.refresh_from_db()

    with translation.override("fr"):
        assert item.summary_text == ENGLISH
        # The hint has no value to miss.
        assert item.action_hint_text == FRENCH_HINT


@pytest.mark.parametrize("values", [["not", "a", "dict"], {"notes": {"what": "?"}}, "text"])
def test_it_falls_back_to_the_english_text_on_values_it_cannot_read(values):
    item = raise_rejected()
    AttentionItem.objects.filter(pk=item.pk).update(message_values=values)
    item.refresh_from_db()

    with translation.override("fr"):
        assert item.summary_text == ENGLISH


def test_it_keeps_the_given_text_when_a_caller_forgets_its_values():
    with translation.override("en"):
        item = attention_raise(domain="symphonics", kind="symphonics.rejected",
                               key="symphonics.rejected:2", summary=REJECTED)

    assert item.summary == REJECTED
    with translation.override("fr"):
        assert item.summary_text == REJECTED


def test_it_uses_the_source_text_when_a_translation_is_broken():
    item = raise_rejected()

    with translation.override("fr"), mock.patch(
            "apps.core.models.attention.gettext",
            side_effect=lambda msgid: "Rejetée : %(nope)s" if msgid == REJECTED else msgid):
        assert item.summary_text == ENGLISH


def test_it_shows_an_item_stored_before_the_source_texts_as_it_was_stored():
    item = AttentionItem.objects.create(domain="dimona", kind="dimona.refused", key="old:1",
                                        summary="Dimona-in refusée : 90374-349")

    with translation.override("nl"):
        assert item.summary_text == "Dimona-in refusée : 90374-349"
        assert item.action_hint_text == ""


def test_it_renders_a_lazy_value_when_read_not_when_raised():
    with translation.override("fr"):
        # An admin action clicked in French: still stored in English.
        item = attention_raise(
            domain="symphonics", kind="symphonics.rejected", key="symphonics.rejected:3",
            summary=REJECTED, values={"notes": attention_message(NO_REASON)})

    assert item.summary == ENGLISH
    with translation.override("fr"):
        assert item.summary_text == FRENCH


def test_it_translates_a_broken_connection_for_its_reader():
    connection = connection_default(platform="dimona")
    with translation.override("en"):
        connection_record_error(connection=connection, reason="401 invalid_client")
    item = AttentionItem.objects.open().get(kind="connection.broken")

    with translation.override("fr"):
        assert item.summary_text == (
            f"La connexion {connection} est rompue : 401 invalid_client")
        assert item.action_hint_text.startswith("Saisissez à nouveau ses identifiants")


@pytest.fixture
def onss(settings):
    settings.DIMONA_API_URL = API
    settings.DIMONA_TOKEN_URL = TOKEN_URL
    with responses.RequestsMock(assert_all_requests_are_fired=False) as requests_mock:
        yield FakeOnss(requests_mock)


def test_it_shows_a_dimona_refusal_with_the_anomaly_in_the_readers_language(onss):
    onss.accept_posts()
    onss.result(900000000001, "B", period_id=0, anomalies=[
        {"errorId": "90374-349", "label": {"fr": "Commission paritaire incorrecte"}},
        {"errorId": "99999-999", "label": {"fr": "Anomalie inconnue du hub"}}])
    shift = ShiftFactory()
    with translation.override("en"), time_machine.travel(
            brussels(2026, 11, 22, 20), tick=False) as traveller:
        dimona_services.shift_declare(shift=shift)
        drive_outbox(traveller)
    item = AttentionItem.objects.open().get(kind="dimona.refused")

    assert item.summary == ("Dimona-in refused: 90374-349 Joint commission incompatible with "
                            "the worker type; 99999-999 Anomalie inconnue du hub")
    with translation.override("fr"):
        french = item.summary_text
    with translation.override("nl"):
        dutch = item.summary_text
    # A code the hub does not know keeps the ONSS's own label.
    assert french == ("Dimona-in refusée : 90374-349 Incompatibilité entre commission "
                      "paritaire et type de travailleur; 99999-999 Anomalie inconnue du hub")
    assert dutch == ("Dimona-in geweigerd: 90374-349 Onverenigbaarheid tussen paritair comité "
                     "en type werknemer; 99999-999 Anomalie inconnue du hub")
