"""Drift repaired by the reconciler on a real engine, failures kept from crashing it,
and two workers reconciling at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import docker
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from plans import load_catalog
from portal import migrate
from portal.database import create_engine
from portal.settings import DatabaseSettings
from provisioner.backends.base import WorkloadSpec
from provisioner.models import InstanceState, SuspensionReason
from provisioner.repository import InstanceRepository
from provisioner.settings import BackendKind, ProvisionerSettings
from provisioner.specs import hosting_plan, workload_spec
from tests.fixtures.catalog import copy_sample, edit_file
from tests.fixtures.docker import remove_everything_of
from tests.fixtures.provisioning import (
    FAST_SETTINGS,
    Fleet,
    build_fleet,
    wait_for_page,
)
from tests.provisioner.test_lifecycle import running, settle

pytestmark = pytest.mark.docker


async def test_a_pass_over_an_instance_in_sync_neither_leases_nor_writes_it(
    docker_fleet: Fleet,
) -> None:
    instance, _ = await running(docker_fleet)
    reconciler = docker_fleet.provisioner.reconciler
    await reconciler.run_pass()  # records whatever the first pass observes
    before = await docker_fleet.provisioner.get(instance.id)
    docker_fleet.clock.advance(minutes=1)

    report = await reconciler.run_pass()

    after = await docker_fleet.provisioner.get(instance.id)
    assert report.actions == {"observe": 1}
    assert after.updated_at == before.updated_at  # no write: the row is as it was
    assert after.lease_owner is None
    assert (after.state, after.health) == (InstanceState.RUNNING, "healthy")

    docker_fleet.client.containers.get(instance.workload_id or "").stop(timeout=1)
    drifted = await reconciler.run_pass()  # drift: converged as before
    assert drifted.actions == {"start": 1}


async def test_a_removed_container_is_recreated(fleet: Fleet) -> None:
    instance, _ = await running(fleet)
    assert instance.workload_id is not None
    if fleet.backend.name == "swarm":
        fleet.client.services.get(instance.workload_id).remove()
    else:
        fleet.client.containers.get(instance.workload_id).remove(force=True)

    report = await fleet.provisioner.reconciler.run_pass()

    assert report.actions["create"] == 1
    repaired = await settle(fleet, instance.id)
    address = fleet.provisioner.address(repaired)
    assert address is not None
    await wait_for_page(address, "version 1")
    kinds = [event.kind for event in (await fleet.provisioner.view(instance.id)).events]
    assert "repaired" in kinds


def app_container(fleet: Fleet, workload_id: str) -> docker.models.containers.Container:
    """The container serving a workload: itself, or a Swarm service's running task's."""
    if fleet.backend.name != "swarm":
        return fleet.client.containers.get(workload_id)
    label = f"com.docker.swarm.service.id={fleet.client.services.get(workload_id).id}"
    tasks = fleet.client.containers.list(filters={"label": label, "status": "running"})
    assert len(tasks) == 1, tasks
    return tasks[0]


async def test_an_instance_that_stops_answering_is_restarted(fleet: Fleet) -> None:
    instance, address = await running(fleet)
    assert instance.workload_id is not None
    broken = app_container(fleet, instance.workload_id)
    started = broken.attrs["State"]["StartedAt"]
    # The application still runs but its health path (/) answers 404 from now on.
    assert (
        broken.exec_run(["/bin/busybox", "mv", "/www/index.html", "/www/away.html"]).exit_code == 0
    )
    reconciler = fleet.provisioner.reconciler

    deadline = asyncio.get_running_loop().time() + 30
    actions: dict[str, int] = {}
    while "restart_unhealthy" not in actions:
        assert asyncio.get_running_loop().time() < deadline, "never restarted"
        actions = (await reconciler.run_pass()).actions
        await asyncio.sleep(0.5)

    events = (await fleet.provisioner.view(instance.id)).events
    restarted = [event for event in events if event.kind == "restarted"]
    assert restarted
    assert "/ did not answer 3 times in a row" in restarted[0].message
    if fleet.backend.name != "swarm":  # the same container, started again, files and all
        broken.reload()
        assert broken.attrs["State"]["StartedAt"] != started
        broken.exec_run(["/bin/busybox", "mv", "/www/away.html", "/www/index.html"])
    back = await settle(fleet, instance.id)
    if fleet.backend.name == "swarm":  # a new task, from the image: the page is back
        assert app_container(fleet, instance.workload_id).id != broken.id
    assert (back.state, back.health) == (InstanceState.RUNNING, "healthy")
    await wait_for_page(address, "version 1")  # at the address it had


async def test_a_container_stopped_by_hand_is_started(docker_fleet: Fleet) -> None:
    instance, _ = await running(docker_fleet)
    assert instance.workload_id is not None
    docker_fleet.client.containers.get(instance.workload_id).stop(timeout=1)

    report = await docker_fleet.provisioner.reconciler.run_pass()

    assert report.actions["start"] == 1
    repaired = await settle(docker_fleet, instance.id)
    address = docker_fleet.provisioner.address(repaired)
    assert address is not None
    await wait_for_page(address, "version 1")


async def test_a_suspended_instance_started_by_hand_is_stopped(docker_fleet: Fleet) -> None:
    instance, _ = await running(docker_fleet)
    await docker_fleet.provisioner.suspend(instance.id, SuspensionReason.MANUAL)
    assert instance.workload_id is not None
    docker_fleet.client.containers.get(instance.workload_id).start()

    report = await docker_fleet.provisioner.reconciler.run_pass()

    assert report.actions["stop"] == 1
    container = docker_fleet.client.containers.get(instance.workload_id)
    assert container.status == "exited"


async def test_a_provision_interrupted_by_a_dead_worker_is_finished(docker_fleet: Fleet) -> None:
    """The worker created the container, then died before recording it."""
    provisioner = docker_fleet.provisioner
    # Record the instance without converging, as a worker would before its engine call...
    instance = await provisioner.provision(docker_fleet.customer(), "app-starter")
    assert instance.workload_id is not None
    docker_fleet.client.containers.get(instance.workload_id).remove(force=True)
    async with provisioner.ctx.sessions() as session, session.begin():
        row = await InstanceRepository(session).get(instance.id)
        row.state, row.workload_id, row.host_port = InstanceState.PROVISIONING, None, None
        plan = hosting_plan(docker_fleet.catalog.get(row.plan_id, row.plan_version))
        spec: WorkloadSpec = workload_spec(row, plan, provisioner.ctx.settings)
    # ...and created (but never started) its container when it was killed.
    api = docker_fleet.client.api
    api.create_container(
        spec.image, name=f"dockyard-{instance.id}-r1", labels={
            "dockyard.managed": "true", "dockyard.namespace": docker_fleet.run,
            "dockyard.instance": instance.id,
            "dockyard.customer": instance.customer_ref, "dockyard.revision": "1",
        }, ports=[spec.port], host_config=api.create_host_config(
            port_bindings={spec.port: ("127.0.0.1", spec.host_port)},
        ),
    )  # fmt: skip

    await provisioner.reconciler.run_pass()

    finished = await settle(docker_fleet, instance.id)
    assert finished.workload_id is not None
    assert len(docker_fleet.containers(instance.id)) == 1


async def test_orphans_are_reported_then_removed_after_the_grace_period(
    docker_fleet: Fleet,
) -> None:
    customer = docker_fleet.customer()
    orphan = docker_fleet.client.containers.create(
        "dockyard-demo:1", name=f"dockyard-{customer}-gone-r1", labels={
            "dockyard.managed": "true", "dockyard.namespace": docker_fleet.run,
            "dockyard.instance": f"{customer}-gone",
            "dockyard.customer": customer, "dockyard.revision": "1",
        },
    )  # fmt: skip
    docker_fleet.clock.now = datetime.now(UTC)  # the engine stamps the container's creation

    first = await docker_fleet.provisioner.reconciler.run_pass()

    assert orphan.name in first.orphans
    assert first.orphans_removed == []
    docker_fleet.clock.advance(seconds=FAST_SETTINGS.orphan_grace_seconds + 1)
    second = await docker_fleet.provisioner.reconciler.run_pass()
    assert orphan.name in second.orphans_removed
    assert docker_fleet.client.containers.list(all=True, filters={"name": orphan.name}) == []


async def test_an_unknown_image_fails_with_a_reason_and_backs_off(
    engine_client: docker.DockerClient, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    catalog_dir = copy_sample(tmp_path / "catalog")
    edit_file(
        catalog_dir / "application-hosting.yaml", "image: dockyard-demo", "image: dockyard-missing"
    )
    fleet = build_fleet(
        engine_client, sqlite_engine, BackendKind.DOCKER, catalog=load_catalog(catalog_dir)
    )
    try:
        instance = await fleet.provisioner.provision(fleet.customer(), "app-starter")

        assert instance.state == InstanceState.FAILED
        assert instance.reason is not None
        assert "dockyard-missing:1" in instance.reason
        assert instance.next_attempt_at is not None
        waiting = await fleet.provisioner.reconciler.run_pass()
        assert waiting.waiting == 1
        fleet.clock.now = instance.next_attempt_at
        retried = await fleet.provisioner.reconciler.run_pass()
        assert retried.failed == [instance.id]
        assert (await fleet.provisioner.get(instance.id)).attempts == 2
    finally:
        remove_everything_of(engine_client, fleet.run)


async def test_an_unreachable_engine_fails_the_instance_not_the_worker(
    sqlite_engine: AsyncEngine,
) -> None:
    settings = ProvisionerSettings(docker_url="tcp://127.0.0.1:1", health_timeout_seconds=5)
    # A worker keeps running when the engine goes away after it started: build the backend
    # without the start-up ping that create_backend does.
    client = docker.DockerClient(base_url="tcp://127.0.0.1:1", version="1.41", timeout=2)
    fleet = build_fleet(client, sqlite_engine, BackendKind.DOCKER, settings=settings, ping=False)

    instance = await fleet.provisioner.provision("nobody", "app-starter")

    assert instance.state == InstanceState.FAILED
    assert instance.reason is not None
    assert "engine" in instance.reason.lower()


async def test_two_workers_reconcile_at_once_without_doubling_anything(
    engine_client: docker.DockerClient, database_url: str
) -> None:
    engine = create_engine(DatabaseSettings(url=database_url))
    await migrate.upgrade(engine)
    first = build_fleet(engine_client, engine, BackendKind.DOCKER, worker_id="worker-a")
    second = build_fleet(
        engine_client,
        engine,
        BackendKind.DOCKER,
        worker_id="worker-b",
        run=first.run,
        clock=first.clock,
    )
    try:
        ids = []
        for _ in range(4):
            instance = await first.provisioner.provision(first.customer(), "app-starter")
            instance = await settle(first, instance.id)
            ids.append(instance.id)
            assert instance.workload_id is not None
            engine_client.containers.get(instance.workload_id).remove(force=True)

        await asyncio.gather(
            first.provisioner.reconciler.run_pass(), second.provisioner.reconciler.run_pass()
        )

        for instance_id in ids:
            assert len(first.containers(instance_id)) == 1
            events = (await first.provisioner.view(instance_id)).events
            # Each repair was done (and recorded) by exactly one of the two workers.
            assert [event.kind for event in events].count("repaired") == 1
    finally:
        remove_everything_of(engine_client, first.run)
        await engine.dispose()
