"""Hosting blocks: resources, images, application settings and the maintenance window."""

from __future__ import annotations

from datetime import time

import pytest

from plans import ApplicationHostingPlan
from plans.model import Weekday
from tests.fixtures.catalog import (
    add_line,
    column_of,
    line_of,
    load_text,
    only_problem,
    plan_yaml,
    set_block,
    set_line,
)

APP = plan_yaml("application_hosting")


def test_valid_application_plan_is_read_fully() -> None:
    plan = load_text(APP).get("app-test")

    assert isinstance(plan, ApplicationHostingPlan)
    assert plan.application.image.reference == "dockyard-demo:1"
    assert plan.application.env == {"DOCKYARD_TIER": "test"}
    assert [(v.name, v.path) for v in plan.application.volumes] == [("data", "/data")]
    assert plan.resources.cpu_millis == 500
    assert (plan.maintenance.days, plan.maintenance.start) == ((Weekday.SUN,), time(2, 0))
    assert plan.maintenance.timezone == "Europe/Berlin"


@pytest.mark.parametrize("start", ["25:00", "02:60", "2 am"])
def test_maintenance_start_is_a_time_of_day(start: str) -> None:
    text = set_line(APP, "start:", f'start: "{start}"')

    problem = only_problem(text)

    assert problem.message == (
        f"{start!r} is not a time of day; expected HH:MM from 00:00 to 23:59"
    )
    assert (problem.plan, problem.field) == ("app-test", "maintenance.start")
    assert (problem.line, problem.column) == (line_of(text, "start:"), 14)


def test_unquoted_time_is_read_from_its_text() -> None:
    # YAML 1.1 reads an unquoted 02:30 as the base-60 integer 150.
    text = set_line(APP, "start:", "start: 02:30")

    plan = load_text(text).get("app-test")

    assert isinstance(plan, ApplicationHostingPlan)
    assert plan.maintenance.start == time(2, 30)


def test_unknown_time_zone() -> None:
    text = set_line(APP, "timezone:", "timezone: Europe/Atlantis")

    problem = only_problem(text)

    assert problem.message == (
        "unknown time zone 'Europe/Atlantis'; expected an IANA name such as Europe/Berlin"
    )
    assert (problem.field, problem.line) == ("maintenance.timezone", line_of(text, "timezone:"))
    assert problem.column == column_of(text, "timezone:", "Europe")


@pytest.mark.parametrize("image", ["Dockyard_Demo", "dockyard demo", "-demo", "demo:1"])
def test_bad_image_name(image: str) -> None:
    text = set_line(APP, "image:", f'image: "{image}"')

    problem = only_problem(text)

    assert problem.message == (
        f"{image!r} is not valid; expected an image name such as dockyard-demo"
    )
    assert (problem.plan, problem.field) == ("app-test", "application.image")
    assert (problem.line, problem.column) == (line_of(text, "image:"), 14)


def test_bad_server_image_version() -> None:
    text = set_line(plan_yaml("server_hosting"), 'version: "1"', 'version: "1 beta"')

    problem = only_problem(text)

    assert problem.message.startswith("'1 beta' is not valid; expected an image tag such as")
    assert problem.field == "server.version"


def test_invalid_environment_variable_name() -> None:
    text = add_line(APP, "DOCKYARD_TIER:", "DOCKYARD-MODE: fast")

    problem = only_problem(text)

    assert problem.message == "'DOCKYARD-MODE' is not valid; expected an environment variable name"
    assert (problem.plan, problem.field) == ("app-test", "application.environment.DOCKYARD-MODE")
    assert (problem.line, problem.column) == (line_of(text, "DOCKYARD-MODE:"), 9)


def test_environment_value_must_be_text() -> None:
    text = set_line(APP, "DOCKYARD_TIER:", "DOCKYARD_DEBUG: off")

    problem = only_problem(text)

    assert problem.message == (
        "expected a value (quote numbers and booleans), got a boolean "
        "(YAML reads yes/no/on/off as booleans: quote it)"
    )
    assert problem.field == "application.environment.DOCKYARD_DEBUG"


def test_two_volumes_at_the_same_path() -> None:
    text = set_block(
        APP, "volumes:", "volumes: [{name: data, path: /data}, {name: uploads, path: /data}]"
    )

    problem = only_problem(text)

    assert problem.message == "two volumes are mounted at the same path"
    assert (problem.plan, problem.field) == ("app-test", "application.volumes")
    assert (problem.line, problem.column) == (line_of(text, "volumes:"), 16)


def test_volume_path_must_be_absolute() -> None:
    text = set_line(APP, "path: /data", "path: data")

    problem = only_problem(text)

    assert problem.message == "'data' is not valid; expected an absolute path such as /data"
    assert problem.field == "application.volumes[0].path"


def test_cpus_in_thousandths() -> None:
    text = set_line(APP, "cpus:", "cpus: 0.0005")

    problem = only_problem(text)

    assert problem.message == "0.0005 CPUs is not a whole number of thousandths of a CPU"
    assert problem.field == "resources.cpus"
