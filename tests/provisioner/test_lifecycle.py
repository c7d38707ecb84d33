"""The lifecycle on a real engine, on both backends: provision, suspend, resume, update,
change plan, restart, terminate, purge."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace

import docker
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from provisioner.errors import InvalidTransition
from provisioner.models import Instance, InstanceState, SuspensionReason, UpdateStatus
from provisioner.settings import BackendKind
from tests.fixtures.docker import remove_everything_of
from tests.fixtures.provisioning import FAST_SETTINGS, Fleet, build_fleet, refuses, wait_for_page

pytestmark = pytest.mark.docker


async def settle(
    fleet: Fleet, instance_id: str, within: float = 30.0, poll: float = 0.3
) -> Instance:
    """Converge until the instance serves (running and healthy)."""
    provisioner = fleet.provisioner
    deadline = asyncio.get_running_loop().time() + within
    while True:
        await provisioner.reconciler.converge(instance_id, force=True)
        instance = await provisioner.get(instance_id)
        if instance.state == InstanceState.RUNNING and instance.health in ("healthy", "none"):
            return instance
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(
                f"{instance_id} is {instance.state}/{instance.health}: {instance.reason}"
            )
        await asyncio.sleep(poll)


async def running(fleet: Fleet, plan: str = "app-starter") -> tuple[Instance, str]:
    instance = await fleet.provisioner.provision(fleet.customer(), plan)
    instance = await settle(fleet, instance.id)
    address = fleet.provisioner.address(instance)
    assert address is not None
    return instance, address


async def test_provision_serves_the_application(fleet: Fleet) -> None:
    instance, address = await running(fleet)

    page = await wait_for_page(address, "Dockyard demo application")

    assert "version 1" in page
    assert instance.image_version == "1"
    assert instance.workload_id is not None
    kinds = [event.kind for event in (await fleet.provisioner.view(instance.id)).events]
    assert kinds[0] == "created"
    assert "running" in kinds


async def test_suspend_stops_serving_and_resume_brings_it_back(fleet: Fleet) -> None:
    instance, address = await running(fleet)

    suspended = await fleet.provisioner.suspend(instance.id, SuspensionReason.BILLING, "unpaid")

    assert suspended.state == InstanceState.STOPPED
    assert suspended.suspension_reason == "billing"
    assert await refuses(address)
    resumed = await fleet.provisioner.resume(instance.id, SuspensionReason.BILLING)
    resumed = await settle(fleet, resumed.id)
    assert resumed.suspension_reason is None
    # Issue 11: the engine picked a new port at every start, so the address moved.
    assert fleet.provisioner.address(resumed) == address
    await wait_for_page(address, "version 1")


async def test_payment_never_lifts_a_manual_suspension(fleet: Fleet) -> None:
    instance, _ = await running(fleet)
    await fleet.provisioner.suspend(instance.id, SuspensionReason.MANUAL, "abuse report")
    await fleet.provisioner.suspend(instance.id, SuspensionReason.BILLING, "unpaid")

    after_payment = await fleet.provisioner.resume(instance.id, SuspensionReason.BILLING)

    assert after_payment.suspension_reason == "manual"
    assert after_payment.state == InstanceState.STOPPED
    by_operator = await fleet.provisioner.resume(instance.id, SuspensionReason.MANUAL)
    assert by_operator.suspension_reason is None
    await settle(fleet, instance.id)


async def test_update_to_v2_is_served_and_v1_is_kept_for_rollback(fleet: Fleet) -> None:
    instance, address = await running(fleet)

    outcome = await fleet.provisioner.update(instance.id, "2")

    assert outcome.status is UpdateStatus.SUCCEEDED
    updated = await fleet.provisioner.get(instance.id)
    assert (updated.image_version, updated.previous_image_version) == ("2", "1")
    # Issue 11: the new revision served at a new port, so the address moved.
    assert fleet.provisioner.address(updated) == address
    await wait_for_page(address, "version 2")
    assert len(fleet.containers(instance.id)) <= 1  # the old revision is gone (docker)


async def test_a_broken_update_keeps_the_old_version_serving(fleet: Fleet) -> None:
    instance, address = await running(fleet)

    outcome = await fleet.provisioner.update(instance.id, "broken")

    assert outcome.status is UpdateStatus.FAILED
    assert "health check" in outcome.detail
    assert "dockyard-demo:1 keeps serving" in outcome.detail
    # Issue 11: the advice was to "retry" with the old version, which changes nothing.
    assert outcome.detail.endswith(
        f"retry with: dockyard instances update {instance.id} --version broken"
    )
    after = await fleet.provisioner.get(instance.id)
    assert after.image_version == "1"
    assert after.update_status == UpdateStatus.FAILED
    await wait_for_page(address, "version 1")
    # The image stays on the engine, for a retry or a manual roll back.
    assert fleet.client.images.get("dockyard-demo:broken")


async def test_change_plan_applies_new_limits(fleet: Fleet) -> None:
    instance, _ = await running(fleet)

    outcome = await fleet.provisioner.change_plan(instance.id, "app-business")

    assert outcome.status is UpdateStatus.SUCCEEDED
    changed = await settle(fleet, instance.id)
    assert (changed.plan_id, changed.memory_mb, changed.cpu_millis) == ("app-business", 256, 1000)
    memory = _memory_limit(fleet, changed)
    assert memory == 256 * 1024 * 1024


def _memory_limit(fleet: Fleet, instance: Instance) -> int:
    assert instance.workload_id is not None
    if fleet.backend.name == "swarm":
        spec = fleet.client.services.get(instance.workload_id).attrs["Spec"]
        return int(spec["TaskTemplate"]["Resources"]["Limits"]["MemoryBytes"])
    return int(fleet.client.containers.get(instance.workload_id).attrs["HostConfig"]["Memory"])


async def test_restart_keeps_serving(fleet: Fleet) -> None:
    instance, _ = await running(fleet)

    await fleet.provisioner.restart(instance.id)

    restarted = await settle(fleet, instance.id)
    address = fleet.provisioner.address(restarted)
    assert address is not None
    await wait_for_page(address, "version 1")


async def test_terminate_keeps_the_volume_until_the_retention_ends(fleet: Fleet) -> None:
    instance, _ = await running(fleet)

    terminated = await fleet.provisioner.terminate(instance.id)

    assert terminated.state == InstanceState.TERMINATED
    assert terminated.purge_after is not None
    assert fleet.containers(instance.id) == []
    assert len(fleet.volumes(instance.id)) == 1
    with pytest.raises(InvalidTransition, match="terminated"):
        await fleet.provisioner.resume(instance.id, SuspensionReason.MANUAL)

    fleet.clock.advance(days=29)
    await fleet.provisioner.reconciler.run_pass()
    assert len(fleet.volumes(instance.id)) == 1
    fleet.clock.advance(days=2)
    await fleet.provisioner.reconciler.run_pass()

    purged = await fleet.provisioner.get(instance.id)
    assert purged.state == InstanceState.PURGED
    assert fleet.volumes(instance.id) == []


async def test_server_hosting_gets_a_reachable_server(fleet: Fleet) -> None:
    instance, address = await running(fleet, "server-s")

    page = await wait_for_page(address, "server")

    assert instance.image == "dockyard-server"
    assert (instance.cpu_millis, instance.memory_mb, instance.disk_gb) == (1000, 1024, 20)
    assert page


@pytest.fixture(
    params=[BackendKind.DOCKER, pytest.param(BackendKind.SWARM, marks=pytest.mark.swarm)]
)
def slow_checking_fleet(
    request: pytest.FixtureRequest, engine_client: docker.DockerClient, sqlite_engine: AsyncEngine
) -> Iterator[Fleet]:
    """The engine's health check runs only once a minute, longer than the update's
    30 s health timeout: whatever serves sooner was seen serving by Dockyard's own probe."""
    settings = replace(FAST_SETTINGS, health_interval_seconds=60)
    world = build_fleet(engine_client, sqlite_engine, request.param, settings=settings)
    try:
        yield world
    finally:
        remove_everything_of(engine_client, world.run)


async def test_an_instance_is_running_once_it_answers_not_one_health_interval_later(
    slow_checking_fleet: Fleet,
) -> None:
    """Issue 11: "provisioning" lasted until the engine's first in-container check, one
    health interval after the application already answered."""
    fleet = slow_checking_fleet
    instance, address = await running(fleet)  # settles within 30 s, half the interval

    assert instance.health == "healthy"
    await wait_for_page(address, "version 1")

    outcome = await fleet.provisioner.update(instance.id, "2")

    assert outcome.status is UpdateStatus.SUCCEEDED, outcome.detail
    await wait_for_page(address, "version 2")
