"""The typed readers every block uses: unknown and missing keys, wrong types, scaled numbers."""

from __future__ import annotations

import pytest

from plans import reader as r
from plans.yaml_source import Mark, Scalar
from tests.fixtures.catalog import (
    add_line,
    column_of,
    line_of,
    load_text,
    only_problem,
    plan_yaml,
    remove_line,
    set_block,
    set_line,
)

SERVER = plan_yaml("server_hosting")


def test_unknown_key_suggests_the_closest_allowed_one() -> None:
    text = add_line(SERVER, "name:", "descripton: A small server")

    problem = only_problem(text)

    assert problem.message.startswith(
        "unknown field 'descripton'; did you mean 'description'? allowed: id, kind, version,"
    )
    assert (problem.plan, problem.field) == ("server-test", "descripton")
    assert (problem.line, problem.column) == (line_of(text, "descripton:"), 5)


def test_unknown_key_without_a_close_match_lists_the_allowed_keys() -> None:
    text = add_line(SERVER, "cpus:", "ssd: true")

    problem = only_problem(text)

    assert problem.message == (
        "unknown field 'ssd'; allowed: cpus, memory_mb, disk_gb, max_processes"
    )
    assert (problem.field, problem.line) == ("resources.ssd", line_of(text, "ssd:"))


def test_missing_required_field() -> None:
    text = remove_line(SERVER, "name:")

    problem = only_problem(text)

    assert problem.message == "required field is missing"
    assert (problem.plan, problem.field) == ("server-test", "name")
    # Reported at the plan that lacks it: the mapping starts after "- " on the id line.
    assert (problem.line, problem.column) == (line_of(text, "- id:"), 5)


def test_string_where_a_whole_number_is_expected() -> None:
    text = set_line(SERVER, "memory_mb:", "memory_mb: lots")

    problem = only_problem(text)

    assert problem.message == "expected a whole number from 16 to 1048576, got str 'lots'"
    assert (problem.plan, problem.field) == ("server-test", "resources.memory_mb")
    assert (problem.line, problem.column) == (line_of(text, "memory_mb:"), 18)


@pytest.mark.parametrize("written", ["01", "1:30"])
def test_yaml_1_1_integers_are_refused_not_a_crash(written: str) -> None:
    # YAML 1.1 reads 01 as octal and 1:30 as base 60 (90); int() refuses both.
    text = add_line(SERVER, "interval:", f"trial_months: {written}")

    problem = only_problem(text)

    assert problem.message == (
        f"expected a whole number from 0 to 12, got {written!r}; "
        "write it without leading zeros or colons"
    )
    assert (problem.field, problem.line) == ("pricing.trial_months", line_of(text, "trial_m"))


def test_yes_for_a_text_field_hints_at_quoting() -> None:
    text = set_line(SERVER, "name:", "name: yes")

    problem = only_problem(text)

    assert problem.message == (
        "expected a name customers read, got a boolean "
        "(YAML reads yes/no/on/off as booleans: quote it)"
    )
    assert (problem.plan, problem.field) == ("server-test", "name")
    assert (problem.line, problem.column) == (
        line_of(text, "name:"),
        column_of(text, "name:", "yes"),
    )


def test_quoted_yes_is_text() -> None:
    text = set_line(SERVER, "name:", 'name: "yes"')

    assert load_text(text).get("server-test").name == "yes"


def test_list_where_a_mapping_is_expected_is_one_problem() -> None:
    text = set_block(SERVER, "resources:", "resources: [1, 1024, 20]")

    problem = only_problem(text)  # not also "cpus/memory_mb/disk_gb: required field is missing"

    assert problem.message == (
        "expected a mapping with keys cpus, memory_mb, disk_gb, max_processes, got a list"
    )
    assert (problem.plan, problem.field) == ("server-test", "resources")
    assert (problem.line, problem.column) == (line_of(text, "resources:"), 16)


def _read(parser: r.Parser[int], written: str, tag: str) -> tuple[int | None, list[str]]:
    ctx = r.Context("unit.yaml", plan="support-test")
    node = Scalar(written, f"tag:yaml.org,2002:{tag}", Mark(3, 7))
    value = parser(r.Field(ctx, node, "support.included_hours"))
    return value, [f"{p.line}:{p.column} {p.field}: {p.message}" for p in ctx.problems]


HOURS = r.scaled("hours", 60, 0, 744 * 60, "minutes")


@pytest.mark.parametrize(
    ("written", "tag", "minutes"),
    [("7.5", "float", 450), ("7.50", "str", 450), ("10", "int", 600), ("0.25", "float", 15)],
)
def test_scaled_reads_hours_as_whole_minutes(written: str, tag: str, minutes: int) -> None:
    assert _read(HOURS, written, tag) == (minutes, [])


def test_scaled_refuses_a_fraction_of_a_minute() -> None:
    assert _read(HOURS, "7.51", "float") == (
        None,
        ["3:7 support.included_hours: 7.51 hours is not a whole number of minutes"],
    )


def test_scaled_refuses_out_of_range_with_the_range_in_the_unit() -> None:
    assert _read(HOURS, "745", "int") == (
        None,
        ["3:7 support.included_hours: 745 hours is out of range; allowed: 0 to 744 hours"],
    )


@pytest.mark.parametrize("written", ["-1", "1e3", "7,5", ".5"])
def test_scaled_refuses_anything_but_a_plain_decimal(written: str) -> None:
    value, problems = _read(HOURS, written, "str")

    assert value is None
    assert problems == [
        f"3:7 support.included_hours: {written!r} is not valid; expected a number of hours"
    ]
