"""Pages with work in flight refresh themselves, and only those (`AutoRefreshMixin`)."""

from __future__ import annotations

import pytest
from django.contrib import admin

from apps.core.admin_tools import AutoRefreshMixin, Progress
from apps.core.models import WebhookEvent
from tests.core import test_admin_tools_object_actions as tools
from tests.factories import WebhookEventFactory

pytestmark = pytest.mark.django_db

Status = WebhookEvent.Status
CHANGELIST = tools.CHANGELIST


@pytest.fixture(autouse=True)
def _tools_site(settings):
    settings.ROOT_URLCONF = tools.__name__


def test_it_refreshes_a_change_list_while_a_row_of_its_page_is_pending(admin_client):
    WebhookEventFactory(status=Status.PROCESSED)
    calm = admin_client.get(CHANGELIST)
    WebhookEventFactory(status=Status.ACCEPTED)

    busy = admin_client.get(CHANGELIST)

    assert calm.context["auto_refresh"] is None
    assert b"hub-auto-refresh" not in calm.content
    assert busy.context["auto_refresh"].pending == 1
    assert b'data-seconds="5"' in busy.content
    assert b"window.location.reload()" in busy.content


def test_it_refreshes_an_objects_page_only_while_it_is_pending(admin_client):
    pending, done = WebhookEventFactory(status=Status.PROCESSING), WebhookEventFactory()

    busy = admin_client.get(tools.change_url(pending))
    calm = admin_client.get(tools.change_url(done))

    assert busy.context["auto_refresh"].pending == 1
    assert b"hub-auto-refresh" in busy.content
    assert calm.context["auto_refresh"] is None
    assert b"hub-auto-refresh" not in calm.content


def test_it_shows_the_progress_of_long_work():
    class Publishing(AutoRefreshMixin, admin.ModelAdmin):
        def pending(self, event):
            return True

        def pending_progress(self, event):
            return Progress(summary=f"Publishing {event.event_id}", done=3, total=10)

    model_admin = Publishing(WebhookEvent, admin.site)
    events = [WebhookEventFactory(event_id="evt-1"), WebhookEventFactory(event_id="evt-2")]

    refresh = model_admin.auto_refresh_for(events)

    assert refresh.pending == 2
    assert [p.summary for p in refresh.progress] == ["Publishing evt-1", "Publishing evt-2"]
    assert model_admin.auto_refresh_for([]) is None


def test_it_shows_the_progress_bar_on_the_page(admin_client, monkeypatch):
    event = WebhookEventFactory(status=Status.ACCEPTED, event_id="evt-9")
    monkeypatch.setattr(tools.EventToolsAdmin, "pending_progress",
                        lambda self, e: Progress(summary=f"Replaying {e.event_id}", done=1,
                                                 total=4), raising=False)

    page = admin_client.get(tools.change_url(event))

    assert b"Replaying evt-9" in page.content
    assert b'<progress value="1" max="4">' in page.content
