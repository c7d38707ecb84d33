"""How problems read: one line each, FILE:LINE:COL first so editors can jump to it."""

from __future__ import annotations

from plans import CatalogError, CatalogInvalid, Problem, UnknownPlan


def test_problem_reads_file_line_column_plan_field_message() -> None:
    problem = Problem("support.yaml", 12, 7, "support-10h", "pricing.amount", "must be more")

    assert str(problem) == "support.yaml:12:7: plan 'support-10h': pricing.amount: must be more"


def test_problem_outside_any_plan_leaves_out_plan_and_field() -> None:
    problem = Problem("support.yaml", 1, 1, None, "", "YAML syntax: bad")

    assert str(problem) == "support.yaml:1:1: YAML syntax: bad"


def test_catalog_invalid_sorts_by_file_then_position() -> None:
    late = Problem("b.yaml", 1, 1, None, "", "late")
    second = Problem("a.yaml", 10, 2, "p", "f", "second")
    first = Problem("a.yaml", 2, 9, "p", "f", "first")

    invalid = CatalogInvalid([late, second, first])

    assert invalid.problems == (first, second, late)
    assert str(invalid).splitlines()[0] == "3 problems in the catalog"
    assert str(CatalogInvalid([first])).splitlines() == ["1 problem in the catalog", str(first)]


def test_unknown_plan_is_a_lookup_error_and_a_catalog_error() -> None:
    error = UnknownPlan("server-xl", 3)

    assert isinstance(error, LookupError)
    assert isinstance(error, CatalogError)
    assert str(error) == "plan 'server-xl' version 3 is not in the catalog"
    assert str(UnknownPlan("server-xl")) == "plan 'server-xl' is not in the catalog"
