"""The Backend contract, on the real engine, for every backend (Docker engine, Swarm).

One application workload per backend is shared by the tests that only look at it; the
tests that stop, break or remove workloads make their own. Waits poll with a deadline.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import docker
import httpx
import pytest

from provisioner.backends.base import (
    CUSTOMER_LABEL,
    INSTANCE_LABEL,
    MANAGED_LABEL,
    NAMESPACE_LABEL,
    PLAN_LABEL,
    REVISION_LABEL,
    Backend,
    Health,
    RunState,
    VolumeMount,
    Workload,
    WorkloadSpec,
)
from provisioner.errors import ImageNotFound, WorkloadFailed
from provisioner.settings import ProvisionerSettings
from tests.fixtures.docker import (
    EngineObjects,
    address_in,
    container_of,
    network_of,
    run_in,
    wait_for,
)

pytestmark = pytest.mark.docker

DATA = (VolumeMount("data", "/data"),)
MIB = 1024 * 1024
# Engine calls of one list_workloads: the containers listing; services, tasks and this
# node's task containers (for their health) on Swarm.
LISTING_CALLS = {"docker": 1, "swarm": 3}


@dataclass(frozen=True)
class Running:
    spec: WorkloadSpec
    workload: Workload  # as seen once it served


def inspect_until(
    backend: Backend, workload_id: str, condition: Callable[[Workload], bool], what: str
) -> Workload:
    def probe() -> Workload | None:
        seen = backend.inspect(workload_id)
        return seen if seen is not None and condition(seen) else None

    return wait_for(probe, f"workload {workload_id}: {what}")


def serving(backend: Backend, workload_id: str) -> Workload:
    """The workload once it serves: running with its port (the contract), and answering
    there (what Dockyard's own probe asks, ``provisioner.health``)."""
    seen = inspect_until(
        backend, workload_id, lambda w: w.state is RunState.RUNNING and bool(w.host_port), "up"
    )

    def answers() -> Workload | None:
        try:
            return seen if page(seen).status_code == 200 else None
        except httpx.HTTPError:
            return None

    return wait_for(answers, f"workload {workload_id}: answering on {seen.host_port}")


def page(workload: Workload) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{workload.host_port}/", timeout=5)


def inspect_data(client: docker.DockerClient, backend: Backend, workload: Workload) -> Any:
    """What the engine stores: the container, or the service."""
    if backend.name == "docker":
        return client.api.inspect_container(workload.id)
    return client.api.inspect_service(workload.id)


@pytest.fixture(scope="module")
def app(backend: Backend, docker_client: docker.DockerClient) -> Iterator[Running]:
    """One serving application per backend, for the tests that only look at it."""
    objects = EngineObjects(docker_client)
    try:
        spec = objects.spec("shared", volumes=DATA)
        created = backend.create(spec)
        yield Running(spec, serving(backend, created.id))
    finally:
        objects.remove_all()


def test_create_serves_the_application_on_the_published_port(app: Running) -> None:
    response = page(app.workload)

    assert response.status_code == 200
    assert "Dockyard demo application" in response.text
    assert "version 1" in response.text
    assert app.workload.name == f"dockyard-{app.spec.instance_id}-r1"
    # The engine runs no check of its own (Dockyard probes from outside): no health.
    assert (app.workload.state, app.workload.health) == (RunState.RUNNING, Health.NONE)


def test_limits_and_hardening_are_in_the_engine(
    app: Running, backend: Backend, docker_client: docker.DockerClient
) -> None:
    data = inspect_data(docker_client, backend, app.workload)

    if backend.name == "docker":
        host = data["HostConfig"]
        assert host["NanoCpus"] == 250_000_000
        assert host["Memory"] == host["MemorySwap"] == 48 * MIB  # no swap
        assert host["PidsLimit"] == 64
        assert host["CapDrop"] == ["ALL"]
        assert not host["CapAdd"]
        assert host["Init"] is True
        assert host["RestartPolicy"]["Name"] in ("", "no")  # the reconciler restarts
        assert host["PortBindings"]["8080/tcp"][0]["HostIp"] == "127.0.0.1"
        mounts = data["Mounts"]
    else:
        template = data["Spec"]["TaskTemplate"]
        limits = template["Resources"]["Limits"]
        assert limits == {"NanoCPUs": 250_000_000, "MemoryBytes": 48 * MIB, "Pids": 64}
        assert template["Resources"]["Reservations"]["MemoryBytes"] == 48 * MIB
        assert template["ContainerSpec"]["CapabilityDrop"] == ["ALL"]
        assert template["ContainerSpec"]["Init"] is True
        assert data["Spec"]["UpdateConfig"]["Order"] == "start-first"
        assert data["Spec"]["UpdateConfig"]["FailureAction"] == "rollback"
        assert data["Spec"]["EndpointSpec"]["Ports"][0]["PublishMode"] == "host"
        # ...and the engine applied the spec to the task's container.
        container = container_of(docker_client, "swarm", app.workload.id)
        host = docker_client.api.inspect_container(container)["HostConfig"]
        assert (host["NanoCpus"], host["Memory"], host["PidsLimit"]) == (250_000_000, 48 * MIB, 64)
        assert host["CapDrop"] == ["ALL"]
        mounts = docker_client.api.inspect_container(container)["Mounts"]
    assert [(m["Type"], m["Name"], m["Destination"]) for m in mounts] == [
        ("volume", f"dockyard-{app.spec.instance_id}-data", "/data")
    ]
    assert "docker.sock" not in str(data)


@pytest.fixture
def xfail_on_swarm(backend: Backend, request: pytest.FixtureRequest) -> None:
    if backend.name == "swarm":
        request.applymarker(
            pytest.mark.xfail(
                reason="API 1.41 cannot set no-new-privileges on a service (API 1.44 can)",
                strict=True,
            )
        )


@pytest.mark.usefixtures("xfail_on_swarm")
def test_no_new_privileges(
    app: Running, backend: Backend, docker_client: docker.DockerClient
) -> None:
    container = container_of(docker_client, backend.name, app.workload.id)

    host = docker_client.api.inspect_container(container)["HostConfig"]

    assert "no-new-privileges" in (host["SecurityOpt"] or [])


def test_labels_name_the_instance_and_route_its_hostname(
    app: Running, backend: Backend, docker_client: docker.DockerClient
) -> None:
    data = inspect_data(docker_client, backend, app.workload)
    labels = data["Config"]["Labels"] if backend.name == "docker" else data["Spec"]["Labels"]
    instance = app.spec.instance_id

    assert labels[MANAGED_LABEL] == "true"
    assert labels[INSTANCE_LABEL] == instance
    assert labels[CUSTOMER_LABEL] == app.spec.customer_ref
    assert labels[REVISION_LABEL] == "1"
    assert labels[PLAN_LABEL] == "app-test@1"
    assert labels["dockyard.hostname"] == app.spec.hostname


def test_create_is_idempotent(app: Running, backend: Backend) -> None:
    again = backend.create(app.spec)

    assert again.id == app.workload.id
    assert serving(backend, again.id).host_port == app.workload.host_port


def test_list_workloads_reads_everything_in_one_listing(
    app: Running, backend: Backend, docker_client: docker.DockerClient
) -> None:
    calls: list[str] = []
    hooks = docker_client.api.hooks["response"]  # requests calls them for every answer

    def count(response: Any, *args: Any, **kwargs: Any) -> None:
        calls.append(response.request.path_url)

    hooks.append(count)
    try:
        workloads = backend.list_workloads()
    finally:
        hooks.remove(count)

    assert len(calls) == LISTING_CALLS[backend.name], calls
    [seen] = [w for w in workloads if w.instance_id == app.spec.instance_id]
    assert seen.id == app.workload.id
    assert seen.name == app.workload.name
    assert (seen.customer_ref, seen.revision, seen.image) == (
        app.spec.customer_ref,
        1,
        "dockyard-demo:1",
    )
    assert (seen.state, seen.health, seen.host_port) == (
        RunState.RUNNING,
        Health.NONE,
        app.workload.host_port,
    )
    assert seen.created_at == app.workload.created_at


def test_one_instances_listing_is_filtered_by_the_engine(app: Running, backend: Backend) -> None:
    everything = backend.list_workloads()
    [own] = backend.list_workloads(app.spec.instance_id)

    assert own.id == app.workload.id
    assert own.id in {workload.id for workload in everything}
    assert backend.list_workloads(f"{app.spec.instance_id}-none") == []


def test_logs_hold_the_http_servers_output(app: Running, backend: Backend) -> None:
    assert page(app.workload).status_code == 200

    def access_logged() -> str | None:
        logs = backend.logs(app.workload.id, tail=50)
        return logs if "response:200" in logs else None

    wait_for(access_logged, "an access log line")  # Swarm collects logs asynchronously
    assert "httpd listening on :8080" in backend.logs(app.workload.id, tail=1000)


def test_usage_reports_numbers(app: Running, backend: Backend) -> None:
    usage = backend.usage(app.workload.id)

    assert usage.cpu_percent >= 0
    assert 0 < usage.memory_bytes < usage.memory_limit_bytes == 48 * MIB
    assert usage.processes >= 2  # init and httpd


def test_customers_cannot_reach_each_other(
    backend: Backend, docker_client: docker.DockerClient, objects: EngineObjects
) -> None:
    mine = backend.create(objects.spec("mine", customer="a"))
    neighbour = backend.create(objects.spec("neighbour", customer="a"))
    stranger = backend.create(objects.spec("stranger", customer="b"))
    containers = {
        w.id: container_of(docker_client, backend.name, w.id) for w in (mine, neighbour, stranger)
    }
    network_a, network_b = (
        network_of(objects.spec(customer="a")),
        network_of(objects.spec(customer="b")),
    )
    same = address_in(docker_client, containers[neighbour.id], network_a)
    other = address_in(docker_client, containers[stranger.id], network_b)

    def fetch(address: str) -> tuple[int, str]:
        # Traffic to another network is dropped, not refused: `timeout` ends the wait
        # (busybox 1.35's own wget -T crashes).
        wget = ["/bin/busybox", "wget", "-q", "-O", "-", f"http://{address}:8080/"]
        return run_in(docker_client, containers[mine.id], "timeout", "2", *wget)

    code, body = wait_for(
        lambda: result if (result := fetch(same))[0] == 0 else None, "same-customer reach"
    )
    assert "Dockyard demo application" in body
    code, _ = fetch(other)
    assert code != 0


def test_data_survives_stop_and_start_and_the_port_is_read_back(
    backend: Backend, docker_client: docker.DockerClient, objects: EngineObjects
) -> None:
    created = backend.create(objects.spec("data", volumes=DATA))
    serving(backend, created.id)
    container = container_of(docker_client, backend.name, created.id)
    assert run_in(docker_client, container, "sh", "-c", "echo kept > /data/proof")[0] == 0

    backend.stop(created.id)
    stopped = backend.inspect(created.id)
    assert stopped is not None
    assert (stopped.state, stopped.host_port) == (RunState.STOPPED, None)
    assert backend.start(created.id).id == created.id
    again = serving(backend, created.id)

    container = container_of(docker_client, backend.name, created.id)
    assert run_in(docker_client, container, "cat", "/data/proof") == (0, "kept\n")
    assert page(again).status_code == 200
    restarted = serving(backend, backend.restart(created.id).id)
    assert page(restarted).status_code == 200


def test_remove_keeps_the_volumes_until_remove_volumes(
    backend: Backend, docker_client: docker.DockerClient, objects: EngineObjects
) -> None:
    spec = objects.spec("removed", volumes=DATA)
    created = backend.create(spec)
    volume = f"dockyard-{spec.instance_id}-data"

    backend.remove(created.id)

    assert backend.inspect(created.id) is None
    assert docker_client.api.inspect_volume(volume)["Labels"][INSTANCE_LABEL] == spec.instance_id
    backend.remove(created.id)  # gone already is fine
    assert backend.remove_volumes(spec.instance_id) == 1
    assert backend.remove_volumes(spec.instance_id) == 0
    with pytest.raises(docker.errors.NotFound):
        docker_client.api.inspect_volume(volume)
    backend.remove_network(spec.customer_ref)
    with pytest.raises(docker.errors.NotFound):
        docker_client.api.inspect_network(network_of(spec))


def test_the_engine_runs_no_health_check_not_even_the_images(
    app: Running, backend: Backend, docker_client: docker.DockerClient
) -> None:
    # The demo image declares a HEALTHCHECK; each run of one is a process started in the
    # container, so Dockyard switches it off and probes from outside (provisioner.health).
    data = inspect_data(docker_client, backend, app.workload)
    if backend.name == "docker":
        check = data["Config"]["Healthcheck"]
    else:
        check = data["Spec"]["TaskTemplate"]["ContainerSpec"]["Healthcheck"]

    assert check["Test"] == ["NONE"]  # Docker keeps the image's interval fields: unused


def test_a_revision_that_exits_at_once_is_reported_failed(
    backend: Backend, objects: EngineObjects
) -> None:
    spec = objects.spec("crash", image="dockyard-demo:crash", health_path=None)

    reason, raised = crash_report(backend, spec)

    assert re.search(r"with status 3\b|exit \(3\)", reason), reason
    if raised:  # with what to do and the container's last words
        assert spec.instance_id in reason
        assert "fix the image or the plan" in reason
        assert "cannot start, exiting with status 3" in reason


def crash_report(backend: Backend, spec: WorkloadSpec) -> tuple[str, bool]:
    """Why a crash was reported, and whether create raised it.

    Docker raises WorkloadFailed from create when the container has died by the time it
    is inspected (almost always); otherwise, and on Swarm, inspections show it FAILED.
    """
    try:
        created = backend.create(spec)
    except WorkloadFailed as error:
        return error.reason, True
    failed = inspect_until(backend, created.id, lambda w: w.state is RunState.FAILED, "FAILED")
    return failed.detail, False


def test_an_unknown_image_is_image_not_found(backend: Backend, objects: EngineObjects) -> None:
    spec = objects.spec("unknown", image="dockyard-demo:no-such-version")

    with pytest.raises(ImageNotFound) as raised:
        backend.create(spec)

    assert "dockyard-demo:no-such-version" in raised.value.reason
    assert spec.instance_id in raised.value.reason


def test_update_limits_applies_new_limits(
    backend: Backend, docker_client: docker.DockerClient, objects: EngineObjects
) -> None:
    spec = objects.spec("resized")
    created = backend.create(spec)
    bigger = replace(spec, cpu_millis=500, memory_mb=96, max_processes=128)

    assert backend.update_limits(created.id, bigger) is True

    def applied() -> dict[str, Any] | None:
        if backend.name == "swarm":
            serving(backend, created.id)
        container = container_of(docker_client, backend.name, created.id)
        host: dict[str, Any] = docker_client.api.inspect_container(container)["HostConfig"]
        return host if host["Memory"] == 96 * MIB else None

    host = wait_for(applied, "the new memory limit on the running container")
    assert (host["NanoCpus"], host["PidsLimit"]) == (500_000_000, 128)
    if backend.name == "docker":  # live: the same container kept running, still no swap
        assert host["MemorySwap"] == 96 * MIB
        assert container_of(docker_client, "docker", created.id) == created.id
        assert page(serving(backend, created.id)).status_code == 200


def test_two_workers_creating_a_customers_network_at_once_settle_on_one(
    backend: Backend, docker_client: docker.DockerClient, objects: EngineObjects
) -> None:
    """Issue 11: Docker ignores CheckDuplicate from API 1.44, so the web process and its
    worker creating a customer's first instances at once made two networks of one name,
    and neither instance could attach ("network ... not found")."""
    specs = [objects.spec(name, customer="racing") for name in ("first", "second", "third")]
    with ThreadPoolExecutor(len(specs)) as pool:
        created = list(pool.map(backend.create, specs))

    name = network_of(specs[0])
    named = [n for n in docker_client.api.networks(names=[name]) if n["Name"] == name]
    assert len(named) == 1, named
    for workload in created:
        serving(backend, workload.id)


def test_a_prepared_network_is_the_one_the_first_workload_joins(
    backend: Backend, docker_client: docker.DockerClient, objects: EngineObjects
) -> None:
    """A customer's network made ahead (while they are in checkout), then their first
    workload: it joins that network, no second one is made, and it serves."""
    spec = objects.spec("prepared", customer="early")
    name = network_of(spec)

    backend.prepare_network(spec.customer_ref)
    backend.prepare_network(spec.customer_ref)  # again: the same network
    prepared = [n["Id"] for n in docker_client.api.networks(names=[name]) if n["Name"] == name]
    created = backend.create(spec)

    assert len(prepared) == 1
    # Labelled with the deployment that made it, whose clean-up by namespace takes it too.
    labels = docker_client.api.inspect_network(prepared[0])["Labels"]
    assert labels[NAMESPACE_LABEL] == ProvisionerSettings().namespace  # the backend's
    assert labels[CUSTOMER_LABEL] == spec.customer_ref
    serving(backend, created.id)
    named = [n["Id"] for n in docker_client.api.networks(names=[name]) if n["Name"] == name]
    assert named == prepared
    container = docker_client.api.inspect_container(
        container_of(docker_client, backend.name, created.id)
    )
    assert prepared[0] in {
        endpoint["NetworkID"] for endpoint in container["NetworkSettings"]["Networks"].values()
    }
