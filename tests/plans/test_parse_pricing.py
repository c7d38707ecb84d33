"""The pricing block: currency, exact amounts, interval, trial and commitment."""

from __future__ import annotations

import pytest

from plans import Money
from tests.fixtures.catalog import (
    add_line,
    column_of,
    line_of,
    load_text,
    only_problem,
    plan_yaml,
    remove_line,
    set_line,
)

SERVER = plan_yaml("server_hosting")
HOUR_BANK = plan_yaml("support_hour_bank")  # priced per year
PACKAGE = plan_yaml("service_package")  # priced once
WRITE_LIKE = 'write amounts like "29.00"'


def _priced(currency: str, amount: str) -> str:
    return set_line(set_line(SERVER, "currency:", f"currency: {currency}"), "amount:", amount)


def test_unknown_currency() -> None:
    text = set_line(SERVER, "currency:", "currency: EUD")

    problem = only_problem(text)

    assert problem.message == "unknown currency 'EUD'; expected an ISO 4217 code such as EUR"
    assert (problem.plan, problem.field) == ("server-test", "pricing.currency")
    assert (problem.line, problem.column) == (line_of(text, "currency:"), 17)


def test_lower_case_currency_gets_a_hint() -> None:
    text = set_line(SERVER, "currency:", "currency: eur")

    problem = only_problem(text)

    assert problem.message == (
        "unknown currency 'eur' (codes are upper case: 'EUR'); "
        "expected an ISO 4217 code such as EUR"
    )
    assert (problem.field, problem.line) == ("pricing.currency", line_of(text, "currency:"))


@pytest.mark.parametrize("amount", ['"-9.00"', "-9.00", "-9"])
def test_negative_amount(amount: str) -> None:
    text = set_line(SERVER, "amount:", f"amount: {amount}")

    problem = only_problem(text)

    assert problem.message.endswith(" is negative; amounts must be zero or more")
    assert (problem.plan, problem.field) == ("server-test", "pricing.amount")
    assert (problem.line, problem.column) == (line_of(text, "amount:"), 15)


def test_fraction_of_a_cent() -> None:
    text = set_line(SERVER, "amount:", 'amount: "29.999"')

    problem = only_problem(text)

    assert problem.message == (
        f"'29.999' has more decimals than EUR allows (smallest unit 0.01); {WRITE_LIKE}"
    )
    assert (problem.field, problem.line) == ("pricing.amount", line_of(text, "amount:"))


def test_fraction_of_a_zero_decimal_currency() -> None:
    text = _priced("JPY", 'amount: "1.5"')

    problem = only_problem(text)

    assert problem.message == (
        f"'1.5' has more decimals than JPY allows (smallest unit 1); {WRITE_LIKE}"
    )
    assert (problem.field, problem.line) == ("pricing.amount", line_of(text, "amount:"))


@pytest.mark.parametrize(
    ("currency", "amount", "minor"),
    [
        ("EUR", 'amount: "29.00"', 2900),
        ("EUR", 'amount: "29.5"', 2950),
        ("EUR", 'amount: "29.990"', 2999),  # trailing zeros past the cent are harmless
        ("EUR", "amount: 29.99", 2999),  # unquoted: read from its text, not as a float
        ("JPY", 'amount: "1500"', 1500),
        ("KWD", 'amount: "1.234"', 1234),
        ("EUR", "amount_minor: 2900", 2900),
    ],
)
def test_amounts_are_exact_minor_units(currency: str, amount: str, minor: int) -> None:
    text = _priced(currency, amount)

    assert load_text(text).get("server-test").pricing.amount == Money(currency, minor)


def test_amount_and_amount_minor_both_given() -> None:
    text = add_line(SERVER, "amount:", "amount_minor: 900")

    problem = only_problem(text)

    assert problem.message == "write either amount or amount_minor, not both"
    assert (problem.field, problem.line) == ("pricing.amount_minor", line_of(text, "amount_minor:"))
    assert problem.column == column_of(text, "amount_minor:", "900")


def test_missing_amount_shows_both_spellings() -> None:
    text = remove_line(SERVER, "amount:")

    problem = only_problem(text)

    assert problem.message == (
        'required field is missing; write amount: "29.00" or amount_minor: 2900'
    )
    assert problem.field == "pricing.amount"


def test_absurdly_long_amount_is_a_problem_not_a_crash() -> None:
    text = set_line(SERVER, "amount:", f'amount: "{"9" * 5000}"')

    problem = only_problem(text)

    assert problem.message == f"an amount of 5000 digits is too large; {WRITE_LIKE}"


@pytest.mark.parametrize(
    ("interval", "allowed"), [("week", "month, year"), ("hour", "month, year")]
)
def test_interval_not_allowed_for_hosting(interval: str, allowed: str) -> None:
    text = set_line(SERVER, "interval:", f"interval: {interval}")

    problem = only_problem(text)

    assert problem.message == f"{interval!r} is not allowed; allowed: {allowed}"
    assert (problem.field, problem.line) == ("pricing.interval", line_of(text, "interval:"))
    assert problem.column == column_of(text, "interval:", interval)


def test_interval_of_a_package_is_once() -> None:
    text = set_line(PACKAGE, "interval:", "interval: month")

    problem = only_problem(text)

    assert problem.message == "'month' is not allowed; allowed: once"
    assert problem.plan == "service-test"


def test_commitment_on_a_yearly_price_is_whole_years() -> None:
    text = add_line(
        HOUR_BANK, "interval:", "commitment: {months: 18, early_cancellation: end_of_term}"
    )

    problem = only_problem(text)

    assert problem.message == "18 months is not a whole number of years; allowed: multiples of 12"
    assert (problem.plan, problem.field) == ("support-test", "pricing.commitment.months")
    assert (problem.line, problem.column) == (
        line_of(text, "commitment:"),
        column_of(text, "commitment:", "18"),
    )


def test_early_cancellation_fee_without_the_fee() -> None:
    text = add_line(SERVER, "interval:", "commitment:\n  months: 6\n  early_cancellation: fee")

    problem = only_problem(text)

    assert problem.message == "required field is missing; early_cancellation is 'fee'"
    assert problem.field == "pricing.commitment.early_cancellation_fee"
    assert (problem.line, problem.column) == (line_of(text, "months: 6"), 9)


def test_fee_with_another_early_cancellation_policy() -> None:
    text = add_line(
        SERVER,
        "interval:",
        'commitment: {months: 6, early_cancellation: end_of_term, early_cancellation_fee: "9"}',
    )

    problem = only_problem(text)

    assert problem.message == "only applies when early_cancellation is 'fee', not 'end_of_term'"


def test_trial_on_a_once_priced_package() -> None:
    text = add_line(PACKAGE, "interval:", "trial_months: 1")

    problem = only_problem(text)

    assert problem.message == "only recurring prices (month, year) have trial months"
    assert (problem.plan, problem.field) == ("service-test", "pricing.trial_months")
    assert (problem.line, problem.column) == (line_of(text, "trial_months:"), 21)


def test_full_width_digits_are_not_an_amount() -> None:
    problem = only_problem(set_line(SERVER, "amount:", 'amount: "\uff12\uff19.\uff10\uff10"'))

    assert problem.field == "pricing.amount"
    assert "is not a decimal amount" in problem.message
