"""``dockyard serve``: the real command in a process of its own, with and without the
in-process worker, stopped the way a person stops it (Ctrl-C)."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import docker
import httpx
import pytest
from click.testing import CliRunner

from billing.customers import Customers
from billing.subscriptions.lifecycle import Subscriptions
from portal.cli import dockyard
from portal.runtime import Runtime
from portal.settings import DatabaseSettings, Settings
from provisioner.backends.base import NAMESPACE_LABEL
from tests.fixtures.docker import remove_everything_of

DOCKYARD = Path(sys.executable).with_name("dockyard")
STARTUP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {seconds:g} s")
        time.sleep(0.2)


@pytest.fixture
def namespace(engine_client: docker.DockerClient) -> Iterator[str]:
    namespace = f"s{secrets.token_hex(3)}"
    yield namespace
    remove_everything_of(engine_client, namespace, label=NAMESPACE_LABEL)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'var' / 'dockyard.sqlite3'}"


async def new_subscription(database_url: str) -> str:
    """A customer's new hosting subscription: the worker's next tick gives it an instance."""
    runtime = Runtime(Settings(database=DatabaseSettings(url=database_url)))
    async with runtime.billing() as billing:
        customer = await Customers(billing).create("dee@example.com", "Dee")
        subscription = await Subscriptions(billing).subscribe(
            customer.id, "app-starter", stripe_checkout=False
        )
    return subscription.id


async def instance_of(database_url: str, subscription_id: str) -> str | None:
    runtime = Runtime(Settings(database=DatabaseSettings(url=database_url)))
    async with runtime.billing() as billing:
        return (await Subscriptions(billing).get(subscription_id)).instance_ref


@contextmanager
def serving(
    tmp_path: Path, database_url: str, namespace: str, *options: str, ssh_port: int = 0
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("DOCKYARD_")
    }
    environment |= {
        "DOCKYARD_DATABASE_URL": database_url,
        "DOCKYARD_NAMESPACE": namespace,
        "DOCKYARD_HEALTH_INTERVAL_SECONDS": "1",
        # Its routes would replace those of a `make run` beside it in the shared Caddy
        # (the proxy has tests of its own, on a Caddy of theirs).
        "DOCKYARD_PROXY": "off",
        # The SSH gateway (with --with-worker) on a port of this test's, not 2222.
        "DOCKYARD_SSH_PORT": str(ssh_port or free_port()),
    }
    process = subprocess.Popen(
        [str(DOCKYARD), "serve", "--port", str(port), *options],
        cwd=tmp_path,  # var/ (the session secret, the mail outbox) lands here
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert process.poll() is None, process.communicate()[0]
        try:
            return httpx.get(f"{base}/healthz").status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(answers, STARTUP_SECONDS, "dockyard serve did not answer")
        yield base, process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def ssh_banner(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        return connection.recv(64)


def stop(process: subprocess.Popen[str]) -> str:
    """Ctrl-C, and the process's output once it is gone."""
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    return output


@pytest.mark.docker
def test_serve_with_worker_serves_and_runs_the_worker_until_ctrl_c(
    tmp_path: Path, database_url: str, namespace: str
) -> None:
    subscription_id = asyncio.run(new_subscription(database_url))
    ssh_port = free_port()
    options = ("--with-worker", "--interval", "0.5")

    with serving(tmp_path, database_url, namespace, *options, ssh_port=ssh_port) as (
        base,
        process,
    ):
        assert httpx.get(f"{base}/readyz").json()["status"] == "ready"
        assert ssh_banner(ssh_port).startswith(b"SSH-2.0-")  # the SSH gateway, in-process
        assert (tmp_path / "var" / "ssh" / "ssh_host_ed25519_key").exists()
        wait_for(
            lambda: asyncio.run(instance_of(database_url, subscription_id)) is not None,
            30,
            "the in-process worker did not give the subscription an instance",
        )
        output = stop(process)

    assert "tick: " in output
    assert "Application shutdown complete" in output


@pytest.mark.docker
def test_serve_alone_leaves_the_work_to_a_separate_worker(
    tmp_path: Path, database_url: str, namespace: str
) -> None:
    subscription_id = asyncio.run(new_subscription(database_url))

    with serving(tmp_path, database_url, namespace) as (base, process):
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        time.sleep(1.5)
        assert asyncio.run(instance_of(database_url, subscription_id)) is None
        output = stop(process)

    assert "tick: " not in output


def test_an_interval_must_be_positive() -> None:
    for command in ("serve", "worker"):
        result = CliRunner().invoke(dockyard, [command, "--interval", "0"])

        assert result.exit_code == 2
        assert "Invalid value for '--interval'" in result.output
