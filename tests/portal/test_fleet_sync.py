"""A subscription's state reaches its instance: the portal's one cross-domain rule, applied
on a real engine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import docker
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.context import BillingContext
from billing.customers import Customers
from billing.models import SubscriptionState
from billing.repository.subscriptions import SubscriptionRepository
from billing.subscriptions.lifecycle import Subscriptions
from portal.fleet_sync import sync_instances
from provisioner.models import InstanceState, SuspensionReason
from provisioner.settings import BackendKind
from tests.fixtures.docker import remove_everything_of
from tests.fixtures.provisioning import Fleet, build_fleet

pytestmark = pytest.mark.docker


@pytest.fixture
def world(engine_client: docker.DockerClient, sqlite_engine: AsyncEngine) -> Iterator[Fleet]:
    fleet = build_fleet(engine_client, sqlite_engine, BackendKind.DOCKER)
    try:
        yield fleet
    finally:
        # Billing names customers itself ("c" + hex), so clean up by each customer too.
        for ref in {fleet.run, *fleet.customers}:
            remove_everything_of(engine_client, ref)


def billing_of(fleet: Fleet) -> BillingContext:
    ctx = fleet.provisioner.ctx
    return BillingContext(sessions=ctx.sessions, catalog=ctx.catalog, clock=ctx.clock)


async def set_state(billing: BillingContext, subscription_id: str, state: str) -> None:
    async with billing.sessions() as session, session.begin():
        subscription = await SubscriptionRepository(session).get(subscription_id)
        subscription.state = state
        if state == SubscriptionState.CANCELLED:
            subscription.ended_at = billing.clock()


async def test_a_subscription_drives_its_instance(world: Fleet) -> None:
    billing = billing_of(world)
    customer = await Customers(billing).create(f"{world.customer()}@example.com", "Ann", "Ann Ltd")
    # The customer id is the instance's customer ref: use the fleet's prefix for clean-up.
    subscription = await Subscriptions(billing).subscribe(
        customer.id, "app-starter", stripe_checkout=False
    )
    world.customers.append(customer.id)

    first = await sync_instances(billing, world.provisioner)

    assert len(first.provisioned) == 1
    instance_id = first.provisioned[0]
    linked = await Subscriptions(billing).get(subscription.id)
    assert linked.instance_ref == instance_id
    again = await sync_instances(billing, world.provisioner)
    assert again.provisioned == []

    await set_state(billing, subscription.id, SubscriptionState.SUSPENDED)
    suspended = await sync_instances(billing, world.provisioner)
    assert suspended.suspended == [instance_id]
    instance = await world.provisioner.get(instance_id)
    assert (instance.state, instance.suspension_reason) == (InstanceState.STOPPED, "billing")

    await set_state(billing, subscription.id, SubscriptionState.ACTIVE)
    resumed = await sync_instances(billing, world.provisioner)
    assert resumed.resumed == [instance_id]

    await set_state(billing, subscription.id, SubscriptionState.CANCELLED)
    ended = await sync_instances(billing, world.provisioner)
    assert ended.suspended == [instance_id]  # stopped during the grace period
    world.clock.advance(days=8)
    gone = await sync_instances(billing, world.provisioner, grace=timedelta(days=7))
    assert gone.terminated == [instance_id]
    assert (await world.provisioner.get(instance_id)).state == InstanceState.TERMINATED


async def test_payment_does_not_resume_an_operators_suspension(world: Fleet) -> None:
    billing = billing_of(world)
    customer = await Customers(billing).create(f"{world.customer()}@example.com", "Bo", "")
    world.customers.append(customer.id)
    await Subscriptions(billing).subscribe(customer.id, "app-starter", stripe_checkout=False)
    instance_id = (await sync_instances(billing, world.provisioner)).provisioned[0]

    await world.provisioner.suspend(instance_id, SuspensionReason.MANUAL, "abuse")

    report = await sync_instances(billing, world.provisioner)

    assert report.resumed == []
    assert (await world.provisioner.get(instance_id)).suspension_reason == "manual"
