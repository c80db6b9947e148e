"""Links both ways in the back-office: object <-> operations <-> audit rows <-> webhook events,
and "retry now" on an operation's own page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from apps.core import admin_display
from apps.core.admin_display import (
    EntityKind,
    audit_rows_url,
    entity_url,
    operations_url,
    related_links,
    webhook_events_url,
)
from apps.core.models import (
    AttentionItem,
    Connection,
    OutboundOperation,
    SyncLog,
    UserPreference,
    WebhookEvent,
)
from tests.factories import (
    OutboundOperationFactory,
    SyncLogFactory,
    WebhookEventFactory,
    view_only_user,
)

pytestmark = pytest.mark.django_db

State = OutboundOperation.State
# Any model the admin shows serves as "an object" here: a connection, named
# as the outbox names it ("<app>.<model>", its primary key).
ENTITY_TYPE = "core.connection"


@pytest.fixture
def connection():
    return Connection.objects.create(platform="acme", name="Acme test account")


@pytest.fixture
def operation(connection):
    return OutboundOperationFactory(entity_type=ENTITY_TYPE, entity_id=str(connection.pk),
                                    state=State.DEAD, last_error="HTTP 500 from acme")


@pytest.fixture
def events_known(monkeypatch):
    """Connections as a domain whose webhook events can be told apart: by their channel."""
    monkeypatch.setitem(admin_display._kinds, ENTITY_TYPE, EntityKind(
        entity_type=ENTITY_TYPE, model=Connection,
        events_of=lambda entity_id: WebhookEvent.objects.filter(
            connection_id=entity_id).values("pk")))
    monkeypatch.setitem(admin_display._event_subjects, "acme", lambda event: (
        [(ENTITY_TYPE, str(event.connection_id))] if event.connection_id else []))


def _rows(response) -> list:
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def _change_page(model, pk) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])


def _html(url: str) -> str:
    """A URL as a page writes it in an attribute."""
    return url.replace("&", "&amp;")


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_it_links_an_operation_to_its_object(admin_client, operation, connection):
    page = admin_client.get(_change_page(OutboundOperation, operation.pk)).content.decode()
    url = entity_url(ENTITY_TYPE, str(connection.pk))

    followed = admin_client.get(url, follow=True)

    assert f'href="{_html(url)}"' in page
    assert followed.redirect_chain == [(_change_page(Connection, connection.pk), 302)]
    assert followed.status_code == 200


def test_it_links_an_operation_to_its_audit_rows(admin_client, operation, connection):
    own = SyncLogFactory(operation=operation, entity_type=ENTITY_TYPE,
                         entity_id=str(connection.pk))
    same_object = SyncLogFactory(entity_type=ENTITY_TYPE, entity_id=str(connection.pk))
    SyncLogFactory()  # another object's

    page = admin_client.get(_change_page(OutboundOperation, operation.pk)).content.decode()
    own_url = audit_rows_url(operation=operation)
    object_url = audit_rows_url(ENTITY_TYPE, str(connection.pk))

    assert own_url.replace("&", "&amp;") in page
    assert object_url.replace("&", "&amp;") in page
    assert _rows(admin_client.get(own_url)) == [own]
    assert set(_rows(admin_client.get(object_url))) == {own, same_object}


def test_it_links_an_audit_row_to_its_object_and_operation(admin_client, operation,
                                                             connection):
    row = SyncLogFactory(operation=operation, entity_type=ENTITY_TYPE,
                         entity_id=str(connection.pk))

    page = admin_client.get(_change_page(SyncLog, row.pk)).content.decode()

    assert _html(entity_url(ENTITY_TYPE, str(connection.pk))) in page
    assert _change_page(OutboundOperation, operation.pk) in page
    assert admin_client.get(entity_url(ENTITY_TYPE, str(connection.pk)),
                            follow=True).status_code == 200
    assert admin_client.get(_change_page(OutboundOperation, operation.pk)).status_code == 200


def test_it_links_each_audit_row_of_the_list_to_its_object_and_operation(admin_client,
                                                                         operation, connection):
    SyncLogFactory(operation=operation, entity_type=ENTITY_TYPE, entity_id=str(connection.pk))

    page = admin_client.get(reverse("admin:core_synclog_changelist")).content.decode()

    assert _html(entity_url(ENTITY_TYPE, str(connection.pk))) in page
    assert _change_page(OutboundOperation, operation.pk) in page


def test_it_gives_an_object_links_to_its_operations_audit_rows_and_events(
        admin_client, events_known, operation, connection):
    row = SyncLogFactory(entity_type=ENTITY_TYPE, entity_id=str(connection.pk))
    event = WebhookEventFactory(connection=connection)
    OutboundOperationFactory()
    SyncLogFactory()
    WebhookEventFactory()

    links = related_links(connection)
    entity_id = str(connection.pk)

    for url in (operations_url(ENTITY_TYPE, entity_id), audit_rows_url(ENTITY_TYPE, entity_id),
                webhook_events_url(ENTITY_TYPE, entity_id)):
        assert url.replace("&", "&amp;") in links
    assert _rows(admin_client.get(operations_url(ENTITY_TYPE, entity_id))) == [operation]
    assert _rows(admin_client.get(audit_rows_url(ENTITY_TYPE, entity_id))) == [row]
    assert _rows(admin_client.get(webhook_events_url(ENTITY_TYPE, entity_id))) == [event]


def test_it_offers_no_webhook_link_for_an_object_whose_events_cannot_be_told(connection):
    assert webhook_events_url(ENTITY_TYPE, str(connection.pk)) == ""
    assert "Webhook events" not in related_links(connection)


def test_it_shows_the_filter_a_link_set_with_a_way_back_to_all_rows(admin_client, operation,
                                                                     connection):
    page = admin_client.get(operations_url(ENTITY_TYPE, str(connection.pk))).content.decode()

    assert f"{ENTITY_TYPE} {connection.pk}" in page
    assert reverse("admin:core_outboundoperation_changelist") + "?" in page


def test_it_links_a_webhook_event_to_what_it_was_about(admin_client, events_known, operation,
                                                        connection):
    event = WebhookEventFactory(connection=connection)

    page = admin_client.get(_change_page(WebhookEvent, event.pk)).content.decode()

    assert _html(entity_url(ENTITY_TYPE, str(connection.pk))) in page
    assert operations_url(ENTITY_TYPE, str(connection.pk)).replace("&", "&amp;") in page
    assert _rows(admin_client.get(operations_url(ENTITY_TYPE, str(connection.pk)))) == [
        operation]


def test_it_links_a_connection_to_its_operations_audit_rows_and_events(admin_client,
                                                                        operation, connection):
    operation.connection = connection
    operation.save(update_fields=["connection"])
    row = SyncLogFactory(connection=connection)
    event = WebhookEventFactory(connection=connection)
    SyncLogFactory()

    page = admin_client.get(_change_page(Connection, connection.pk)).content.decode()

    for model, expected in ((OutboundOperation, operation), (SyncLog, row),
                            (WebhookEvent, event)):
        url = admin_display.changelist_url(model, connection=connection.pk)
        assert url in page
        assert _rows(admin_client.get(url)) == [expected]


def test_it_links_an_attention_item_to_its_operation_and_audit_rows(admin_client, operation):
    item = AttentionItem.objects.create(
        domain="core", kind="outbox.dead", key=f"outbox.dead:{operation.pk}",
        summary="An operation is dead",
        content_type=ContentType.objects.get_for_model(OutboundOperation),
        object_id=str(operation.pk))

    page = admin_client.get(_change_page(AttentionItem, item.pk)).content.decode()

    assert audit_rows_url(operation=operation) in page
    assert _change_page(OutboundOperation, operation.pk) in page


def test_it_refuses_an_object_to_a_user_who_may_not_see_its_model(client, connection):
    client.force_login(view_only_user(SyncLog))

    response = client.get(entity_url(ENTITY_TYPE, str(connection.pk)))

    assert response.status_code == 403


def test_it_refuses_an_unknown_type_like_a_forbidden_one(admin_client):
    url = reverse("admin:core_entity") + "?type=nosuch.thing&id=1"

    assert admin_client.get(url).status_code == 403


@pytest.mark.parametrize("entity_id", ["999", "not-a-number", ""])
def test_it_answers_404_for_an_object_that_is_not_there(admin_client, entity_id):
    url = reverse("admin:core_entity") + f"?type={ENTITY_TYPE}&id={entity_id}"

    assert admin_client.get(url).status_code == 404


# -- badges and times on the core pages -----------------------------------------------------

def test_it_shows_an_operations_state_as_a_labelled_badge(admin_client, operation):
    page = admin_client.get(reverse("admin:core_outboundoperation_changelist")).content.decode()

    assert ('<span class="hub-badge hub-badge--error" data-status="dead">'
            f"{State.DEAD.label}</span>") in page


def test_it_shows_times_in_the_users_own_zone(admin_client, admin_user):
    UserPreference.objects.create(user=admin_user, time_zone="America/New_York")
    OutboundOperationFactory(created_at=datetime(2026, 12, 2, 13, 5, tzinfo=UTC))

    page = admin_client.get(reverse("admin:core_outboundoperation_changelist"),
                            HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "EST</time>" in page
    assert 'title="America/New_York"' in page


# -- retry now from the operation's page -----------------------------------------------------

def test_it_retries_an_operation_from_its_page(admin_client, operation):
    page = admin_client.get(_change_page(OutboundOperation, operation.pk)).content.decode()
    url = reverse("admin:core_outboundoperation_action_retry_now", args=[operation.pk])

    response = admin_client.post(url, follow=True)

    assert f'action="{url}"' in page
    assert response.redirect_chain[-1][0] == _change_page(OutboundOperation, operation.pk)
    assert "1 operation(s) queued." in _messages(response)
    operation.refresh_from_db()
    assert operation.state == State.FAILED
    assert operation.failures == 0


def test_it_still_retries_from_the_list(admin_client, operation):
    admin_client.post(reverse("admin:core_outboundoperation_changelist"),
                      {"action": "retry_now", "_selected_action": [operation.pk]})

    operation.refresh_from_db()
    assert operation.state == State.FAILED


def test_it_never_retries_on_a_get(admin_client, operation):
    admin_client.get(reverse("admin:core_outboundoperation_action_retry_now",
                             args=[operation.pk]))

    operation.refresh_from_db()
    assert operation.state == State.DEAD


def test_it_says_why_a_succeeded_operation_cannot_be_retried(admin_client):
    done = OutboundOperationFactory(state=State.SUCCEEDED)

    page = admin_client.get(_change_page(OutboundOperation, done.pk)).content.decode()
    response = admin_client.post(reverse("admin:core_outboundoperation_action_retry_now",
                                         args=[done.pk]), follow=True)

    assert "disabled" in page
    assert "nothing to retry" in page
    assert any("nothing to retry" in message for message in _messages(response))
    done.refresh_from_db()
    assert done.state == State.SUCCEEDED


def test_it_refuses_retry_now_to_a_user_who_may_only_look(client, operation):
    client.force_login(view_only_user(OutboundOperation))

    page = client.get(_change_page(OutboundOperation, operation.pk))
    response = client.post(reverse("admin:core_outboundoperation_action_retry_now",
                                   args=[operation.pk]))

    assert page.status_code == 200
    assert b"retry_now" not in page.content
    assert response.status_code == 403
    operation.refresh_from_db()
    assert operation.state == State.DEAD


def test_it_replays_a_webhook_event_from_its_page(admin_client):
    event = WebhookEventFactory(status=WebhookEvent.Status.FAILED)
    url = reverse("admin:core_webhookevent_action_replay", args=[event.pk])

    page = admin_client.get(_change_page(WebhookEvent, event.pk)).content.decode()
    response = admin_client.post(url, follow=True)

    assert f'action="{url}"' in page
    assert "1 event(s) queued for processing again." in _messages(response)
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.ACCEPTED


def test_it_says_why_a_rejected_delivery_cannot_be_replayed(admin_client):
    event = WebhookEventFactory(status=WebhookEvent.Status.REJECTED, dedupe_key=None)

    page = admin_client.get(_change_page(WebhookEvent, event.pk)).content.decode()

    assert "only verified, unique events can be replayed" in page
    assert "disabled" in page
