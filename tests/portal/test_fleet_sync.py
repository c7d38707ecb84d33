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
from provisioner.backends.engine_terms import network_name
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


def network_ids(world: Fleet, customer_ref: str) -> list[str]:
    name = network_name(customer_ref)
    listed = world.client.api.networks(names=[name])
    return [network["Id"] for network in listed if network["Name"] == name]


async def in_checkout(world: Fleet, billing: BillingContext) -> tuple[str, str]:
    """A customer whose hosting subscription waits for payment: (customer, subscription)."""
    customer = await Customers(billing).create(f"{world.customer()}@example.com", "Cy", "")
    world.customers.append(customer.id)
    subscription = await Subscriptions(billing).subscribe(
        customer.id, "app-starter", stripe_checkout=False
    )
    await set_state(billing, subscription.id, SubscriptionState.PENDING)
    return customer.id, subscription.id


async def test_a_customer_in_checkout_gets_the_network_the_instance_then_joins(
    world: Fleet,
) -> None:
    billing = billing_of(world)
    customer, subscription = await in_checkout(world, billing)

    paying = await sync_instances(billing, world.provisioner)

    assert (paying.provisioned, paying.networks_made) == ([], [customer])
    prepared = network_ids(world, customer)
    assert len(prepared) == 1
    await set_state(billing, subscription, SubscriptionState.ACTIVE)
    paid = await sync_instances(billing, world.provisioner)
    assert len(paid.provisioned) == 1
    assert paid.networks_made == []
    instance = await world.provisioner.get(paid.provisioned[0])
    assert instance.workload_id is not None
    container = world.client.api.inspect_container(instance.workload_id)
    joined = {n["NetworkID"] for n in container["NetworkSettings"]["Networks"].values()}
    assert joined == set(prepared) == set(network_ids(world, customer))


async def test_an_abandoned_checkout_leaves_no_network(world: Fleet) -> None:
    billing = billing_of(world)
    expired, _ = await in_checkout(world, billing)
    cancelled, subscription = await in_checkout(world, billing)
    await sync_instances(billing, world.provisioner)
    assert len(network_ids(world, expired)) == len(network_ids(world, cancelled)) == 1

    # One cancelled before paying (Stripe: incomplete_expired); the other's checkout
    # expires a day after it began.
    await set_state(billing, subscription, SubscriptionState.CANCELLED)
    world.clock.advance(hours=25)
    report = await sync_instances(billing, world.provisioner)

    assert sorted(report.networks_removed) == sorted([expired, cancelled])
    assert network_ids(world, expired) == network_ids(world, cancelled) == []


async def test_an_abandoned_checkout_keeps_the_network_a_live_instance_uses(
    world: Fleet,
) -> None:
    billing = billing_of(world)
    customer, checkout = await in_checkout(world, billing)
    served = await Subscriptions(billing).subscribe(customer, "app-starter", stripe_checkout=False)
    report = await sync_instances(billing, world.provisioner)
    assert len(report.provisioned) == 1
    await set_state(billing, checkout, SubscriptionState.CANCELLED)

    again = await sync_instances(billing, world.provisioner)

    assert again.networks_removed == []
    assert len(network_ids(world, customer)) == 1
    assert (await Subscriptions(billing).get(served.id)).instance_ref == report.provisioned[0]
