import pytest

from apps.dimona.validators import enterprise_number_is_valid, normalise_digits, ssin_is_valid
from tests.dimona.factories import valid_enterprise_number, valid_ssin


@pytest.mark.parametrize("ssin", ["85073003328", valid_ssin("010203123", born_2000=True)])
def test_it_accepts_valid_ssins_of_both_centuries(ssin):
    assert ssin_is_valid(ssin)


@pytest.mark.parametrize("ssin", ["85073003329", "8507300332", "850730033280", "abcdefghijk"])
def test_it_rejects_bad_ssins(ssin):
    assert not ssin_is_valid(ssin)


def test_it_rejects_a_2000s_check_computed_the_20th_century_way():
    born_2001 = "010203123"
    wrong = f"{born_2001}{(97 - int(born_2001) % 97 + 1) % 97:02d}"
    assert not ssin_is_valid(wrong)


def test_it_checks_enterprise_numbers():
    assert enterprise_number_is_valid(valid_enterprise_number("04031707"))
    assert enterprise_number_is_valid("0403170701")
    assert not enterprise_number_is_valid("0403170702")
    assert not enterprise_number_is_valid("2403170701")  # must start with 0 or 1


def test_it_normalises_typed_numbers():
    assert normalise_digits("BE 0403.170.701") == "0403170701"
    assert normalise_digits("85.07.30-033.28") == "85073003328"
