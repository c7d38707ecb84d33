"""Provisioning speed on the real engine, against plain ``docker run``; and what one
reconciler pass over 500 instances costs in engine API calls.

Dockyard's provision does more than ``docker run``: a database row and events, the
customer's network, named volumes, limits, labels, a health check, reading the port
back. The figures say what that costs. Nothing here asserts a timing.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import docker
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from provisioner.models import InstanceState
from provisioner.settings import BackendKind, ProvisionerSettings
from tests.benchmarks.harness import Report, Sample
from tests.fixtures.docker import remove_everything_of
from tests.fixtures.provisioning import FAST_SETTINGS, Fleet, build_fleet, wait_for_page
from tests.provisioner.test_lifecycle import settle

pytestmark = [pytest.mark.benchmark, pytest.mark.docker]

ROUNDS = 20
FLEET_SIZE = 500
IMAGE = "dockyard-demo:1"


@dataclass
class RequestCounter:
    count: int = 0

    def __call__(self, response: object, *args: object, **kwargs: object) -> None:
        self.count += 1


@pytest.fixture
def bench_fleet(engine_client: docker.DockerClient, sqlite_engine: AsyncEngine) -> Iterator[Fleet]:
    world = build_fleet(engine_client, sqlite_engine, BackendKind.DOCKER)
    try:
        yield world
    finally:
        remove_everything_of(engine_client, world.run)


async def _dockyard_once(fleet: Fleet, customer: str | None = None) -> float:
    """One instance provisioned until it serves, for a new customer (whose network is
    made first: the price of isolating customers) or for ``customer``, who has one."""
    start = time.perf_counter()
    instance = await fleet.provisioner.provision(customer or fleet.customer(), "app-starter")
    instance = await settle(fleet, instance.id, within=60, poll=0.05)  # the baseline's poll
    address = fleet.provisioner.address(instance)
    assert address is not None
    await wait_for_page(address, "Dockyard demo application")
    elapsed = time.perf_counter() - start
    # Remove it (untimed), so every round starts on an engine as empty as the baseline's.
    assert instance.workload_id is not None
    await asyncio.to_thread(fleet.backend.remove, instance.workload_id)
    return elapsed


def _docker_run_once(client: docker.DockerClient, run: str) -> float:
    """The baseline: the same image and limits, run by hand and asked for its page until
    it answers (Dockyard likewise probes from outside; the engine runs no check)."""
    start = time.perf_counter()
    container = client.containers.run(
        IMAGE, detach=True, init=True, name=f"{run}-{secrets.token_hex(3)}",
        labels={"dockyard.customer": run}, ports={"8080/tcp": ("127.0.0.1", None)},
        mem_limit="128m", nano_cpus=500_000_000, pids_limit=64,
        healthcheck={"test": ["NONE"]},
    )  # fmt: skip
    container.reload()
    port = container.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"]
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200:
                break
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    container.remove(force=True)  # untimed: the next round starts on an empty engine
    return elapsed


def _sample(seconds: list[float]) -> Sample:
    return Sample(tuple(int(value * 1e9) for value in seconds))


async def test_provision_to_http_200(
    bench_fleet: Fleet, engine_client: docker.DockerClient, bench_report: Report
) -> None:
    baseline = [
        await asyncio.to_thread(_docker_run_once, engine_client, bench_fleet.run)
        for _ in range(ROUNDS)
    ]
    bench_report.add("docker run -> 200 (one at a time)", _sample(baseline))
    ours = [await _dockyard_once(bench_fleet) for _ in range(ROUNDS)]
    bench_report.add(
        "provision -> healthy -> 200 (one at a time)", _sample(ours),
        baseline="docker run -> 200 (one at a time)",
    )  # fmt: skip

    # A customer's later instances find their network made: what Dockyard adds to docker
    # run besides it. The network is made by a first instance, untimed.
    fleet_customer = bench_fleet.customer()
    await _dockyard_once(bench_fleet, fleet_customer)
    ours_known = [await _dockyard_once(bench_fleet, fleet_customer) for _ in range(ROUNDS)]
    bench_report.add(
        "provision -> healthy -> 200, network made (one at a time)", _sample(ours_known),
        baseline="docker run -> 200 (one at a time)",
    )  # fmt: skip

    # Twenty `docker run`s at once, each on a thread of its own, as twenty shells would:
    # asyncio's default pool (six threads here) would run six at a time, each timed only
    # from its turn, so the baseline's queueing would not count while Dockyard's does.
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=ROUNDS) as shells:
        start = time.perf_counter()
        baseline_together = await asyncio.gather(
            *(
                loop.run_in_executor(shells, _docker_run_once, engine_client, bench_fleet.run)
                for _ in range(ROUNDS)
            )
        )
        baseline_wall = time.perf_counter() - start
    bench_report.add(
        "docker run x20 at once (each)", _sample(list(baseline_together)),
        extra={"wall_s": round(baseline_wall, 2)},
    )  # fmt: skip
    start = time.perf_counter()
    ours_together = await asyncio.gather(*(_dockyard_once(bench_fleet) for _ in range(ROUNDS)))
    ours_wall = time.perf_counter() - start
    bench_report.add(
        "provision x20 at once (each)", _sample(list(ours_together)),
        baseline="docker run x20 at once (each)",
        extra={"wall_s": round(ours_wall, 2), "wall_ratio": round(ours_wall / baseline_wall, 2)},
    )  # fmt: skip

    # Customers who came through checkout: the worker made their networks while they
    # paid (portal.checkout_networks), untimed here as it is for them.
    paying = [bench_fleet.customer() for _ in range(ROUNDS)]
    for customer in paying:
        await bench_fleet.provisioner.prepare_network(customer)
    start = time.perf_counter()
    ours_paid = await asyncio.gather(*(_dockyard_once(bench_fleet, ref) for ref in paying))
    paid_wall = time.perf_counter() - start
    bench_report.add(
        "provision x20 at once, networks made in checkout (each)", _sample(list(ours_paid)),
        baseline="docker run x20 at once (each)",
        extra={"wall_s": round(paid_wall, 2), "wall_ratio": round(paid_wall / baseline_wall, 2)},
    )  # fmt: skip


@pytest.fixture
def large_fleet(engine_client: docker.DockerClient, sqlite_engine: AsyncEngine) -> Iterator[Fleet]:
    """The production health interval (the tests' 1 s would probe 500 a second)."""
    interval = ProvisionerSettings().health_interval_seconds
    settings = replace(FAST_SETTINGS, health_interval_seconds=interval, health_timeout_seconds=120)
    world = build_fleet(engine_client, sqlite_engine, BackendKind.DOCKER, settings=settings)
    try:
        yield world
    finally:
        remove_everything_of(engine_client, world.run)


async def test_reconciler_pass_over_500_instances(
    large_fleet: Fleet, engine_client: docker.DockerClient, bench_report: Report
) -> None:
    bench_fleet = large_fleet
    provisioner = bench_fleet.provisioner
    customers = [bench_fleet.customer() for _ in range(FLEET_SIZE // 10)]
    limit = asyncio.Semaphore(8)

    async def one(index: int) -> str:
        async with limit:
            instance = await provisioner.provision(customers[index % len(customers)], "app-starter")
            return instance.id

    ids = await asyncio.gather(*(one(index) for index in range(FLEET_SIZE)))
    counter = RequestCounter()
    engine_client.api.hooks["response"].append(counter)
    try:
        # Starting 500 at once overloads two cores: some first health checks time out and
        # those instances fail and back off. Measure the steady state: all running first.
        for _ in range(30):
            await provisioner.reconciler.run_pass()
            settling = [
                instance.id
                for instance in await provisioner.find()
                if instance.state != InstanceState.RUNNING
            ]
            if not settling:
                break
            for instance_id in settling:
                await provisioner.reconciler.converge(instance_id, force=True)
        assert not settling, f"{len(settling)} instances never came up"
        times, calls = [], []
        cpu = time.process_time()
        for _ in range(5):
            counter.count = 0
            start = time.perf_counter_ns()
            report = await provisioner.reconciler.run_pass()
            times.append(time.perf_counter_ns() - start)
            calls.append(counter.count)
        cpu = (time.process_time() - cpu) / 5
        assert report.instances == FLEET_SIZE
        bench_report.add(
            "reconciler pass, 500 in sync", Sample(tuple(times)),
            extra={"engine_api_calls": max(calls), "instances": FLEET_SIZE,
                   "worker_cpu_s_per_pass": round(cpu, 3)},
        )  # fmt: skip

        for instance_id in ids[:25]:
            for container in bench_fleet.containers(instance_id):
                container.remove(force=True)
        counter.count = 0
        start = time.perf_counter_ns()
        drift = await provisioner.reconciler.run_pass()  # one pass; no forcing
        elapsed = time.perf_counter_ns() - start
        assert drift.actions["create"] == 25
        bench_report.add(
            "reconciler pass, 500 with 25 removed", Sample((elapsed,)),
            baseline="reconciler pass, 500 in sync",
            extra={"engine_api_calls": counter.count, "recreated": 25},
        )  # fmt: skip
    finally:
        engine_client.api.hooks["response"].remove(counter)
