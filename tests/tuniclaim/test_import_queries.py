"""The number of queries per page does not grow with the records."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.sync import sync_run_start
from apps.tuniclaim.client import tuniclaim_connection
from apps.tuniclaim.imports import import_records
from tests.tuniclaim.factories import bordereau_record, bulletin_record, item_record

pytestmark = pytest.mark.django_db


def _page(batches: int, claims: int, items: int):
    records, bulletins = [], {}
    for n in range(batches):
        record = bordereau_record(client={"code": f"C{n % 3}", "name": f"Client {n % 3}"},
                                  contract={"number": f"K{n % 2}"}, nombreBS=claims)
        records.append(record)
        bulletins[record["id"]] = [bulletin_record(items=[item_record() for _ in range(items)])
                                   for _ in range(claims)]
    return records, bulletins


def _import(records, bulletins):
    run, started = sync_run_start(kind="tuniclaim.import", connection=tuniclaim_connection())
    assert started
    return import_records(run=run, records=records, bulletins_of=bulletins.__getitem__)


def _queries(records, bulletins) -> int:
    with CaptureQueriesContext(connection) as captured:
        _import(records, bulletins)
    return len(captured)


def test_an_unchanged_page_costs_the_same_whatever_its_size(django_assert_max_num_queries):
    small = _page(batches=2, claims=2, items=1)
    large = _page(batches=40, claims=5, items=3)
    _import(*small)
    _import(*large)

    baseline = _queries(*small)
    with django_assert_max_num_queries(baseline):
        run = _import(*large)
    assert (run.unchanged, run.created, run.updated) == (40 * 6, 0, 0)


def test_more_claims_in_a_new_batch_cost_no_more_queries(django_assert_max_num_queries):
    # Small enough for one statement per table on SQLite as well.
    tuniclaim_connection()
    baseline = _queries(*_page(batches=1, claims=1, items=1))

    with django_assert_max_num_queries(baseline):
        run = _import(*_page(batches=1, claims=20, items=2))
    assert run.created == 21


# SQLite caps the parameters of one statement (999), so there Django splits
# an INSERT of a few hundred items into several statements: a number set by
# the rows per statement, which is the cap, not by the import's design. The
# benchmark's database is PostgreSQL, where one statement takes 500 rows.
@pytest.mark.postgres
def test_a_new_batch_costs_the_same_whatever_its_claims_and_items(
        django_assert_max_num_queries):
    tuniclaim_connection()
    baseline = _queries(*_page(batches=1, claims=1, items=1))

    with django_assert_max_num_queries(baseline):
        run = _import(*_page(batches=1, claims=60, items=8))
    assert run.created == 61


@pytest.mark.postgres
def test_a_changed_batch_costs_the_same_whatever_its_claims_and_items(
        django_assert_max_num_queries):
    def changed_page(claims: int, items: int) -> int:
        records, bulletins = _page(batches=1, claims=claims, items=items)
        _import(records, bulletins)
        records[0]["prestataire"] = "Another provider"
        for claim in bulletins[records[0]["id"]]:
            claim["totalPec"] = "1.000"
        return _queries(records, bulletins)

    assert changed_page(claims=60, items=8) <= changed_page(claims=1, items=1)
