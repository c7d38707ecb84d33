"""Requests per second and p99 latency of a signed-in dashboard with 1,000 customers in the
database, against a litestar handler returning a fixed page in the same run and server.

The portal runs in its own process (uvicorn, one worker, SQLite, the local engine) so
the load generator does not share its interpreter. Sixteen clients, each signed in as a
different customer, send requests back to back; rounds alternate the two pages so drift
on the machine hits both alike. Only that every answer was a 200 is asserted.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from portal import migrate
from portal.database import create_engine
from portal.settings import DatabaseSettings
from tests.benchmarks.harness import Report, Sample
from tests.benchmarks.portal_seed import customer_email, seed_customers
from tests.fixtures.live_portal import free_port

pytestmark = pytest.mark.benchmark

CUSTOMERS = 1_000
CLIENTS = 16
REQUESTS_PER_ROUND = 800
ROUNDS = 5
PASSWORD = "benchmark password"


async def _prepare(url: str) -> None:
    engine = create_engine(DatabaseSettings(url=url))
    try:
        await migrate.upgrade(engine)
        await seed_customers(engine, CUSTOMERS, PASSWORD, datetime.now(UTC))
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def portal_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("portal-bench")
    database = f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}"
    asyncio.run(_prepare(database))
    port = free_port()
    env = {
        **os.environ,
        "DOCKYARD_DATABASE_URL": database,
        "DOCKYARD_SECRET_KEY": secrets.token_urlsafe(40),
        "DOCKYARD_NAMESPACE": f"bench{secrets.token_hex(3)}",
        "DOCKYARD_SIGNIN_ATTEMPTS_PER_MINUTE": "100000",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "tests.benchmarks.portal_server:create",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the benchmark portal did not start")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _signed_in(url: str, number: int) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=url, timeout=30)
    await client.get("/signin")
    token = client.cookies["dockyard_csrf"]
    answer = await client.post(
        "/signin",
        data={"_csrf_token": token, "email": customer_email(number), "password": PASSWORD},
    )
    assert answer.status_code in (200, 303), answer.text
    return client


async def _round(clients: list[httpx.AsyncClient], path: str) -> tuple[list[int], float]:
    """REQUESTS_PER_ROUND requests spread over the clients; per-request ns and wall seconds."""
    latencies: list[int] = []
    per_client = REQUESTS_PER_ROUND // len(clients)

    async def run(client: httpx.AsyncClient) -> None:
        for _ in range(per_client):
            start = time.perf_counter_ns()
            answer = await client.get(path)
            latencies.append(time.perf_counter_ns() - start)
            assert answer.status_code == 200, f"{path}: {answer.status_code}"

    start = time.perf_counter()
    await asyncio.gather(*(run(client) for client in clients))
    return latencies, time.perf_counter() - start


def _p99(latencies: list[int]) -> float:
    return statistics.quantiles(latencies, n=100)[98] / 1e6


async def _measure(url: str) -> dict[str, tuple[list[int], list[float]]]:
    step = CUSTOMERS // CLIENTS
    clients = [await _signed_in(url, n * step) for n in range(CLIENTS)]
    try:
        dashboard = (await clients[0].get("/dashboard")).text
        assert "Customer 0" in dashboard or customer_email(0) in dashboard
        results: dict[str, tuple[list[int], list[float]]] = {
            "/bench/fixed": ([], []),
            "/dashboard": ([], []),
        }
        for path in results:  # warm-up: imports, template compilation, connection pools
            await _round(clients, path)
        for _ in range(ROUNDS):
            for path, (latencies, rates) in results.items():
                round_latencies, seconds = await _round(clients, path)
                latencies.extend(round_latencies)
                rates.append(len(round_latencies) / seconds)
        return results
    finally:
        for client in clients:
            await client.aclose()


def test_dashboard_against_a_fixed_page(portal_process: str, bench_report: Report) -> None:
    results = asyncio.run(_measure(portal_process))
    fixed_latencies, fixed_rates = results["/bench/fixed"]
    dash_latencies, dash_rates = results["/dashboard"]
    fixed_rps = statistics.median(fixed_rates)
    dash_rps = statistics.median(dash_rates)
    bench_report.add(
        "portal: fixed page (16 clients)",
        Sample(tuple(fixed_latencies)),
        extra={"rps": round(fixed_rps), "p99_ms": round(_p99(fixed_latencies), 1)},
    )
    bench_report.add(
        f"portal: dashboard, {CUSTOMERS} customers (16 clients)",
        Sample(tuple(dash_latencies)),
        baseline="portal: fixed page (16 clients)",
        extra={
            "rps": round(dash_rps),
            "p99_ms": round(_p99(dash_latencies), 1),
            "rps_ratio_fixed_over_dashboard": round(fixed_rps / dash_rps, 2),
            "p99_ratio": round(_p99(dash_latencies) / _p99(fixed_latencies), 2),
        },
    )
    assert len(dash_latencies) == ROUNDS * REQUESTS_PER_ROUND // CLIENTS * CLIENTS
