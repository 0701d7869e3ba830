"""Customer numbers and activation codes as people type them (product §2): separators ignored,
10 ASCII digits, a customer number starts with 2."""

from __future__ import annotations

import pytest

from idp.accounts.activation import is_activation_code
from idp.accounts.activation import is_customer_number
from idp.accounts.activation import normalise_activation_code
from idp.accounts.activation import normalise_customer_number


@pytest.mark.parametrize(
    "typed",
    [
        "2000000018",
        "2 000 000 018",
        "2.000.000.018",
        "2000/000/018",
        "2000-000-018",
        " 2000000018 ",
        "2\u00a0000\u00a0000\u00a0018",  # no-break spaces, as pasted from a PDF
        "2 000.000/018",
    ],
)
def test_separators_are_removed(typed):
    number = normalise_customer_number(typed)
    assert number == "2000000018"
    assert is_customer_number(number)


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param("200000001", id="9-digits"),
        pytest.param("20000000181", id="11-digits"),
        pytest.param("1000000018", id="starts-with-1"),
        pytest.param("0200000001", id="starts-with-0"),
        pytest.param("2000ABC018", id="letters"),
        pytest.param("2000000O18", id="letter-O-for-zero"),
        pytest.param("٢٠٠٠٠٠٠٠١٨", id="arabic-indic-digits"),
        pytest.param("2٠٠٠٠٠٠٠١٨", id="ascii-2-then-arabic-indic-digits"),
        pytest.param("2０００００００１８", id="ascii-2-then-fullwidth-digits"),
        pytest.param("２０００００００１８", id="fullwidth-digits"),
        pytest.param("+2000000018", id="plus-sign"),
        pytest.param("", id="empty"),
    ],
)
def test_invalid_customer_numbers_are_refused(typed):
    assert not is_customer_number(normalise_customer_number(typed))


@pytest.mark.parametrize("value", ["2000000018\n", " 2000000018", "2000000018 "])
def test_format_check_does_not_normalise(value):
    assert not is_customer_number(value)


def test_normalise_accepts_none():
    assert normalise_customer_number(None) == ""  # type: ignore[arg-type]


@pytest.mark.parametrize("typed", ["4815162342", "4815 1623 42", "48-15-16-23-42", "4815.162.342"])
def test_activation_code_separators_are_removed(typed):
    code = normalise_activation_code(typed)
    assert code == "4815162342" and is_activation_code(code)


@pytest.mark.parametrize(
    "typed",
    [
        "481516234",
        "48151623420",
        "48151623A2",
        "٤٨١٥١٦٢٣٤٢",
        "4٨١٥١٦٢٣٤٢",
        "４８１５１６２３４２",
        "",
    ],
    ids=[
        "9-digits",
        "11-digits",
        "letter",
        "arabic-indic",
        "ascii-then-arabic-indic",
        "fullwidth",
        "empty",
    ],
)
def test_invalid_activation_codes_are_refused(typed):
    assert not is_activation_code(normalise_activation_code(typed))
