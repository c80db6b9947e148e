"""The selectors the admin and the API list with: bordereaux and bulletins filtered
(by a Client or its code, a Bordereau or its id, inclusive date ranges), one
bulletin with its care acts, and the import's status."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from apps.core.models import SyncRun
from apps.tuniclaim import imports, selectors
from apps.tuniclaim.client import tuniclaim_connection
from apps.tuniclaim.models import Bordereau, BulletinSoin, Client
from tests.tuniclaim.factories import (
    BordereauFactory,
    BulletinSoinFactory,
    BulletinSoinItemFactory,
    ClientFactory,
)

pytestmark = pytest.mark.django_db

Status = BulletinSoin.Status


@pytest.fixture
def claims():
    """Two clients; three bordereaux received on the 1st, 10th and 20th of
    November; a BS created on each of those days in each bordereau."""
    star, gat = ClientFactory(code="STAR"), ClientFactory(code="GAT")
    made = {}
    for n, (client, day) in enumerate([(star, 1), (star, 10), (gat, 20)], start=1):
        bordereau = BordereauFactory(client=client, received_on=date(2026, 11, day))
        made[f"bordereau{n}"] = bordereau
        for created in (1, 10, 20):
            made[f"bs{n}-{created}"] = BulletinSoinFactory(
                bordereau=bordereau, number=f"BS-{n}-{created}",
                created_on=date(2026, 11, created),
                status=Status.VALIDATED if created == 10 else Status.IN_PROGRESS,
                payment_status="EXECUTE" if created == 20 else "")
    return made


def test_bordereaux_by_client_code_or_client_newest_first(claims):
    star = Client.objects.get(code="STAR")

    by_code = list(selectors.bordereaux_filtered(client="STAR"))
    by_client = list(selectors.bordereaux_filtered(client=star))

    assert by_code == by_client == [claims["bordereau2"], claims["bordereau1"]]


def test_bordereaux_reception_dates_are_inclusive(claims):
    found = selectors.bordereaux_filtered(received_from=date(2026, 11, 10),
                                          received_to=date(2026, 11, 20))

    assert list(found) == [claims["bordereau3"], claims["bordereau2"]]


def test_bordereaux_by_status(claims):
    Bordereau.objects.filter(pk=claims["bordereau1"].pk).update(status=Bordereau.Status.PAID)

    assert list(selectors.bordereaux_filtered(status="paid")) == [claims["bordereau1"]]


def test_no_filter_is_every_row(claims):
    assert selectors.bordereaux_filtered().count() == 3
    assert selectors.bulletins_filtered().count() == 9


def test_bulletins_by_client_bordereau_or_its_id(claims):
    gat = Client.objects.get(code="GAT")
    bordereau = claims["bordereau1"]

    assert {b.number for b in selectors.bulletins_filtered(client=gat)} == {
        "BS-3-1", "BS-3-10", "BS-3-20"}
    assert list(selectors.bulletins_filtered(client="GAT")) == list(
        selectors.bulletins_filtered(client=gat))
    assert list(selectors.bulletins_filtered(bordereau=bordereau)) == list(
        selectors.bulletins_filtered(bordereau=bordereau.pk))
    assert {b.bordereau_id for b in selectors.bulletins_filtered(bordereau=bordereau)} == {
        bordereau.pk}


def test_bulletins_by_status_payment_and_inclusive_creation_dates(claims):
    validated = selectors.bulletins_filtered(status="validated", client="STAR")
    paid = selectors.bulletins_filtered(payment_status="EXECUTE",
                                        created_from=date(2026, 11, 20),
                                        created_to=date(2026, 11, 20))
    middle = selectors.bulletins_filtered(created_from=date(2026, 11, 2),
                                          created_to=date(2026, 11, 19))

    assert {b.number for b in validated} == {"BS-1-10", "BS-2-10"}
    assert {b.number for b in paid} == {"BS-1-20", "BS-2-20", "BS-3-20"}
    assert {b.number for b in middle} == {"BS-1-10", "BS-2-10", "BS-3-10"}


def test_bulletins_come_with_bordereau_and_client_in_the_same_query(
        claims, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = [(b.bordereau.reference, b.bordereau.client.code)
                for b in selectors.bulletins_filtered()]

    assert len(rows) == 9


def test_bulletin_get_has_its_items_in_line_order_and_none_for_an_unknown_id(
        claims, django_assert_num_queries):
    bulletin = claims["bs1-1"]
    for line in (3, 1, 2):
        BulletinSoinItemFactory(bulletin=bulletin, line_number=line)

    with django_assert_num_queries(2):
        found = selectors.bulletin_get(bulletin_id=bulletin.pk)
        lines = [item.line_number for item in found.items.all()]

    assert lines == [1, 2, 3]
    assert selectors.bulletin_get(bulletin_id=999999) is None


def test_import_status_has_the_running_run_and_the_last_runs_newest_first():
    connection = tuniclaim_connection()
    now = timezone.now()
    older = SyncRun.objects.create(kind=imports.IMPORT_KIND, connection=connection,
                                   status=SyncRun.Status.SUCCESS,
                                   started_at=now - timedelta(hours=1),
                                   finished_at=now - timedelta(minutes=58))
    running = SyncRun.objects.create(kind=imports.IMPORT_KIND, connection=connection,
                                     started_at=now - timedelta(minutes=1))
    SyncRun.objects.create(kind="other.import", connection=connection, started_at=now)

    status = selectors.import_status()

    assert status.running == running
    assert status.last_runs == [running, older]
    assert status.health == selectors.import_health()


def test_import_status_with_nothing_running():
    status = selectors.import_status()

    assert status.running is None
    assert status.last_runs == []
