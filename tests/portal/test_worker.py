"""One worker tick on a real engine, with billing offline (no Stripe key)."""

from __future__ import annotations

import secrets
from pathlib import Path

import docker
import pytest

from billing.customers import Customers
from billing.subscriptions.lifecycle import Subscriptions
from portal.runtime import Runtime
from portal.settings import DatabaseSettings, Settings
from portal.worker import Worker
from provisioner.models import InstanceState
from provisioner.settings import ProvisionerSettings
from tests.fixtures.docker import remove_everything_of

pytestmark = pytest.mark.docker


async def test_a_tick_starts_the_instance_of_a_new_subscription(
    tmp_path: Path, engine_client: docker.DockerClient
) -> None:
    namespace = f"t{secrets.token_hex(3)}"
    settings = Settings(
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'worker.sqlite3'}"),
        provisioner=ProvisionerSettings(
            namespace=namespace, health_timeout_seconds=30, health_interval_seconds=1
        ),
    )
    runtime = Runtime(settings)
    async with runtime.billing() as billing:
        customer = await Customers(billing).create("dee@example.com", "Dee", "")
        subscription = await Subscriptions(billing).subscribe(
            customer.id, "app-starter", stripe_checkout=False
        )
    try:
        report = await Worker(runtime).tick()

        assert report.failed == {}
        assert "outbox" in report.done  # ran, and held: no Stripe key
        async with runtime.billing() as billing:
            linked = await Subscriptions(billing).get(subscription.id)
        assert linked.instance_ref is not None
        async with runtime.provisioner() as provisioner:
            instance = await provisioner.get(linked.instance_ref)
        assert instance.state in (InstanceState.PROVISIONING, InstanceState.RUNNING)
        assert instance.customer_ref == customer.id
    finally:
        remove_everything_of(engine_client, customer.id)
