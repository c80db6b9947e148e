"""The attention queue in the back-office: open items across domains, read-only, cheap."""

from __future__ import annotations

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core.attention import attention_clear, attention_raise
from apps.core.models import AttentionItem
from tests.dimona.factories import ShiftFactory, brussels
from tests.factories import UserFactory
from tests.symphonics.factories import InterventionFactory

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:core_attentionitem_changelist")


def _raise_for_shifts(count: int) -> list:
    shifts = [ShiftFactory() for _ in range(count)]
    for shift in shifts:
        attention_raise(domain="dimona", kind="dimona.refused", summary=f"refused {shift.pk}",
                        subject=shift, action_hint="Declare again.")
    return shifts


def _page(client, url=QUEUE, **params):
    response = client.get(url, params)
    assert response.status_code == 200
    return response


def test_it_lists_open_items_newest_first_with_a_link_and_what_to_do(manager_client):
    shift = ShiftFactory()
    intervention = InterventionFactory()
    with time_machine.travel(brussels(2026, 11, 22, 20), tick=False):
        attention_raise(domain="dimona", kind="dimona.refused", summary="Dimona-in refused",
                        subject=shift, action_hint="Declare again.")
    with time_machine.travel(brussels(2026, 11, 22, 21), tick=False):
        attention_raise(domain="symphonics", kind="symphonics.publish_failed",
                        summary="Publication refused", subject=intervention)
    attention_raise(domain="dimona", kind="dimona.warnings", summary="Long cleared",
                    subject=shift)
    attention_clear(kind="dimona.warnings", subject=shift)

    response = _page(manager_client)

    rows = [item.summary for item in response.context["cl"].result_list]
    assert rows == ["Publication refused", "Dimona-in refused"]
    content = response.content.decode()
    assert f'href="/admin/dimona/shift/{shift.pk}/change/"' in content
    assert f'href="/admin/symphonics/intervention/{intervention.pk}/change/"' in content
    assert "Declare again." in content


def test_it_filters_by_domain_kind_and_shows_cleared_items_on_request(manager_client):
    shift = ShiftFactory()
    attention_raise(domain="dimona", kind="dimona.refused", summary="refused", subject=shift)
    attention_raise(domain="dimona", kind="dimona.warnings", summary="warned", subject=shift)
    attention_raise(domain="symphonics", kind="symphonics.rejected", summary="rejected",
                    subject=InterventionFactory())
    attention_clear(kind="dimona.warnings", subject=shift)

    def summaries(**params):
        return sorted(i.summary for i in _page(manager_client, **params).context["cl"].result_list)

    assert summaries(domain="dimona") == ["refused"]
    assert summaries(kind="symphonics.rejected") == ["rejected"]
    assert summaries(state="cleared") == ["warned"]
    assert summaries(state="all", domain="dimona") == ["refused", "warned"]


def test_it_lists_many_items_with_a_constant_number_of_queries(manager_client):
    _raise_for_shifts(2)
    with CaptureQueriesContext(connection) as few:
        _page(manager_client)
    _raise_for_shifts(30)
    with CaptureQueriesContext(connection) as many:
        response = _page(manager_client)
    assert len(response.context["cl"].result_list) == 32
    assert len(many) == len(few)


def test_it_is_read_only(manager_client):
    (shift,) = _raise_for_shifts(1)
    item = AttentionItem.objects.get()

    assert manager_client.get(reverse("admin:core_attentionitem_add")).status_code == 403
    detail = manager_client.get(reverse("admin:core_attentionitem_change", args=[item.pk]))
    assert detail.status_code == 200
    assert f"/admin/dimona/shift/{shift.pk}/change/" in detail.content.decode()
    manager_client.post(reverse("admin:core_attentionitem_change", args=[item.pk]),
                        {"summary": "typed by hand"})
    item.refresh_from_db()
    assert item.summary != "typed by hand"


def test_a_user_who_may_only_view_items_sees_the_queue(client):
    _raise_for_shifts(1)
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.set([Permission.objects.get(codename="view_attentionitem")])
    client.force_login(viewer)

    assert len(_page(client).context["cl"].result_list) == 1
    assert QUEUE in _page(client, reverse("admin:index")).content.decode()


def test_a_staff_user_without_the_permission_is_refused(client):
    _raise_for_shifts(1)
    client.force_login(UserFactory(is_staff=True))

    assert client.get(QUEUE).status_code == 403
    assert QUEUE not in client.get(reverse("admin:index")).content.decode()
