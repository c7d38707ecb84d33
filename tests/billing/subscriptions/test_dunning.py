"""Dunning through time: past due → suspended after 14 days → ended 21 days later; paying
lifts a billing suspension, never a manual one."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.context import BillingContext
from billing.models import Subscription
from billing.repository.subscriptions import SubscriptionRepository
from billing.settings import DunningSettings
from billing.subscriptions.dunning import Dunning
from billing.subscriptions.lifecycle import Subscriptions
from tests.fixtures.billing_subscriptions import START, at, new_customer, offline_context, outbox
from tests.fixtures.clock import MovableClock

FAILED = at(2027, 1, 3, 8)  # the January invoice fails


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(START)


@pytest.fixture
def ctx(engine: AsyncEngine, clock: MovableClock) -> BillingContext:
    return offline_context(engine, clock)


async def subscribe(ctx: BillingContext, plan_id: str = "server-m") -> Subscription:
    customer = await new_customer(ctx, f"{secrets.token_hex(4)}@example.com")
    return await Subscriptions(ctx).subscribe(customer.id, plan_id, stripe_checkout=False)


async def failed(ctx: BillingContext, subscription_id: str, now: datetime) -> bool:
    async with ctx.sessions() as session, session.begin():
        subscription = await SubscriptionRepository(session).get(subscription_id)
        return Dunning(ctx).payment_failed(subscription, now)


async def paid(ctx: BillingContext, subscription_id: str, now: datetime) -> bool:
    async with ctx.sessions() as session, session.begin():
        subscription = await SubscriptionRepository(session).get(subscription_id)
        return Dunning(ctx).paid(subscription, now)


async def test_past_due_then_suspended_after_14_days_then_ended_after_21_more(
    ctx: BillingContext,
) -> None:
    subscription = await subscribe(ctx)
    subs, dunning = Subscriptions(ctx), Dunning(ctx)

    assert await failed(ctx, subscription.id, FAILED)
    assert not await failed(ctx, subscription.id, FAILED + timedelta(days=3))  # a retry fails
    past_due = await subs.get(subscription.id)
    assert (past_due.state, past_due.past_due_since) == ("past_due", FAILED)

    assert await dunning.tick(FAILED + timedelta(days=14, seconds=-1)) == []
    suspended_at = FAILED + timedelta(days=14)
    changed = await dunning.tick(suspended_at)
    assert [s.id for s in changed] == [subscription.id]
    suspended = await subs.get(subscription.id)
    assert (suspended.state, suspended.suspension_reason, suspended.suspended_since) == (
        "suspended",
        "billing",
        suspended_at,
    )

    assert await dunning.tick(suspended_at + timedelta(days=20, hours=23)) == []
    assert await outbox(ctx, "subscription.cancel") == []
    await dunning.tick(suspended_at + timedelta(days=21))
    ended = await subs.get(subscription.id)
    assert (ended.state, ended.ended_at) == ("cancelled", FAILED + timedelta(days=35))
    (cancel,) = await outbox(ctx, "subscription.cancel")
    assert cancel.idempotency_key == f"subscription.cancel:{subscription.id}"
    assert cancel.payload == {
        "customer_id": subscription.customer_id,
        "subscription_id": subscription.id,
    }
    assert await dunning.tick(FAILED + timedelta(days=90)) == []


async def test_a_late_tick_dates_each_step_when_it_fell_due(ctx: BillingContext) -> None:
    subscription = await subscribe(ctx)
    await failed(ctx, subscription.id, FAILED)

    await Dunning(ctx).tick(FAILED + timedelta(days=60))

    ended = await Subscriptions(ctx).get(subscription.id)
    assert ended.state == "cancelled"
    assert ended.suspended_since == FAILED + timedelta(days=14)
    assert ended.ended_at == FAILED + timedelta(days=35)


async def test_the_periods_come_from_settings(engine: AsyncEngine, clock: MovableClock) -> None:
    ctx = offline_context(
        engine, clock, dunning=DunningSettings(suspend_after_days=3, end_after_days=5)
    )
    subscription = await subscribe(ctx)
    await failed(ctx, subscription.id, FAILED)

    await Dunning(ctx).tick(FAILED + timedelta(days=3))
    assert (await Subscriptions(ctx).get(subscription.id)).state == "suspended"
    await Dunning(ctx).tick(FAILED + timedelta(days=8))
    assert (await Subscriptions(ctx).get(subscription.id)).state == "cancelled"


async def test_paying_ends_dunning_and_lifts_a_billing_suspension(ctx: BillingContext) -> None:
    late = await subscribe(ctx)
    very_late = await subscribe(ctx)
    for subscription in (late, very_late):
        await failed(ctx, subscription.id, FAILED)

    assert await paid(ctx, late.id, FAILED + timedelta(days=5))  # past due → active
    await Dunning(ctx).tick(FAILED + timedelta(days=15))
    assert (await Subscriptions(ctx).get(very_late.id)).state == "suspended"
    assert await paid(ctx, very_late.id, FAILED + timedelta(days=15))  # suspended → active
    assert not await paid(ctx, very_late.id, FAILED + timedelta(days=15))  # at least once

    for subscription_id in (late.id, very_late.id):
        restored = await Subscriptions(ctx).get(subscription_id)
        assert (restored.state, restored.past_due_since, restored.suspended_since) == (
            "active",
            None,
            None,
        )
        assert restored.suspension_reason is None
    assert await Dunning(ctx).tick(FAILED + timedelta(days=60)) == []


async def test_a_payment_during_the_trial_returns_to_trialing(ctx: BillingContext) -> None:
    subscription = await subscribe(ctx, "app-starter")  # trial until 2026-12-22
    await failed(ctx, subscription.id, at(2026, 12, 1))
    assert (await Subscriptions(ctx).get(subscription.id)).state == "past_due"

    assert await paid(ctx, subscription.id, at(2026, 12, 2))
    assert (await Subscriptions(ctx).get(subscription.id)).state == "trialing"


async def test_paying_never_lifts_a_manual_suspension(ctx: BillingContext) -> None:
    subscription = await subscribe(ctx)
    subs = Subscriptions(ctx)
    await failed(ctx, subscription.id, FAILED)
    await subs.suspend(subscription.id)  # an operator steps in during dunning

    assert await paid(ctx, subscription.id, FAILED + timedelta(days=2))  # forgets the debt
    held = await subs.get(subscription.id)
    assert (held.state, held.suspension_reason, held.past_due_since) == (
        "suspended",
        "manual",
        None,
    )
    assert not await paid(ctx, subscription.id, FAILED + timedelta(days=3))
    # Dunning leaves a manual suspension alone, however long it lasts.
    assert await Dunning(ctx).tick(FAILED + timedelta(days=100)) == []
    assert (await subs.resume(subscription.id)).state == "active"


async def test_resuming_a_manual_suspension_with_a_debt_returns_to_dunning(
    ctx: BillingContext,
) -> None:
    subscription = await subscribe(ctx)
    await failed(ctx, subscription.id, FAILED)
    await Subscriptions(ctx).suspend(subscription.id)

    resumed = await Subscriptions(ctx).resume(subscription.id)

    assert (resumed.state, resumed.past_due_since) == ("past_due", FAILED)


async def test_a_payment_failure_during_a_manual_suspension_is_remembered(
    ctx: BillingContext,
) -> None:
    subscription = await subscribe(ctx)
    subs = Subscriptions(ctx)
    await subs.suspend(subscription.id)

    assert await failed(ctx, subscription.id, FAILED)  # the January invoice fails meanwhile
    assert not await failed(ctx, subscription.id, FAILED + timedelta(days=3))  # a retry
    held = await subs.get(subscription.id)
    assert (held.state, held.suspension_reason, held.past_due_since) == (
        "suspended",
        "manual",
        FAILED,
    )
    assert await Dunning(ctx).tick(FAILED + timedelta(days=100)) == []  # still the operator's

    resumed = await subs.resume(subscription.id)
    assert (resumed.state, resumed.past_due_since) == ("past_due", FAILED)


async def test_only_active_or_trialing_subscriptions_fall_past_due(ctx: BillingContext) -> None:
    subscription = await subscribe(ctx)
    await Subscriptions(ctx).cancel(subscription.id, immediately=True)

    assert not await failed(ctx, subscription.id, FAILED)
    assert not await paid(ctx, subscription.id, FAILED)
    assert (await Subscriptions(ctx).get(subscription.id)).state == "cancelled"
