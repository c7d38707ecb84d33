"""What health checking costs: one check by the engine (a process started inside the
container: dockerd, containerd, the shim and runc exec) against one HTTP GET from
outside, as Dockyard's worker probes (provisioner.health). Each row's samples are the
CPU seconds one check cost, counted from /proc for the engine's processes and from the
container's cgroup, plus the checking process's own; the extra column says what that
makes per 100 idle instances at the default interval, in cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import httpx
import pytest
from docker.models.containers import Container

from provisioner.health import answers, probing_client
from provisioner.settings import ProvisionerSettings
from tests.benchmarks.harness import Report, Sample

pytestmark = [pytest.mark.benchmark, pytest.mark.docker]

CHECKS = 100
ROUNDS = 5
PROBE = ["/bin/busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/healthz"]
TICKS = os.sysconf("SC_CLK_TCK")


def _process_seconds(pid: int) -> float:
    """User and system time of a process and its reaped children (runc exec's are)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / TICKS


def _engine_processes(container_id: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        shim = name.startswith("containerd-shim") and container_id in command
        if name in ("dockerd", "containerd") or shim:
            found.append(int(entry.name))
    return found


def _cgroup_seconds(container_id: str) -> float:
    for path in (
        Path(f"/sys/fs/cgroup/cpuacct/docker/{container_id}/cpuacct.usage"),
        Path(f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/cpu.stat"),
    ):
        if path.exists():
            text = path.read_text()
            if path.name == "cpu.stat":  # cgroup v2: usage_usec
                return int(text.split()[1]) / 1e6
            return int(text) / 1e9
    raise AssertionError(f"no CPU accounting found for container {container_id}")


@pytest.fixture
def idle_app(engine_client: docker.DockerClient) -> Iterator[Container]:
    container = engine_client.containers.run(
        "dockyard-demo:1", detach=True, init=True, labels={"dockyard.bench": "health"},
        ports={"8080/tcp": ("127.0.0.1", None)}, healthcheck={"Test": ["NONE"]},
    )  # fmt: skip
    try:
        container.reload()
        deadline = time.monotonic() + 30
        port = int(container.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"])
        while httpx.get(f"http://127.0.0.1:{port}/healthz").status_code != 200:
            assert time.monotonic() < deadline, "the demo application did not start"
            time.sleep(0.1)
        yield container
    finally:
        container.remove(force=True)


def _cpu(container: Container) -> float:
    engine = 0.0
    for pid in _engine_processes(container.id):
        with contextlib.suppress(OSError):
            engine += _process_seconds(pid)
    return engine + _cgroup_seconds(container.id) + time.process_time()


def _engine_checks(container: Container) -> float:
    start = _cpu(container)
    for _ in range(CHECKS):
        assert container.exec_run(PROBE).exit_code == 0
    return (_cpu(container) - start) / CHECKS


def _outside_checks(container: Container) -> float:
    port = int(container.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"])

    async def probes() -> None:
        # A client per pass of 100 probes, as the reconciler makes one per pass.
        async with probing_client() as client:
            for _ in range(CHECKS):
                assert await answers(client, "127.0.0.1", port, "/healthz")

    start = _cpu(container)
    asyncio.run(probes())
    return (_cpu(container) - start) / CHECKS


def test_health_check_cost_per_100_idle_instances(
    idle_app: Container, bench_report: Report
) -> None:
    interval = ProvisionerSettings().health_interval_seconds
    engine = [_engine_checks(idle_app) for _ in range(ROUNDS)]
    outside = [_outside_checks(idle_app) for _ in range(ROUNDS)]

    def row(seconds: list[float]) -> tuple[Sample, dict[str, object]]:
        median = sorted(seconds)[len(seconds) // 2]
        per_100 = 100 / interval * median  # checks a second times CPU seconds a check
        extra: dict[str, object] = {"cores_per_100_idle": round(per_100, 3), "interval_s": interval}
        return Sample(tuple(int(value * 1e9) for value in seconds)), extra

    sample, extra = row(engine)
    bench_report.add("health check by the engine (CPU per check)", sample, extra=extra)
    sample, extra = row(outside)
    bench_report.add(
        "health check from outside (CPU per check)", sample,
        baseline="health check by the engine (CPU per check)", extra=extra,
    )  # fmt: skip
