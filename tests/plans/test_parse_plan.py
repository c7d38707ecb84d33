"""One catalog file and the fields every plan has, whatever its kind."""

from __future__ import annotations

from datetime import date

import pytest

from plans import PlanKind
from tests.fixtures.catalog import (
    FILE,
    Template,
    add_line,
    catalog_file,
    column_of,
    line_of,
    load_text,
    only_problem,
    plan_entry,
    plan_yaml,
    problems_in,
    set_line,
)

SERVER = plan_yaml("server_hosting")


@pytest.mark.parametrize(
    "template",
    [
        "server_hosting",
        "application_hosting",
        "support_flat_rate",
        "support_per_hour",
        "support_hour_bank",
        "service_per_hour",
        "service_package",
    ],
)
def test_every_template_is_a_valid_plan(template: Template) -> None:
    catalog = load_text(plan_yaml(template))

    assert len(catalog) == 1


def test_key_of_another_kind_says_which_kind_has_it() -> None:
    text = add_line(SERVER, "name:", "application: {image: dockyard-demo, port: 8080}")

    problem = only_problem(text)

    assert problem.message == (
        "only application_hosting plans have 'application'; this plan is server_hosting"
    )
    assert (problem.plan, problem.field) == ("server-test", "application")
    assert (problem.line, problem.column) == (line_of(text, "application:"), 5)


def test_key_shared_by_two_other_kinds_names_both() -> None:
    text = add_line(plan_yaml("service_per_hour"), "name:", "resources: {cpus: 1}")

    problem = only_problem(text)

    assert problem.message == (
        "only server_hosting and application_hosting plans have 'resources'; this plan is service"
    )


def test_migrate_existing_from_on_version_1() -> None:
    text = add_line(SERVER, "name:", "migrate_existing_from: 2027-01-01")

    problem = only_problem(text)

    assert problem.message == "version 1 has no earlier version whose customers could move to it"
    assert (problem.plan, problem.field) == ("server-test", "migrate_existing_from")
    assert problem.line == line_of(text, "migrate_existing_from:")
    assert problem.column == column_of(text, "migrate_existing_from:", "2027")


def test_migrate_existing_from_on_version_2_is_kept() -> None:
    text = catalog_file(
        plan_entry("server_hosting"),
        add_line(
            plan_entry("server_hosting", version=2), "name:", "migrate_existing_from: 2027-01-01"
        ),
    )

    assert load_text(text).get("server-test").migrate_existing_from == date(2027, 1, 1)


def test_availability_until_before_from() -> None:
    text = add_line(SERVER, "name:", "available:\n  from: 2027-01-01\n  until: 2026-12-31")

    problem = only_problem(text)

    assert problem.message == (
        "2026-12-31 is not after 'from' (2027-01-01); the window would be empty"
    )
    assert (problem.plan, problem.field) == ("server-test", "available.until")
    assert (problem.line, problem.column) == (line_of(text, "until:"), 14)


def test_unknown_kind_lists_the_kinds() -> None:
    text = set_line(SERVER, "kind:", "kind: dedicated_server")

    problems = problems_in((FILE, text))

    assert problems[0].message == (
        "'dedicated_server' is not allowed; "
        "allowed: server_hosting, application_hosting, support, service"
    )
    assert (problems[0].field, problems[0].line) == ("kind", line_of(text, "kind:"))


def test_invalid_plan_id() -> None:
    text = set_line(SERVER, "- id:", "- id: Server_Test")

    problem = only_problem(text)

    assert problem.message == (
        "'Server_Test' is not valid; expected a lower-case id such as app-starter"
    )
    # Without a valid id the plan is named by its position in the list.
    assert (problem.plan, problem.field) == ("#1", "id")


def test_x_keys_hold_anchors_and_other_top_level_keys_are_refused() -> None:
    text = "x-notes: anything goes here\nextra: 1\n" + SERVER

    problem = only_problem(text)

    assert problem.message.startswith("unknown field 'extra'; allowed: plans")
    assert (problem.plan, problem.field, problem.line, problem.column) == (None, "extra", 2, 1)


def test_top_level_key_after_the_plans_is_not_blamed_on_the_last_plan() -> None:
    text = SERVER + "extra: 1\n"

    problem = only_problem(text)

    assert (problem.plan, problem.field) == (None, "extra")
    assert problem.line == line_of(text, "extra:")


def test_file_without_plans() -> None:
    problem = only_problem("x-notes: nothing yet\n")

    assert problem.message == (
        "required field is missing; a catalog file lists its plans under 'plans:'"
    )
    assert (problem.field, problem.line) == ("plans", 1)


def test_plans_of_every_kind_in_one_file() -> None:
    text = catalog_file(
        plan_entry("server_hosting"),
        plan_entry("application_hosting"),
        plan_entry("support_hour_bank"),
        plan_entry("service_package"),
    )

    kinds = {plan.kind for plan in load_text(text)}

    assert kinds == set(PlanKind)
