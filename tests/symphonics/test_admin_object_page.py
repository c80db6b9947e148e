"""An intervention's own page: its actions (publish, retry now, refresh), its badges, its
links to operations, audit rows and webhook events, and its customer's data masked as
the list masks it."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_permission_codename
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from apps.core.admin_display import (
    audit_rows_url,
    entity_url,
    masked_value,
    operations_url,
    webhook_events_url,
)
from apps.core.models import OutboundOperation, WebhookEvent
from apps.symphonics.models import Intervention, InterventionStatusChange
from apps.symphonics.selectors import ENTITY_TYPE
from apps.symphonics.services import DOCUMENTS_OPERATION, PUBLISH_OPERATION
from tests.factories import OutboundOperationFactory, UserFactory, WebhookEventFactory
from tests.symphonics.factories import InterventionFactory
from tests.symphonics.helpers import change_form_data

pytestmark = pytest.mark.django_db

State = OutboundOperation.State
CHANGELIST = reverse("admin:symphonics_intervention_changelist")


def _page(client, intervention: Intervention) -> str:
    response = client.get(reverse("admin:symphonics_intervention_change",
                                  args=[intervention.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _action_url(name: str, intervention: Intervention) -> str:
    return reverse(f"admin:symphonics_intervention_action_{name}", args=[intervention.pk])


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def dead_publication():
    """Symphonics refused the publication for good; the data have been corrected since."""
    intervention = InterventionFactory(status=Intervention.Status.PUBLISH_FAILED)
    operation = OutboundOperationFactory(
        platform="symphonics", kind=PUBLISH_OPERATION, entity_type=ENTITY_TYPE,
        entity_id=intervention.external_id, state=State.DEAD,
        idempotency_key=f"symphonics:publish:{intervention.external_id}",
        last_error="HTTP 503 from Symphonics")
    intervention.publish_operation = operation
    intervention.save(update_fields=["publish_operation"])
    return intervention


# -- masking ---------------------------------------------------------------------------------

def test_it_masks_the_customer_the_same_in_the_list_and_on_the_page(manager_client):
    intervention = InterventionFactory(customer_email="thomas.martin@example.com",
                                       customer_phone="+33698765432")
    email = masked_value(intervention.customer_email, kind="email")
    phone = masked_value(intervention.customer_phone)

    listed = manager_client.get(CHANGELIST).content.decode()
    page = _page(manager_client, intervention)

    for shown in (listed, page):
        assert email in shown
        assert phone in shown
        assert "thomas.martin@example.com" not in shown
        assert "+33698765432" not in shown


def test_it_masks_the_customer_in_the_admin_as_the_api_does(manager_client, api_client):
    intervention = InterventionFactory(customer_email="thomas.martin@example.com",
                                       customer_phone="+33698765432")

    body = api_client.get(f"/api/symphonics/interventions/{intervention.pk}/").json()
    page = _page(manager_client, intervention)

    assert f">{body['customer']['email']}</span>" in page
    assert f">{body['customer']['phone']}</span>" in page


def test_it_masks_the_customer_of_a_published_intervention(manager_client):
    intervention = InterventionFactory(published=True, customer_phone="+33698765432")

    page = _page(manager_client, intervention)

    assert masked_value("+33698765432") in page
    assert "+33698765432" not in page
    assert 'name="new_customer_phone"' not in page


def test_it_replaces_the_customers_email_typed_on_the_page(manager_client):
    intervention = InterventionFactory(customer_email="thomas.martin@example.com")
    url = reverse("admin:symphonics_intervention_change", args=[intervention.pk])
    data = change_form_data(manager_client.get(url))

    response = manager_client.post(url, {**data, "new_customer_email": "t.martin@example.org"})

    assert response.status_code == 302, [
        inline.formset.errors for inline in response.context["inline_admin_formsets"]]
    intervention.refresh_from_db()
    assert intervention.customer_email == "t.martin@example.org"
    assert intervention.customer_phone == "+33612345678"


def test_it_keeps_the_stored_email_when_nothing_is_typed(manager_client):
    intervention = InterventionFactory(customer_email="thomas.martin@example.com")
    url = reverse("admin:symphonics_intervention_change", args=[intervention.pk])

    response = manager_client.post(url, change_form_data(manager_client.get(url)))

    assert response.status_code == 302
    intervention.refresh_from_db()
    assert intervention.customer_email == "thomas.martin@example.com"


def test_it_refuses_a_phone_the_model_refuses(manager_client):
    intervention = InterventionFactory()
    url = reverse("admin:symphonics_intervention_change", args=[intervention.pk])

    response = manager_client.post(url, {**change_form_data(manager_client.get(url)),
                                         "new_customer_phone": "0612"})

    assert response.status_code == 200
    assert "new_customer_phone" in response.context["adminform"].form.errors
    # The refused value is not written back into the page either.
    assert 'value="0612"' not in response.content.decode()
    intervention.refresh_from_db()
    assert intervention.customer_phone == "+33612345678"


# -- badges, links, webhooks -----------------------------------------------------------------

def test_it_shows_the_status_as_a_labelled_badge(manager_client):
    intervention = InterventionFactory(published=True)

    listed = manager_client.get(CHANGELIST).content.decode()
    page = _page(manager_client, intervention)

    badge = ('<span class="hub-badge hub-badge--pending" data-status="processing">'
             f"{Intervention.Status.PROCESSING.label}</span>")
    assert badge in listed
    assert badge in page


def test_it_links_the_intervention_to_its_operations_audit_rows_and_events(manager_client,
                                                                          dead_publication):
    external_id = dead_publication.external_id
    page = _page(manager_client, dead_publication)

    for url in (operations_url(ENTITY_TYPE, external_id),
                audit_rows_url(ENTITY_TYPE, external_id),
                webhook_events_url(ENTITY_TYPE, external_id)):
        assert url.replace("&", "&amp;") in page
        assert manager_client.get(url).status_code == 200
    operations = manager_client.get(operations_url(ENTITY_TYPE, external_id))
    assert list(operations.context["cl"].result_list) == [dead_publication.publish_operation]


def test_it_links_an_operation_back_to_its_intervention(manager_client, dead_publication):
    url = entity_url(ENTITY_TYPE, dead_publication.external_id)

    followed = manager_client.get(url, follow=True)

    assert followed.redirect_chain == [
        (reverse("admin:symphonics_intervention_change", args=[dead_publication.pk]), 302)]
    assert url.replace("&", "&amp;") in manager_client.get(reverse(
        "admin:core_outboundoperation_change",
        args=[dead_publication.publish_operation_id])).content.decode()


def test_it_shows_the_publication_and_its_operation(manager_client, dead_publication):
    page = _page(manager_client, dead_publication)

    assert reverse("admin:core_outboundoperation_change",
                   args=[dead_publication.publish_operation_id]) in page
    assert 'data-status="dead"' in page
    assert "HTTP 503 from Symphonics" in page


def test_it_shows_the_last_webhook_events_and_links_them(manager_client):
    intervention = InterventionFactory(published=True)
    event = WebhookEventFactory(
        platform="symphonics", event_type="intervention.status_changed",
        body=json.dumps({"event": "intervention.status_changed",
                         "data": {"external_id": intervention.external_id,
                                  "new_status": "approved"}}))
    InterventionStatusChange.objects.create(
        intervention=intervention, remote_status="approved", status="approved",
        source="webhook", occurred_at=event.received_at, webhook_event=event)

    page = _page(manager_client, intervention)
    events = manager_client.get(webhook_events_url(ENTITY_TYPE, intervention.external_id))
    event_page = manager_client.get(reverse("admin:core_webhookevent_change",
                                            args=[event.pk])).content.decode()

    assert reverse("admin:core_webhookevent_change", args=[event.pk]) in page
    assert "intervention.status_changed" in page
    assert 'data-status="processed"' in page
    assert list(events.context["cl"].result_list) == [event]
    assert entity_url(ENTITY_TYPE, intervention.external_id).replace("&", "&amp;") in event_page


def test_it_links_an_event_that_names_no_intervention_to_nothing(manager_client):
    event = WebhookEventFactory(platform="symphonics", body="not json")

    page = manager_client.get(reverse("admin:core_webhookevent_change", args=[event.pk]))

    assert page.status_code == 200
    assert reverse("admin:core_entity") not in page.content.decode()


# -- actions on the page ---------------------------------------------------------------------

def test_it_publishes_from_the_page(manager_client, simulator,
                                     django_capture_on_commit_callbacks):
    sim = simulator()
    intervention = InterventionFactory()
    page = _page(manager_client, intervention)

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(_action_url("publish", intervention), follow=True)

    assert f'action="{_action_url("publish", intervention)}"' in page
    assert "1 intervention(s) published or on their way." in _messages(response)
    intervention.refresh_from_db()
    assert intervention.status == Intervention.Status.CREATED
    assert len(sim.lifecycle.interventions) == 1


def test_it_offers_no_publish_button_once_symphonics_has_it(manager_client):
    intervention = InterventionFactory(published=True)

    page = _page(manager_client, intervention)

    assert _action_url("publish", intervention) not in page
    assert f'action="{_action_url("refresh_status", intervention)}"' in page


def test_it_refreshes_the_status_from_the_page(manager_client, simulator,
                                                django_capture_on_commit_callbacks):
    sim = simulator(processing_delay_seconds=1, verification_delay_seconds=1)
    intervention = InterventionFactory()
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(_action_url("publish", intervention))
    sim.advance(30)

    response = manager_client.post(_action_url("refresh_status", intervention), follow=True)

    assert "1 status(es) refreshed." in _messages(response)
    intervention.refresh_from_db()
    assert intervention.status == Intervention.Status.APPROVED


def test_it_retries_a_dead_publication_from_the_page(manager_client, dead_publication):
    response = manager_client.post(_action_url("retry_now", dead_publication), follow=True)

    assert any("sent again now" in message for message in _messages(response))
    dead_publication.refresh_from_db()
    assert dead_publication.status == Intervention.Status.PUBLISHING
    operation = dead_publication.publish_operation
    operation.refresh_from_db()
    assert operation.state == State.FAILED
    assert operation.failures == 0


def test_it_retries_failed_documents_of_a_published_intervention(manager_client):
    intervention = InterventionFactory(published=True)
    documents = OutboundOperationFactory(
        platform="symphonics", kind=DOCUMENTS_OPERATION, entity_type=ENTITY_TYPE,
        entity_id=intervention.external_id, state=State.FAILED, failures=3)

    manager_client.post(_action_url("retry_now", intervention))

    documents.refresh_from_db()
    assert documents.state == State.FAILED
    assert documents.failures == 0


def test_it_says_when_there_is_nothing_to_retry(manager_client):
    intervention = InterventionFactory(published=True)

    page = _page(manager_client, intervention)
    response = manager_client.post(_action_url("retry_now", intervention), follow=True)

    assert "Nothing to retry" in page
    assert any("Nothing to retry" in message for message in _messages(response))


def test_it_refreshes_the_page_while_the_publication_is_on_its_way(manager_client):
    publishing = InterventionFactory(status=Intervention.Status.PUBLISHING)
    settled = InterventionFactory(published=True)

    assert "hub-auto-refresh" in _page(manager_client, publishing)
    assert "hub-auto-refresh" not in _page(manager_client, settled)


def test_it_refuses_the_actions_to_a_user_who_may_only_look(client, dead_publication):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.set([Permission.objects.get(
        content_type=ContentType.objects.get_for_model(Intervention),
        codename=get_permission_codename("view", Intervention._meta))])
    client.force_login(viewer)

    page = client.get(reverse("admin:symphonics_intervention_change",
                              args=[dead_publication.pk]))
    responses = [client.post(_action_url(name, dead_publication))
                 for name in ("publish", "retry_now", "refresh_status")]

    assert page.status_code == 200
    assert b"/actions/" not in page.content
    assert [response.status_code for response in responses] == [403, 403, 403]
    dead_publication.publish_operation.refresh_from_db()
    assert dead_publication.publish_operation.state == State.DEAD
    assert WebhookEvent.objects.count() == 0
