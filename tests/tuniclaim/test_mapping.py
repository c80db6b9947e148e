"""The reviewed status tables, exact amounts, dates, and each kind of bad record."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from apps.tuniclaim.mapping import (
    BORDEREAU_STATUS_FROM_PLATFORM,
    BS_STATUS_FROM_PLATFORM,
    BS_STATUS_TO_PLATFORM,
    BadAmount,
    BadDate,
    InvalidRecord,
    parse_amount,
    parse_bordereau,
    parse_bulletin,
    parse_day,
    parse_moment,
)
from apps.tuniclaim.models import Bordereau, BulletinSoin, QuarantinedRecord
from tests.tuniclaim.factories import bordereau_record, bulletin_record, item_record

Reason = QuarantinedRecord.Reason
Status = BulletinSoin.Status


def test_every_bordereau_status_maps_to_one_of_ours():
    assert set(BORDEREAU_STATUS_FROM_PLATFORM.values()) == set(Bordereau.Status.values)
    assert BORDEREAU_STATUS_FROM_PLATFORM["SCANNE"] == BORDEREAU_STATUS_FROM_PLATFORM[
        "SCAN_TERMINE"] == Bordereau.Status.SCANNED


def test_both_spellings_of_in_progress_map_to_in_progress_and_in_progress_is_pushed():
    assert BS_STATUS_FROM_PLATFORM["IN_PROGRESS"] == Status.IN_PROGRESS
    assert BS_STATUS_FROM_PLATFORM["EN_COURS"] == Status.IN_PROGRESS
    assert BS_STATUS_TO_PLATFORM[Status.IN_PROGRESS] == "IN_PROGRESS"


def test_the_handler_actions_map_both_ways():
    assert BS_STATUS_FROM_PLATFORM["MIS_EN_INSTANCE"] == Status.ON_HOLD
    assert BS_STATUS_TO_PLATFORM[Status.ON_HOLD] == "MIS_EN_INSTANCE"
    assert BS_STATUS_FROM_PLATFORM["RETOURNE_CHEF"] == Status.RETURNED
    assert BS_STATUS_TO_PLATFORM[Status.RETURNED] == "RETOURNE_CHEF"


def test_every_status_of_ours_is_pushed_as_one_the_platform_sends_back():
    assert set(BS_STATUS_TO_PLATFORM) == set(Status.values)
    for ours, theirs in BS_STATUS_TO_PLATFORM.items():
        assert BS_STATUS_FROM_PLATFORM[theirs] == ours


@pytest.mark.parametrize(("value", "expected"), [
    (Decimal("150.5"), Decimal("150.500")),
    ("85.250", Decimal("85.250")),
    (" 12 ", Decimal("12.000")),
    (7, Decimal("7.000")),
    ("1.2340", Decimal("1.234")),
    (0.1, Decimal("0.100")),
    ("0", Decimal("0.000")),
])
def test_amounts_are_read_exactly(value, expected):
    amount = parse_amount(value)
    assert amount == expected
    assert amount.as_tuple().exponent == -3


@pytest.mark.parametrize("value", [
    "12.3456", "1,500", "abc", "", None, True, "NaN", "Infinity", "-1.000", "1E+100",
    "1000000000", [], {"amount": 1},
])
def test_a_bad_amount_is_refused_not_rounded(value):
    with pytest.raises(BadAmount):
        parse_amount(value)


def test_a_thousand_millimes_make_one_dinar():
    assert sum((parse_amount("0.001") for _ in range(1000)), Decimal(0)) == Decimal("1.000")


def test_dates_and_moments():
    assert parse_day("2025-03-03") == date(2025, 3, 3)
    # 23:30 UTC on the 2nd is already the 3rd in Tunis (UTC+1).
    assert parse_day("2025-03-02T23:30:00Z") == date(2025, 3, 3)
    assert parse_moment("2025-03-04T09:15:00+01:00").isoformat() == "2025-03-04T08:15:00+00:00"
    # Without an offset: Tunis time.
    assert parse_moment("2025-03-04T09:15:00").isoformat() == "2025-03-04T08:15:00+00:00"
    for bad in ("03/03/2025", "2025-02-30", "", None, 20250303):
        with pytest.raises(BadDate):
            parse_day(bad)


def test_a_bordereau_is_parsed_with_its_deadline():
    parsed = parse_bordereau(bordereau_record(
        id=42, reference="BR-1", statut="EN_COURS", dateReception="2025-03-03",
        contract={"number": "K", "delaiReglement": "10"}))
    assert (parsed.external_id, parsed.reference, parsed.status) == ("42", "BR-1",
                                                                     "in_progress")
    assert parsed.processing_deadline == date(2025, 3, 13)
    assert parsed.claim_days == 5  # the ARS default


def test_without_a_contract_the_deadline_uses_the_ars_default_delay():
    parsed = parse_bordereau(bordereau_record(dateReception="2025-03-03", contract=None))
    assert parsed.contract_number == ""
    assert parsed.processing_deadline == date(2025, 3, 8)


def test_the_hash_of_a_bordereau_changes_with_its_updated_at_and_client_name():
    record = bordereau_record()
    same = parse_bordereau(dict(record))
    assert parse_bordereau(record).content_hash == same.content_hash
    assert parse_bordereau({**record, "updatedAt": "2026-01-01T00:00:00Z"}).content_hash != \
        same.content_hash
    assert parse_bordereau({**record, "client": {"code": record["client"]["code"],
                                                 "name": "Renamed"}}).content_hash != \
        same.content_hash


def test_an_amount_written_differently_is_the_same_claim():
    first = parse_bulletin(bulletin_record(numBs="BS-1", totalPec="36", items=[]))
    second = parse_bulletin({**bulletin_record(numBs="BS-1", items=[]),
                             "codeAssure": first.fields["insured_code"],
                             "totalPec": Decimal("36.000")})
    assert first.content_hash == second.content_hash


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"reference": None}, Reason.MISSING_KEY),
    ({"id": ""}, Reason.MISSING_KEY),
    ({"client": {"name": "STAR"}}, Reason.MISSING_CLIENT),
    ({"client": "STAR"}, Reason.MISSING_CLIENT),
    ({"statut": "INCONNU"}, Reason.UNKNOWN_STATUS),
    ({"dateReception": "hier"}, Reason.BAD_DATE),
    ({"reference": "R" * 101}, Reason.BAD_RECORD),
    ({"nombreBS": 1.5}, Reason.BAD_RECORD),
])
def test_each_bad_bordereau_has_its_reason(overrides, reason):
    with pytest.raises(InvalidRecord) as refused:
        parse_bordereau(bordereau_record(**overrides))
    assert refused.value.reason == reason


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"numBs": None}, Reason.MISSING_KEY),
    ({"etat": "PAYE"}, Reason.UNKNOWN_STATUS),
    ({"etat": None}, Reason.UNKNOWN_STATUS),
    ({"totalPec": "1.0001"}, Reason.BAD_AMOUNT),
    ({"items": [item_record(participationAdherent="x")]}, Reason.BAD_AMOUNT),
    ({"dateCreation": "2025-13-01"}, Reason.BAD_DATE),
    ({"items": [1]}, Reason.BAD_RECORD),
    ({"items": [item_record(quantite="beaucoup")]}, Reason.BAD_RECORD),
])
def test_each_bad_claim_has_its_reason(overrides, reason):
    with pytest.raises(InvalidRecord) as refused:
        parse_bulletin(bulletin_record(**overrides))
    assert refused.value.reason == reason


def test_a_record_that_is_not_an_object_is_a_bad_record():
    with pytest.raises(InvalidRecord) as refused:
        parse_bordereau({"_unreadable": "garbage"})
    assert refused.value.reason == Reason.BAD_RECORD
