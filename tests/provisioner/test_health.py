"""Dockyard's own health probes (provisioner.health): the verdict's rules on a moved clock,
and the probe against real containers, a serving one and a broken release."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import docker
import pytest

from provisioner.backends.base import Health, RunState, Workload
from provisioner.health import (
    HEALTH_RETRIES,
    RESTART_BACKOFF_MAX_SECONDS,
    START_GRACE_SECONDS,
    HealthChecks,
    HealthWatch,
    Target,
)

INTERVAL = 10.0


def workload(workload_id: str = "w1", state: RunState = RunState.RUNNING) -> Workload:
    return Workload(
        id=workload_id, name=workload_id, instance_id="i1", customer_ref="c1", revision=1,
        image="dockyard-demo:1", state=state, health=Health.NONE, host_port=20001,
        created_at="2026-12-07T00:00:00Z",
    )  # fmt: skip


def test_a_starting_workload_is_probed_at_every_chance_a_serving_one_once_an_interval() -> None:
    watch = HealthWatch(INTERVAL, started=0.0)
    assert watch.due(0.5)  # starting: its first answer is awaited
    assert watch.due(1.0)

    assert watch.observe(True, 1.0) is Health.HEALTHY
    assert not watch.due(1.0 + INTERVAL - 0.1)
    assert watch.due(1.0 + INTERVAL)


def test_failures_count_one_interval_apart_from_the_start_as_the_engines_did() -> None:
    watch = HealthWatch(INTERVAL, started=0.0)
    # Failures within the first interval do not count: the application is starting.
    for now in (0.0, 0.3, 5.0, 9.9):
        assert watch.observe(False, now) is Health.STARTING
    assert watch.failures == 0
    for count in range(1, HEALTH_RETRIES):
        assert watch.observe(False, count * INTERVAL) is Health.STARTING
        assert watch.observe(False, count * INTERVAL + 1) is Health.STARTING  # not spaced
    assert watch.failures == HEALTH_RETRIES - 1
    assert watch.observe(False, HEALTH_RETRIES * INTERVAL) is Health.UNHEALTHY


def test_a_workload_never_seen_healthy_gets_a_grace_for_its_port_to_appear() -> None:
    short = 1.0  # the tests' interval: three failures would take three seconds
    watch = HealthWatch(short, started=0.0)
    for now in range(1, int(START_GRACE_SECONDS)):
        assert watch.observe(False, float(now)) is Health.STARTING
    assert watch.observe(False, START_GRACE_SECONDS) is Health.UNHEALTHY


def test_a_serving_workload_turns_unhealthy_after_failures_in_a_row_and_recovers() -> None:
    watch = HealthWatch(INTERVAL, started=0.0)
    watch.observe(True, 1.0)
    watch.observe(False, 1.0 + INTERVAL)
    assert watch.observe(True, 1.0 + 2 * INTERVAL) is Health.HEALTHY  # one miss is forgiven
    for n in range(1, HEALTH_RETRIES + 1):
        verdict = watch.observe(False, 1.0 + (2 + n) * INTERVAL)
    assert verdict is Health.UNHEALTHY
    assert watch.observe(True, 1.0 + 9 * INTERVAL) is Health.HEALTHY


def unhealthy_from(watch: HealthWatch, start: float) -> float:
    """Fails the watch's probes from ``start`` until it is unhealthy; when that was."""
    now = start
    while watch.observe(False, now) is not Health.UNHEALTHY:
        now += watch.interval
    return now


def test_an_unhealthy_workload_is_restarted_then_again_after_a_doubling_back_off() -> None:
    watch = HealthWatch(INTERVAL, started=0.0)
    watch.observe(True, 1.0)
    assert not watch.restart_due(1.0)  # healthy
    now = unhealthy_from(watch, 1.0 + INTERVAL)
    assert watch.restart_due(now)  # the first restart waits for nothing
    waits = []
    for _ in range(8):
        watch.restarted(now)
        assert watch.verdict is Health.STARTING  # watched as a new workload, with a grace
        now = unhealthy_from(watch, now + 1.0)
        while not watch.restart_due(now):
            now += 1.0
        waits.append(now - (watch.restarted_at or 0.0))
    # The first back-off (2 intervals) is shorter than judging a restarted workload takes
    # (grace, then three failures an interval apart); later ones are what waits.
    assert waits[0] == 3 * INTERVAL + 1.0
    assert waits[1:3] == [4 * INTERVAL, 8 * INTERVAL]
    assert max(waits) == RESTART_BACKOFF_MAX_SECONDS  # capped
    watch.observe(True, now)  # one answer: the count starts over
    assert watch.restarts == 0
    unhealthy_from(watch, now + INTERVAL)
    assert watch.restart_due(now + 4 * INTERVAL)


def test_the_verdict_replaces_the_engines_health_only_where_a_path_is_probed() -> None:
    checks = HealthChecks("127.0.0.1", INTERVAL)
    running = workload()

    assert checks.judged(running, "/healthz").health is Health.STARTING  # never probed
    assert checks.judged(running, None).health is Health.NONE  # a server: served when running
    stopped = workload(state=RunState.STOPPED)
    assert checks.judged(stopped, "/healthz").health is Health.NONE


@pytest.fixture
def demo(docker_client: docker.DockerClient) -> Iterator[dict[str, int]]:
    """A serving demo application and a broken release (listens on the wrong port)."""
    started = {}
    containers = []
    try:
        for name, image in (("good", "dockyard-demo:1"), ("broken", "dockyard-demo:broken")):
            container = docker_client.containers.run(
                image, detach=True, init=True, ports={"8080/tcp": ("127.0.0.1", None)},
                labels={"dockyard.test": "health"}, healthcheck={"Test": ["NONE"]},
            )  # fmt: skip
            containers.append(container)
            container.reload()
            started[name] = int(
                container.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"]
            )
        yield started
    finally:
        for container in containers:
            container.remove(force=True)


async def test_real_containers_are_judged_by_what_they_answer(demo: dict[str, int]) -> None:
    now = [0.0]
    checks = HealthChecks("127.0.0.1", INTERVAL, clock=lambda: now[0])
    good, broken = workload("good"), workload("broken")
    targets = [Target(good, demo["good"], "/healthz"), Target(broken, demo["broken"], "/healthz")]

    for step in range(HEALTH_RETRIES * 4 + 1):  # a pass every quarter interval
        now[0] = step * INTERVAL / 4
        await checks.probe(targets)
        if checks.judged(good, "/healthz").health is Health.HEALTHY:
            continue
        await asyncio.sleep(0.2)  # the application is still starting: real time passes

    assert checks.judged(good, "/healthz").health is Health.HEALTHY
    assert checks.judged(broken, "/healthz").health is Health.UNHEALTHY

    checks.forget(["good"])
    assert checks.judged(broken, "/healthz").health is Health.STARTING  # watched anew
