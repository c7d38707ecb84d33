"""Plans are frozen values that compare by what they sell, not by where they are written."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from plans import Catalog, Interval, Money, ServerHostingPlan, load_catalog
from plans.model import Image, MaintenanceWindow, Resources, Server, Weekday
from tests.fixtures.catalog import copy_sample, edit_file


@pytest.fixture(scope="module")
def sample() -> Catalog:
    return load_catalog()


def test_plans_are_immutable(sample: Catalog) -> None:
    plan = sample.get("app-starter")

    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.name = "Cheaper"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.pricing.amount.minor = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        plan.features.append("free lunch")  # type: ignore[attr-defined]


def test_a_plan_equals_itself_written_elsewhere(sample: Catalog, tmp_path: Path) -> None:
    copy = load_catalog(copy_sample(tmp_path / "elsewhere"))

    assert copy.get("app-starter").source != sample.get("app-starter").source
    assert list(copy) == list(sample)


def test_comments_and_layout_do_not_change_a_plan(sample: Catalog, tmp_path: Path) -> None:
    directory = copy_sample(tmp_path / "catalog")
    edit_file(
        directory / "application-hosting.yaml",
        "  - id: app-starter\n",
        "  # Our cheapest tier.\n\n  - id: app-starter\n",
    )

    assert list(load_catalog(directory)) == list(sample)


def test_a_price_change_changes_only_that_plan(sample: Catalog, tmp_path: Path) -> None:
    directory = copy_sample(tmp_path / "catalog")
    edit_file(directory / "application-hosting.yaml", 'amount: "29.00"', 'amount: "29.01"')

    edited = load_catalog(directory)

    assert [plan.key for plan in edited if plan != sample.get(*plan.key)] == [("app-starter", 1)]


def test_describe_flattens_nested_fields(sample: Catalog) -> None:
    described = sample.get("app-starter").describe()

    assert described["pricing.amount.minor"] == 2900
    assert described["application.image.version"] == "1"
    assert "source" not in described


def test_interval_months() -> None:
    assert [interval.months for interval in Interval] == [1, 12, 0, 0]


@pytest.mark.parametrize(("millis", "shown"), [(500, "0.5"), (1000, "1"), (2250, "2.25")])
def test_cpus_are_shown_without_trailing_zeros(millis: int, shown: str) -> None:
    assert Resources(millis, 128, 5).cpus == shown


def test_money_is_frozen_too() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Money("EUR", 1).currency = "USD"  # type: ignore[misc]


def _window(days: tuple[Weekday, ...], start: time, minutes: int) -> MaintenanceWindow:
    return MaintenanceWindow(days, start, minutes, "Europe/Berlin")


def test_maintenance_window_is_open_in_its_own_time_zone() -> None:
    sunday_two_am = _window((Weekday.SUN,), time(2, 0), 120)

    # 2026-11-22 is a Sunday; Berlin is UTC+1 in November.
    assert sunday_two_am.is_open(datetime(2026, 11, 22, 1, 0, tzinfo=UTC))
    assert sunday_two_am.is_open(datetime(2026, 11, 22, 2, 59, tzinfo=UTC))
    assert not sunday_two_am.is_open(datetime(2026, 11, 22, 3, 0, tzinfo=UTC))
    assert not sunday_two_am.is_open(datetime(2026, 11, 22, 0, 59, tzinfo=UTC))
    assert not sunday_two_am.is_open(datetime(2026, 11, 21, 1, 30, tzinfo=UTC))


def test_maintenance_window_spanning_midnight_belongs_to_its_start_day() -> None:
    saturday_late = _window((Weekday.SAT,), time(23, 0), 180)

    # Sunday 01:30 Berlin is inside Saturday's window; Monday 01:30 is not.
    assert saturday_late.is_open(datetime(2026, 11, 22, 0, 30, tzinfo=UTC))
    assert not saturday_late.is_open(datetime(2026, 11, 23, 0, 30, tzinfo=UTC))


def test_server_port_defaults_to_ssh_and_sample_servers_publish_their_web_port() -> None:
    catalog = load_catalog()
    server = catalog.get("server-s")

    assert isinstance(server, ServerHostingPlan)
    assert server.server == Server(Image("dockyard-server", "1"), 8080)
    assert Server(Image("x", "1")).port == 22
