"""Support models (flat rate, per hour, hour bank), their coverage, and service terms."""

from __future__ import annotations

from plans import SupportPlan
from plans.model import HourBank, Rollover
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

FLAT_RATE = plan_yaml("support_flat_rate")
PER_HOUR = plan_yaml("support_per_hour")
HOUR_BANK = plan_yaml("support_hour_bank")
ROLLOVER = "rollover: {max_hours: 5, months: 2}"


def _rolling_over(text: str) -> str:
    return add_line(set_line(text, "unused:", "unused: rollover"), "unused:", ROLLOVER)


def test_hour_bank_with_rollover() -> None:
    plan = load_text(_rolling_over(HOUR_BANK)).get("support-test")

    assert isinstance(plan, SupportPlan)
    assert isinstance(plan.terms, HourBank)
    assert plan.terms.rollover == Rollover(max_minutes=300, months=2)


def test_rollover_without_included_hours() -> None:
    text = _rolling_over(set_line(HOUR_BANK, "included_hours:", "included_hours: 0"))

    problem = only_problem(text)

    assert problem.message == (
        "rollover needs included hours; with 0 included hours nothing rolls over"
    )
    assert (problem.plan, problem.field) == ("support-test", "support.included_hours")
    assert (problem.line, problem.column) == (line_of(text, "included_hours:"), 23)


def test_rollover_on_a_per_hour_plan() -> None:
    text = add_line(PER_HOUR, "monthly_cap_hours:", ROLLOVER)

    problem = only_problem(text)

    assert problem.message == (
        "rollover needs included hours: only hour_bank plans roll hours over"
    )
    assert (problem.plan, problem.field) == ("support-test", "support.rollover")
    assert (problem.line, problem.column) == (line_of(text, "rollover:"), 7)


def test_cap_on_a_flat_rate_plan_has_its_own_message() -> None:
    text = add_line(FLAT_RATE, "extra_work_rate:", "monthly_cap_hours: 10")

    problem = only_problem(text)

    assert problem.message == (
        "flat_rate support is unlimited, so it cannot have a cap; "
        "use a per_hour or hour_bank plan for capped support"
    )
    assert (problem.field, problem.line) == (
        "support.monthly_cap_hours",
        line_of(text, "monthly_cap_hours:"),
    )


def test_cap_on_an_hour_bank_plan() -> None:
    text = add_line(HOUR_BANK, "unused:", "monthly_cap_hours: 10")

    problem = only_problem(text)

    assert problem.message == (
        "a monthly cap protects per-hour customers; "
        "hour_bank plans have none (only per_hour plans take monthly_cap_hours)"
    )


def test_per_hour_without_a_cap() -> None:
    text = remove_line(PER_HOUR, "monthly_cap_hours:")

    problem = only_problem(text)

    assert problem.message == (
        "required field is missing; per-hour support needs a cap against runaway cost"
    )
    assert (problem.plan, problem.field) == ("support-test", "support.monthly_cap_hours")
    # Reported at the support block that lacks it.
    assert (problem.line, problem.column) == (line_of(text, "model:"), 7)


def test_unused_expire_with_a_rollover_block() -> None:
    text = add_line(HOUR_BANK, "unused:", ROLLOVER)

    problem = only_problem(text)

    assert problem.message == "unused hours expire on this plan; set unused: rollover to roll over"
    assert (problem.field, problem.line) == ("support.rollover", line_of(text, "rollover:"))
    assert problem.column == column_of(text, "rollover:", "{")


def test_unused_rollover_without_a_rollover_block() -> None:
    text = set_line(HOUR_BANK, "unused:", "unused: rollover")

    problem = only_problem(text)

    assert problem.message == (
        "required field is missing; unused: rollover needs max_hours and months"
    )
    assert problem.field == "support.rollover"


def test_unknown_support_model() -> None:
    text = set_line(PER_HOUR, "model:", "model: retainer")

    problem = only_problem(text)

    assert problem.message == (
        "'retainer' is not a support model; allowed: flat_rate, per_hour, hour_bank"
    )
    assert (problem.field, problem.line) == ("support.model", line_of(text, "model:"))


def test_flat_rate_extra_work_rate_must_be_more_than_zero() -> None:
    text = set_line(FLAT_RATE, "extra_work_rate:", 'extra_work_rate: "0.00"')

    problem = only_problem(text)

    assert problem.message == "must be more than zero"
    assert problem.field == "support.extra_work_rate"


def test_package_service_needs_its_hours() -> None:
    text = remove_line(plan_yaml("service_package"), "package_hours:")

    problem = only_problem(text)

    assert problem.message == ("required field is missing; a package says how many hours it covers")
    assert (problem.plan, problem.field) == ("service-test", "service.package_hours")


def test_per_hour_service_has_no_package_hours() -> None:
    text = add_line(plan_yaml("service_per_hour"), "billing:", "package_hours: 4")

    problem = only_problem(text)

    assert problem.message == "only billing: package has package_hours"
    assert problem.line == line_of(text, "package_hours:")


def test_support_without_a_model_names_the_models() -> None:
    problem = only_problem(remove_line(FLAT_RATE, "model:"))

    assert problem.field == "support.model"
    assert problem.message == "required field is missing; allowed: flat_rate, per_hour, hour_bank"
