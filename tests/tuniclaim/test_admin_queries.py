"""The MY TUNICLAIM change lists are built for tables of hundreds of thousands of rows:
as many queries for 50 rows as for 5, and never a count of the whole table."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.tuniclaim.test_admin import (
    make_bordereau,
    make_bulletin,
    make_client,
    make_quarantined,
    make_run,
)

pytestmark = pytest.mark.django_db


def _bulletin_rows(count: int) -> None:
    # Several bordereaux and clients: a query per row's bordereau or client would show.
    for _ in range(count):
        make_bulletin(items=0)


def _bordereau_rows(count: int) -> None:
    for _ in range(count):
        make_bordereau()


def _quarantine_rows(count: int) -> None:
    run = make_run()
    for _ in range(count):
        make_quarantined(run=run)


def _client_rows(count: int) -> None:
    for _ in range(count):
        make_client()


def _contract_rows(count: int) -> None:
    # A bordereau comes with its client and contract.
    _bordereau_rows(count)


CASES = {
    "bulletinsoin": _bulletin_rows,
    "bordereau": _bordereau_rows,
    "quarantinedrecord": _quarantine_rows,
    "client": _client_rows,
    "contract": _contract_rows,
}


def _queries(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [query["sql"] for query in captured]


@pytest.mark.parametrize("model", sorted(CASES))
def test_it_makes_as_many_queries_for_50_rows_as_for_5(manager_client, model):
    url = reverse(f"admin:tuniclaim_{model}_changelist")
    CASES[model](5)
    manager_client.get(url)  # the first view warms the session and the content types
    five = _queries(manager_client, url)

    CASES[model](45)
    fifty = _queries(manager_client, url)

    assert len(fifty) == len(five), "\n".join(fifty)


@pytest.mark.parametrize("model", sorted(CASES))
def test_it_never_counts_the_whole_table(manager_client, model):
    CASES[model](3)
    url = reverse(f"admin:tuniclaim_{model}_changelist")

    counts = [sql for sql in _queries(manager_client, url) if "COUNT(" in sql.upper()]

    assert counts
    assert all("LIMIT" in sql.upper() for sql in counts), counts


@pytest.mark.parametrize("model", ["bulletinsoin", "quarantinedrecord"])
def test_it_never_scans_the_table_for_filter_choices(manager_client, model):
    CASES[model](3)

    queries = _queries(manager_client, reverse(f"admin:tuniclaim_{model}_changelist"))

    assert not [sql for sql in queries if "DISTINCT" in sql.upper()]


def test_the_claims_list_filtered_by_client_stays_constant(manager_client):
    client = make_client()
    bordereau = make_bordereau(client=client)
    url = f"{reverse('admin:tuniclaim_bulletinsoin_changelist')}?client={client.pk}"
    for _ in range(5):
        make_bulletin(bordereau=bordereau, items=0)
    manager_client.get(url)
    five = _queries(manager_client, url)

    for _ in range(45):
        make_bulletin(bordereau=bordereau, items=0)
    fifty = _queries(manager_client, url)

    assert len(fifty) == len(five)


def test_the_claims_list_is_read_along_an_index_not_sorted_through_a_join(manager_client):
    """The model's ordering ("bordereau") would sort every claim by its bordereau's date."""
    CASES["bulletinsoin"](3)

    queries = _queries(manager_client, reverse("admin:tuniclaim_bulletinsoin_changelist"))

    [listing] = [sql for sql in queries if "tuniclaim_bulletinsoin\".\"insured_name" in sql
                 and "COUNT(" not in sql.upper()]
    order = listing[listing.upper().rindex("ORDER BY"):]
    assert order.startswith('ORDER BY "tuniclaim_bulletinsoin"."bordereau_id" DESC'), order
    assert "received_on" not in order
