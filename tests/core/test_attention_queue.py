"""The attention queue's services: one open item per key, refreshed; cleared by the domains."""

from __future__ import annotations

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType

from apps.core.attention import attention_clear, attention_raise
from apps.core.attention_selectors import attention_object_url, attention_open_items
from apps.core.models import AttentionItem
from tests.dimona.factories import ShiftFactory, brussels

pytestmark = pytest.mark.django_db


def test_it_refreshes_the_open_item_when_raised_twice():
    shift = ShiftFactory()
    with time_machine.travel(brussels(2026, 11, 22, 20), tick=False):
        first = attention_raise(domain="dimona", kind="dimona.refused", summary="refused once",
                                subject=shift)
    with time_machine.travel(brussels(2026, 11, 22, 21), tick=False):
        second = attention_raise(domain="dimona", kind="dimona.refused",
                                 summary="refused again", subject=shift, action_hint="fix it")

    assert second.pk == first.pk
    assert AttentionItem.objects.count() == 1
    assert (second.summary, second.action_hint) == ("refused again", "fix it")
    assert second.updated_at > first.updated_at
    assert second.created_at == first.created_at


def test_it_opens_a_new_item_after_the_old_one_was_cleared():
    shift = ShiftFactory()
    first = attention_raise(domain="dimona", kind="dimona.refused", summary="a", subject=shift)
    attention_clear(kind="dimona.refused", subject=shift)
    second = attention_raise(domain="dimona", kind="dimona.refused", summary="b", subject=shift)

    assert second.pk != first.pk
    assert list(AttentionItem.objects.open()) == [second]


def test_it_clears_only_what_it_is_asked_to(django_user_model):
    shift, other = ShiftFactory(), ShiftFactory()
    manager = django_user_model.objects.create_user("clearer")
    for kind in ("dimona.refused", "dimona.warnings"):
        attention_raise(domain="dimona", kind=kind, summary=kind, subject=shift)
    attention_raise(domain="dimona", kind="dimona.refused", summary="other", subject=other)

    assert attention_clear(subject=shift, kinds=["dimona.refused"], by=manager) == 1
    assert attention_clear(subject=shift, domain="symphonics") == 0

    open_items = set(AttentionItem.objects.open().values_list("kind", "object_id"))
    assert open_items == {("dimona.warnings", str(shift.pk)), ("dimona.refused", str(other.pk))}
    cleared = AttentionItem.objects.get(cleared_at__isnull=False)
    assert cleared.cleared_by == manager


def test_it_clears_by_key_an_item_about_no_object():
    attention_raise(domain="core", kind="core.broken", summary="down", key="core.broken:acme")
    assert attention_clear(key="core.broken:acme") == 1
    assert not AttentionItem.objects.open().exists()


def test_it_refuses_a_clear_that_names_nothing():
    with pytest.raises(ValueError):
        attention_clear(kind="dimona.refused")


def test_it_lists_open_items_newest_first_with_their_admin_links():
    shift = ShiftFactory()
    with time_machine.travel(brussels(2026, 11, 22, 20), tick=False):
        older = attention_raise(domain="dimona", kind="dimona.refused", summary="old",
                                subject=shift)
    with time_machine.travel(brussels(2026, 11, 22, 21), tick=False):
        newer = attention_raise(domain="core", kind="core.broken", summary="new",
                                key="core.broken:acme")

    assert list(attention_open_items()) == [newer, older]
    assert list(attention_open_items(domain="dimona")) == [older]
    assert attention_object_url(older) == f"/admin/dimona/shift/{shift.pk}/change/"
    assert attention_object_url(newer) == ""


def test_it_gives_no_link_for_a_model_without_an_admin_page():
    item = attention_raise(domain="core", kind="core.odd", summary="about a content type",
                           subject=ContentType.objects.get_for_model(AttentionItem))
    assert attention_object_url(item) == ""
