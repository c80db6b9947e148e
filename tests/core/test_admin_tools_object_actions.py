"""Domain actions on an object's page and in its change list (`ObjectActionsMixin`).

A small admin of webhook events on a site of its own declares one action of
each sort: a plain one, a destructive one (confirmed, saying what will be
sent), one with a form, one hidden and one disabled by the object's state.
"""

from __future__ import annotations

import pytest
from django import forms
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import path, reverse

from apps.core.admin_tools import AutoRefreshMixin, ObjectAction, ObjectActionsMixin
from apps.core.errors import ServiceError
from apps.core.models import WebhookEvent
from config.urls import urlpatterns as project_urlpatterns
from tests.factories import UserFactory, WebhookEventFactory

pytestmark = pytest.mark.django_db

Status = WebhookEvent.Status
calls: list[tuple[str, int, dict]] = []
# Who each call was made for.
users: list = []


def _service(name: str):
    def call(event: WebhookEvent, data: dict, user):
        if event.event_type == "refused":
            raise ServiceError("refused", "Acme refuses this event.")
        calls.append((name, event.pk, data))
        users.append(user)
        return name

    return call


class NoteForm(forms.Form):
    note = forms.CharField(max_length=20)


ACTIONS = (
    ObjectAction(name="nudge", label="Nudge", service=_service("nudge"),
                 success="{count} event(s) nudged.",
                 report=lambda event, result: f"Event {event.event_id} nudged."),
    ObjectAction(name="purge", label="Purge", service=_service("purge"), destructive=True,
                 consequence=lambda event: f"A purge of {event.event_id} will be sent to Acme.",
                 success="{count} event(s) purged."),
    ObjectAction(name="annotate", label="Annotate", service=_service("annotate"),
                 form_class=NoteForm, initial=lambda event: {"note": "hello"},
                 success="{count} event(s) annotated.", bulk=False),
    ObjectAction(name="secret", label="Secret", service=_service("secret"),
                 unavailable=lambda event: "Never offered.", hide_when_unavailable=True,
                 success="{count} secret(s)."),
    ObjectAction(name="settle", label="Settle", service=_service("settle"),
                 unavailable=lambda event: ("Still processing." if event.status == Status.PROCESSING
                                            else ""),
                 success="{count} event(s) settled."),
)


class EventToolsAdmin(ObjectActionsMixin, AutoRefreshMixin, admin.ModelAdmin):
    object_actions = ACTIONS
    list_display = ("event_id", "status")

    def pending(self, event: WebhookEvent) -> bool:
        return event.status in (Status.ACCEPTED, Status.PROCESSING)


site = admin.AdminSite(name="tools")
site.register(WebhookEvent, EventToolsAdmin)
urlpatterns = [path("tools/", site.urls), *project_urlpatterns]


@pytest.fixture(autouse=True)
def _tools_site(settings):
    settings.ROOT_URLCONF = __name__
    calls.clear()
    users.clear()


def action_url(event: WebhookEvent, name: str) -> str:
    return reverse(f"admin:core_webhookevent_action_{name}", args=[event.pk],
                   current_app="tools")


def change_url(event: WebhookEvent) -> str:
    return reverse("admin:core_webhookevent_change", args=[event.pk], current_app="tools")


CHANGELIST = "/tools/core/webhookevent/"


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def viewer(client):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_webhookevent"))
    client.force_login(user)
    return user


def test_it_offers_each_bulk_action_in_the_change_list_under_its_name():
    assert EventToolsAdmin.actions == ["nudge", "purge", "secret", "settle"]
    assert EventToolsAdmin.nudge.allowed_permissions == ["change"]


def test_it_refuses_an_action_whose_name_the_admin_already_uses():
    with pytest.raises(TypeError, match="nudge"):
        type("Clash", (ObjectActionsMixin, admin.ModelAdmin),
             {"object_actions": ACTIONS, "nudge": lambda self: None, "__module__": __name__})


def test_it_shows_the_buttons_disabled_with_their_reason_and_hides_the_hidden(admin_client):
    event = WebhookEventFactory(status=Status.PROCESSING)

    page = admin_client.get(change_url(event))

    content = page.content.decode()
    offered = {o.action.name: o for o in page.context["object_actions"]}
    assert list(offered) == ["nudge", "purge", "annotate", "settle"]
    assert offered["settle"].reason == "Still processing." and not offered["settle"].enabled
    assert 'title="Still processing."' in content and "disabled" in content
    # A plain action posts from the page; one that asks first links to its page.
    assert f'method="post" action="{action_url(event, "nudge")}"' in content
    assert f'href="{action_url(event, "purge")}"' in content
    assert "Secret" not in content


def test_it_acts_only_on_a_post(admin_client):
    event = WebhookEventFactory()

    shown = admin_client.get(action_url(event, "nudge"))
    assert shown.status_code == 200 and calls == []

    done = admin_client.post(action_url(event, "nudge"), follow=True)

    assert done.redirect_chain[-1][0] == change_url(event)
    assert calls == [("nudge", event.pk, {})]
    assert users == [done.wsgi_request.user]
    assert f"Event {event.event_id} nudged." in messages_of(done)


def test_it_says_what_a_destructive_action_will_send_before_sending_it(admin_client):
    event = WebhookEventFactory(event_id="evt-42")

    asked = admin_client.get(action_url(event, "purge"))
    posted_without_confirming = admin_client.post(action_url(event, "purge"))

    assert asked.status_code == posted_without_confirming.status_code == 200
    assert "A purge of evt-42 will be sent to Acme." in asked.content.decode()
    assert 'name="apply"' in asked.content.decode()
    assert calls == []

    done = admin_client.post(action_url(event, "purge"), {"apply": "1"}, follow=True)

    assert calls == [("purge", event.pk, {})]
    assert "1 event(s) purged." in messages_of(done)


def test_it_runs_an_action_with_its_form_once_the_form_is_valid(admin_client):
    event = WebhookEventFactory()

    shown = admin_client.get(action_url(event, "annotate"))
    invalid = admin_client.post(action_url(event, "annotate"), {"apply": "1", "note": ""})
    admin_client.post(action_url(event, "annotate"), {"apply": "1", "note": "checked"})

    assert 'value="hello"' in shown.content.decode()
    assert invalid.status_code == 200 and invalid.context["form"].errors
    assert calls == [("annotate", event.pk, {"note": "checked"})]


def test_it_turns_a_service_refusal_into_an_error_message(admin_client):
    event = WebhookEventFactory(event_type="refused")

    done = admin_client.post(action_url(event, "nudge"), follow=True)

    assert done.status_code == 200
    assert any("Acme refuses this event." in m for m in messages_of(done))
    assert calls == []


def test_it_refuses_an_action_the_objects_state_does_not_allow(admin_client):
    event = WebhookEventFactory(status=Status.PROCESSING)

    done = admin_client.post(action_url(event, "settle"), follow=True)

    assert any("Still processing." in m for m in messages_of(done))
    assert calls == []


@pytest.mark.parametrize("name", [action.name for action in ACTIONS])
def test_it_refuses_every_action_to_a_user_who_may_only_view(client, viewer, name):
    event = WebhookEventFactory()

    assert client.get(action_url(event, name)).status_code == 403
    assert client.post(action_url(event, name), {"apply": "1", "note": "x"}).status_code == 403
    page = client.get(change_url(event))

    assert page.status_code == 200 and page.context["object_actions"] == []
    assert calls == []


def test_it_goes_back_only_to_an_address_of_this_site(admin_client):
    event = WebhookEventFactory()

    home = admin_client.post(action_url(event, "nudge"), {"next": "/tools/"})
    elsewhere = admin_client.post(action_url(event, "nudge"), {"next": "https://evil.test/"})

    assert home["Location"] == "/tools/"
    assert elsewhere["Location"] == change_url(event)


def test_it_runs_a_bulk_action_with_one_summary_and_the_refusals(admin_client):
    calm, busy, refused = (WebhookEventFactory(), WebhookEventFactory(status=Status.PROCESSING),
                           WebhookEventFactory(event_type="refused"))

    done = admin_client.post(CHANGELIST, {"action": "settle",
                                          "_selected_action": [calm.pk, busy.pk, refused.pk]},
                             follow=True)

    shown = messages_of(done)
    assert calls == [("settle", calm.pk, {})]
    assert "1 event(s) settled." in shown
    assert any("Still processing." in m for m in shown)
    assert any("Acme refuses this event." in m for m in shown)


def test_it_confirms_a_destructive_bulk_action_with_what_each_row_will_send(admin_client):
    first, second = WebhookEventFactory(event_id="evt-a"), WebhookEventFactory(event_id="evt-b")
    selected = {"action": "purge", "_selected_action": [first.pk, second.pk]}

    asked = admin_client.post(CHANGELIST, selected)

    assert asked.status_code == 200
    assert "A purge of evt-a will be sent to Acme." in asked.content.decode()
    assert "A purge of evt-b will be sent to Acme." in asked.content.decode()
    assert calls == []

    done = admin_client.post(CHANGELIST, {**selected, "apply": "1"}, follow=True)

    assert sorted(pk for _, pk, _ in calls) == sorted([first.pk, second.pk])
    assert "2 event(s) purged." in messages_of(done)
