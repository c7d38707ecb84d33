"""Fleet updates: maintenance windows and how many instances roll at once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.fixtures.provisioning import Fleet, wait_for_page
from tests.provisioner.test_lifecycle import running

pytestmark = pytest.mark.docker

# app-starter's window: Sundays 02:00-04:00 Europe/Berlin (UTC+1 in November).
SUNDAY_IN_WINDOW = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)
MONDAY_NOON = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


async def test_a_fleet_update_waits_for_the_maintenance_window(docker_fleet: Fleet) -> None:
    first, _ = await running(docker_fleet)
    second, _ = await running(docker_fleet)
    provisioner = docker_fleet.provisioner

    docker_fleet.clock.now = MONDAY_NOON
    outside = await provisioner.update_plan("app-starter", "2")
    assert sorted(outside.outside_window) == sorted([first.id, second.id])
    assert outside.updated == []

    docker_fleet.clock.now = SUNDAY_IN_WINDOW
    inside = await provisioner.update_plan("app-starter", "2", max_parallel=2)
    assert sorted(inside.updated) == sorted([first.id, second.id])
    for instance_id in (first.id, second.id):
        updated = await provisioner.get(instance_id)
        address = provisioner.address(updated)
        assert address is not None
        await wait_for_page(address, "version 2")

    again = await provisioner.update_plan("app-starter", "2")
    assert sorted(again.unchanged) == sorted([first.id, second.id])


async def test_an_operator_may_roll_outside_the_window(docker_fleet: Fleet) -> None:
    instance, _ = await running(docker_fleet)
    docker_fleet.clock.now = MONDAY_NOON

    report = await docker_fleet.provisioner.update_plan("app-starter", "2", respect_window=False)

    assert report.updated == [instance.id]


async def test_a_failed_instance_in_a_fleet_update_is_reported(docker_fleet: Fleet) -> None:
    instance, address = await running(docker_fleet)
    docker_fleet.clock.now = SUNDAY_IN_WINDOW

    report = await docker_fleet.provisioner.update_plan("app-starter", "broken")

    assert [failed.instance_id for failed in report.failed] == [instance.id]
    await wait_for_page(address, "version 1")
