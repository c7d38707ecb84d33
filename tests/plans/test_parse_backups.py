"""A hosting plan's backups block: schedule and count, with a default when absent."""

from __future__ import annotations

from datetime import time

import pytest

from plans import ApplicationHostingPlan, ServerHostingPlan
from plans.model import DEFAULT_BACKUPS, BackupPolicy
from tests.fixtures.catalog import add_line, line_of, load_text, only_problem, plan_yaml

APP = plan_yaml("application_hosting")
SERVER = plan_yaml("server_hosting")

pytestmark = pytest.mark.backup


def _with_backups(text: str, block: str) -> str:
    return add_line(text, "name: Test", f"backups: {block}")


def test_a_plan_without_backups_gets_the_documented_default() -> None:
    plan = load_text(APP).get("app-test")

    assert isinstance(plan, ApplicationHostingPlan)
    assert plan.backups == DEFAULT_BACKUPS == BackupPolicy(keep=7, daily_at=time(3, 0))


def test_daily_backups_at_an_hour() -> None:
    plan = load_text(_with_backups(APP, '{daily_at: "04:30", keep: 3}')).get("app-test")

    assert isinstance(plan, ApplicationHostingPlan)
    assert plan.backups == BackupPolicy(keep=3, daily_at=time(4, 30), every_hours=None)


def test_server_plans_have_backups_every_n_hours() -> None:
    plan = load_text(_with_backups(SERVER, "{every_hours: 6}")).get("server-test")

    assert isinstance(plan, ServerHostingPlan)
    assert plan.backups == BackupPolicy(keep=7, daily_at=None, every_hours=6)


@pytest.mark.parametrize(
    ("block", "field", "message"),
    [
        ("{every_hours: 0}", "backups.every_hours", "0 is out of range; allowed: 1 to 168"),
        ("{daily_at: 25:00}", "backups.daily_at", "'25:00' is not a time of day"),
        ("{daily_at: '01:00', keep: 0}", "backups.keep", "0 is out of range; allowed: 1 to 1000"),
        ("{dayly_at: '01:00'}", "backups.dayly_at", "unknown field 'dayly_at'; did you mean"),
        ("{keep: 3}", "backups", "exactly one of daily_at"),
        ("{daily_at: '01:00', every_hours: 2}", "backups", "exactly one of daily_at"),
        ("daily", "backups", "expected a mapping with keys daily_at, every_hours, keep"),
    ],
)
def test_a_broken_backups_block_names_file_plan_and_field(
    block: str, field: str, message: str
) -> None:
    text = _with_backups(APP, block)

    problem = only_problem(text)

    assert message in problem.message
    assert (problem.plan, problem.field) == ("app-test", field)
    assert problem.line == line_of(text, "backups:")
    assert problem.file.endswith(".yaml")


def test_the_sample_catalog_sets_schedules_for_every_hosting_plan() -> None:
    from plans import load_catalog

    catalog = load_catalog()
    starter = catalog.get("app-starter", 1)
    business = catalog.get("app-business", 1)

    assert isinstance(starter, ApplicationHostingPlan)
    assert isinstance(business, ApplicationHostingPlan)
    assert starter.backups == BackupPolicy(keep=7, daily_at=time(1, 0))
    assert business.backups == BackupPolicy(keep=28, daily_at=None, every_hours=6)


def test_plans_show_says_when_backups_are_taken() -> None:
    from plans import render

    assert render.backups(BackupPolicy(keep=7, daily_at=time(1, 0))) == (
        "daily at 01:00 UTC, newest 7 kept"
    )
    assert render.backups(BackupPolicy(keep=28, daily_at=None, every_hours=6)) == (
        "every 6 h, newest 28 kept"
    )
