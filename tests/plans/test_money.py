"""Exact money: minor units from written text, in every ISO 4217 currency we know."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plans.currencies import MINOR_UNIT_EXPONENT, exponent
from plans.money import Money, MoneyError, format_minor, parse_minor

currencies = st.sampled_from(sorted(MINOR_UNIT_EXPONENT))


def _number(minor: int, currency: str) -> str:
    text, code = format_minor(minor, currency).split()
    assert code == currency
    return text


@given(currency=currencies, minor=st.integers())
def test_format_then_parse_round_trips(currency: str, minor: int) -> None:
    assert parse_minor(_number(minor, currency), currency) == minor


@given(currency=currencies, minor=st.integers(min_value=0), zeros=st.integers(1, 6))
def test_zeros_past_the_minor_unit_are_harmless(currency: str, minor: int, zeros: int) -> None:
    text = _number(minor, currency)
    padded = text + ("" if "." in text else ".") + "0" * zeros

    assert parse_minor(padded, currency) == minor


@given(
    currency=currencies,
    minor=st.integers(min_value=0),
    extra=st.from_regex(r"\A[0-9]{0,5}[1-9]\Z"),
)
def test_a_digit_past_the_minor_unit_is_refused(currency: str, minor: int, extra: str) -> None:
    text = _number(minor, currency)
    too_precise = text + ("" if "." in text else ".") + extra

    with pytest.raises(MoneyError, match=f"has more decimals than {currency} allows"):
        parse_minor(too_precise, currency)


@given(currency=currencies, whole=st.integers(0, 10**15), fraction=st.integers(0, 999))
def test_fewer_fraction_digits_are_padded(currency: str, whole: int, fraction: int) -> None:
    digits = exponent(currency)
    written = str(fraction)[:digits]  # at most as many digits as the currency has
    text = f"{whole}.{written}" if written else str(whole)

    expected = whole * 10**digits + int(written.ljust(digits, "0") or "0")
    assert parse_minor(text, currency) == expected


@given(currency=currencies, a=st.integers(), b=st.integers())
def test_adding_money_adds_minor_units(currency: str, a: int, b: int) -> None:
    assert Money(currency, a) + Money(currency, b) == Money(currency, a + b)


def test_never_through_float() -> None:
    tenth, fifth = Money.parse("0.1", "EUR"), Money.parse("0.2", "EUR")

    assert 0.1 + 0.2 != 0.3  # the float trap being avoided
    assert tenth + fifth == Money.parse("0.3", "EUR") == Money("EUR", 30)


def test_amounts_beyond_float_precision_stay_exact() -> None:
    written = "90071992547409.93"  # 9007199254740993 cents: 2**53 + 1

    assert round(float(written) * 100) != 9_007_199_254_740_993
    assert parse_minor(written, "EUR") == 9_007_199_254_740_993


def test_adding_across_currencies_is_refused() -> None:
    with pytest.raises(MoneyError, match=r"^cannot add USD to EUR$"):
        Money("EUR", 100) + Money("USD", 100)


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(MoneyError, match=r"^unknown currency 'XYZ'$"):
        Money("XYZ", 1)


@pytest.mark.parametrize("text", ["", "abc", "1,50", "1.", ".5", "+1", "1e3", "1 000"])
def test_only_plain_decimals_parse(text: str) -> None:
    with pytest.raises(MoneyError, match="is not a decimal amount"):
        parse_minor(text, "EUR")


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [
        (2900, "EUR", "29.00 EUR"),
        (-5, "EUR", "-0.05 EUR"),
        (1500, "JPY", "1500 JPY"),
        (1234, "KWD", "1.234 KWD"),
    ],
)
def test_format(minor: int, currency: str, shown: str) -> None:
    assert str(Money(currency, minor)) == shown


def test_times() -> None:
    assert Money("EUR", 2900).times(12) == Money("EUR", 34800)
