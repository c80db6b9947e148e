"""Dimona in the attention queue: raised by a refusal, cleared by what settles it."""

from __future__ import annotations

import importlib

import pytest
import time_machine
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.core.attention_selectors import attention_open_for
from apps.core.models import AttentionItem
from apps.dimona import services
from apps.dimona.models import DimonaDeclaration
from tests.dimona.factories import ShiftFactory, brussels
from tests.dimona.helpers import drive_outbox

Status = DimonaDeclaration.Status
WRONG_COMMISSION = {"errorId": "90374-349", "label": {"fr": "Commission paritaire incorrecte"}}
FLEXI_WARNING = {"errorId": "90017-510", "label": {"fr": "Conditions flexi non respectées"}}


def settle(action, *, at=None):
    with time_machine.travel(at or brussels(2026, 11, 22, 20), tick=False) as traveller:
        result = action()
        drive_outbox(traveller)
    return result


@pytest.mark.django_db
def test_it_raises_a_refused_in_and_clears_it_when_the_next_in_is_accepted(onss):
    onss.accept_posts()
    onss.result(900000000001, "B", period_id=0, anomalies=[WRONG_COMMISSION])
    onss.result(900000000002, "A", period_id=77)
    shift = ShiftFactory()

    settle(lambda: services.shift_declare(shift=shift))
    item = AttentionItem.objects.open().get()
    assert (item.domain, item.kind, item.subject) == ("dimona", "dimona.refused", shift)
    assert "90374-349" in item.summary and "declare again" in item.action_hint

    settle(lambda: services.shift_declare(shift=shift))
    assert attention_open_for(shift) == {}
    item.refresh_from_db()
    assert item.cleared_at is not None


@pytest.mark.django_db
def test_it_clears_the_shifts_items_when_it_is_cancelled(onss):
    onss.accept_posts()
    onss.result(900000000001, "W", period_id=77, anomalies=[FLEXI_WARNING])
    onss.result(900000000002, "A", period_id=77)
    shift = ShiftFactory(start=brussels(2026, 11, 23, 17))
    settle(lambda: services.shift_declare(shift=shift))
    assert list(attention_open_for(shift)) == ["dimona.warnings"]

    settle(lambda: services.shift_cancel(shift=shift, reason="closed"))

    assert attention_open_for(shift) == {}


@pytest.mark.django_db
def test_it_shows_the_attention_column_and_filter_from_the_items(manager_client, onss):
    onss.accept_posts()
    onss.result(900000000001, "B", period_id=0, anomalies=[WRONG_COMMISSION])
    flagged, calm = ShiftFactory(), ShiftFactory()
    settle(lambda: services.shift_declare(shift=flagged))

    page = manager_client.get("/admin/dimona/shift/", {"needs_attention": "1"})
    calm_page = manager_client.get("/admin/dimona/shift/", {"needs_attention": "0"})

    assert [s.pk for s in page.context["cl"].result_list] == [flagged.pk]
    assert "⚠ Dimona-in refused: 90374-349" in page.content.decode()
    assert [s.pk for s in calm_page.context["cl"].result_list] == [calm.pk]


@pytest.mark.django_db
def test_it_says_in_the_api_whether_a_shift_needs_attention(api_client, onss):
    onss.accept_posts()
    onss.result(900000000001, "B", period_id=0, anomalies=[WRONG_COMMISSION])
    flagged, calm = ShiftFactory(), ShiftFactory()
    settle(lambda: services.shift_declare(shift=flagged))

    detail = api_client.get(f"/api/dimona/shifts/{flagged.pk}/").json()
    listed = api_client.get("/api/dimona/shifts/", {"needs_attention": "true"}).json()
    others = api_client.get("/api/dimona/shifts/", {"needs_attention": "false"}).json()

    assert detail["needs_attention"] is True
    assert "90374-349" in detail["attention_reason"]
    assert [s["id"] for s in listed["results"]] == [flagged.pk]
    assert [(s["id"], s["needs_attention"], s["attention_reason"])
            for s in others["results"]] == [(calm.pk, False, "")]


MIGRATION = "0004_dimona_attention_items"


def test_it_names_the_kind_of_an_old_reason():
    migration = importlib.import_module(f"apps.dimona.migrations.{MIGRATION}")
    assert migration.kind_for_reason("Dimona-in refused: 90374-349") == "dimona.refused"
    assert migration.kind_for_reason(
        "Dimona-in not accepted by the API: Bad Request") == "dimona.refused"
    assert migration.kind_for_reason(
        "Dimona accepted with warnings: 90017-510") == "dimona.warnings"
    assert migration.kind_for_reason(
        "No Dimona result after 20 minutes (x)") == "dimona.manual_check"


@pytest.mark.django_db(transaction=True)
def test_it_moves_a_flagged_shift_into_the_queue_when_migrating():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    (before,) = [parent for parent in executor.loader.graph.node_map[("dimona", MIGRATION)].parents
                 if parent.key[0] == "dimona"]
    executor.migrate([before.key])
    try:
        old = executor.loader.project_state([before.key]).apps
        employer = old.get_model("dimona", "Employer").objects.create(
            name="Frituur", enterprise_number="0403170701")
        worker = old.get_model("dimona", "Worker").objects.create(
            first_name="Lina", last_name="Peeters", ssin="85073003328", ssin_index="x")
        shifts = old.get_model("dimona", "Shift").objects
        flagged = shifts.create(
            employer=employer, worker=worker, start=brussels(2026, 11, 23, 17),
            end=brussels(2026, 11, 23, 21), needs_attention=True,
            attention_reason="Dimona-in refused: 90374-349 Commission paritaire incorrecte")
        shifts.create(employer=employer, worker=worker, start=brussels(2026, 11, 24, 17),
                      end=brussels(2026, 11, 24, 21))

        MigrationExecutor(connection).migrate(latest)

        item = AttentionItem.objects.get()
        assert (item.domain, item.kind, item.object_id) == ("dimona", "dimona.refused",
                                                            str(flagged.pk))
        assert item.summary.startswith("Dimona-in refused: 90374-349")
        assert item.cleared_at is None
        assert item.subject.pk == flagged.pk
    finally:
        MigrationExecutor(connection).migrate(latest)
