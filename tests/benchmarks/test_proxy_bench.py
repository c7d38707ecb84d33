"""What the reverse proxy costs a request, and what an update costs its visitors.

- Requests to one instance straight at its published port, then through Caddy over plain
  HTTP and over HTTPS (one kept-alive connection each, as a browser would): median, p90
  and p99.
- A client asking every 50 ms while the instance is updated v1 -> v2 -> v1 -> v2: how many
  of its requests failed (the goal is none). Nothing here asserts a timing.
"""

from __future__ import annotations

import asyncio
import ssl
import statistics
import time
from collections.abc import Iterator
from dataclasses import replace

import docker
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from provisioner.models import UpdateStatus
from provisioner.settings import BackendKind
from tests.benchmarks.harness import Report, Sample
from tests.fixtures.docker import remove_everything_of
from tests.fixtures.provisioning import FAST_SETTINGS, Fleet, build_fleet
from tests.fixtures.proxy import Caddy, allowing_every_name
from tests.provisioner.test_lifecycle import settle

pytestmark = [pytest.mark.benchmark, pytest.mark.docker, pytest.mark.proxy]

REQUESTS = 1000
POLL_SECONDS = 0.05


@pytest.fixture
def proxied(
    engine_client: docker.DockerClient, sqlite_engine: AsyncEngine, proxy: Caddy
) -> Iterator[Fleet]:
    with allowing_every_name() as asked:
        settings = replace(FAST_SETTINGS, proxy=proxy.settings(asked))
        world = build_fleet(engine_client, sqlite_engine, BackendKind.DOCKER, settings=settings)
        try:
            yield world
        finally:
            remove_everything_of(engine_client, world.run)


def _timed(client: httpx.Client, url: str, host: str | None) -> Sample:
    headers = {"Host": host} if host else {}
    extensions = {"sni_hostname": host} if host and url.startswith("https") else {}
    for _ in range(50):  # warm up: connection, certificate, caches
        client.get(url, headers=headers, extensions=extensions).raise_for_status()
    times = []
    for _ in range(REQUESTS):
        start = time.perf_counter_ns()
        client.get(url, headers=headers, extensions=extensions).raise_for_status()
        times.append(time.perf_counter_ns() - start)
    return Sample(tuple(times))


def _p99(sample: Sample) -> float:
    return statistics.quantiles(sample.times_ns, n=100, method="inclusive")[98] / 1e6


async def test_requests_through_the_proxy_against_straight_to_the_container(
    proxied: Fleet, proxy: Caddy, bench_report: Report
) -> None:
    instance = await proxied.provisioner.provision(proxied.customer(), "app-starter")
    instance = await settle(proxied, instance.id)
    await proxied.provisioner.routes.sync()
    host = f"{instance.id}.dockyard.localhost"
    direct = f"http://127.0.0.1:{instance.host_port}/"
    trust = ssl.create_default_context(cafile=str(proxy.root_certificate))

    def measure_all() -> tuple[Sample, Sample, Sample]:
        with httpx.Client(timeout=10) as plain, httpx.Client(timeout=10, verify=trust) as tls:
            return (
                _timed(plain, direct, None),
                _timed(plain, f"http://127.0.0.1:{proxy.http_port}/", host),
                _timed(tls, f"https://127.0.0.1:{proxy.https_port}/", host),
            )

    straight, through, through_tls = await asyncio.to_thread(measure_all)
    bench_report.add(
        "GET straight to the container's port", straight, extra={"p99 ms": _p99(straight)}
    )
    for name, sample in (("through Caddy (HTTP)", through), ("through Caddy (HTTPS)", through_tls)):
        bench_report.add(
            f"GET {name}",
            sample,
            baseline="GET straight to the container's port",
            extra={"p99 ms": _p99(sample), "p99 ratio": _p99(sample) / _p99(straight)},
        )


async def test_failed_requests_during_updates_behind_the_proxy(
    proxied: Fleet, proxy: Caddy, bench_report: Report
) -> None:
    instance = await proxied.provisioner.provision(proxied.customer(), "app-starter")
    await settle(proxied, instance.id)
    await proxied.provisioner.routes.sync()
    host = f"{instance.id}.dockyard.localhost"
    asked, failed = 0, 0
    done = asyncio.Event()

    async def poll() -> None:
        nonlocal asked, failed
        async with httpx.AsyncClient(timeout=10) as http:
            while not done.is_set():
                asked += 1
                try:
                    answer = await http.get(
                        f"http://127.0.0.1:{proxy.http_port}/", headers={"Host": host}
                    )
                    failed += answer.status_code != 200
                except httpx.HTTPError:
                    failed += 1
                await asyncio.sleep(POLL_SECONDS)

    poller = asyncio.create_task(poll())
    times = []
    for version in ("2", "1", "2"):
        start = time.perf_counter_ns()
        outcome = await proxied.provisioner.update(instance.id, version)
        times.append(time.perf_counter_ns() - start)
        assert outcome.status is UpdateStatus.SUCCEEDED, outcome.detail
    done.set()
    await poller
    bench_report.add(
        "update behind the proxy, polled every 50 ms",
        Sample(tuple(times)),
        extra={"requests": asked, "failed requests": failed},
    )
