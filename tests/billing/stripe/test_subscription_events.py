"""What Stripe's (refetched) webhook objects do to the ledger: idempotent, order-proof."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from billing.context import BillingContext
from billing.customers import Customers
from billing.models import Invoice, Subscription
from billing.stripe import subscription_events as events
from billing.subscriptions.lifecycle import Subscriptions
from tests.fixtures.billing_subscriptions import START, at, new_customer, stripe_context
from tests.fixtures.clock import MovableClock

NOW = START + timedelta(minutes=5)
TRIAL_END = at(2026, 12, 22, 9, 35)
STRIPE_SUB = "sub_1QxyzABC"
STRIPE_CUS = "cus_RabcDEF"


@pytest.fixture
def ctx(engine: AsyncEngine) -> BillingContext:
    return stripe_context(engine, MovableClock(START))


async def pending(ctx: BillingContext, plan_id: str = "app-starter") -> Subscription:
    customer = await new_customer(ctx)
    return await Subscriptions(ctx).subscribe(customer.id, plan_id, stripe_checkout=True)


async def in_tx(ctx: BillingContext, handle: Callable[[AsyncSession], Awaitable[bool]]) -> bool:
    async with ctx.sessions() as session, session.begin():
        return await handle(session)


async def activate(ctx: BillingContext, subscription_id: str, status: str = "trialing") -> bool:
    trial_end = TRIAL_END if status == "trialing" else None  # as Stripe reports it
    return await in_tx(
        ctx,
        lambda s: events.activate_from_checkout(
            ctx, s, subscription_id, STRIPE_SUB, STRIPE_CUS, status, trial_end, NOW
        ),
    )


async def mirror(
    ctx: BillingContext,
    status: str,
    *,
    cancel_at: datetime | None = None,
    ended_at: datetime | None = None,
    period: tuple[datetime | None, datetime | None] = (None, None),
    stripe_id: str = STRIPE_SUB,
) -> bool:
    return await in_tx(
        ctx,
        lambda s: events.mirror_subscription(
            ctx,
            s,
            stripe_id,
            status,
            cancel_at,
            ended_at,
            period[0],
            period[1],
            NOW,
        ),
    )


async def state_of(ctx: BillingContext, subscription_id: str) -> Subscription:
    return await Subscriptions(ctx).get(subscription_id)


async def test_checkout_activates_once_and_links_the_stripe_ids(ctx: BillingContext) -> None:
    subscription = await pending(ctx)

    assert await activate(ctx, subscription.id)
    assert not await activate(ctx, subscription.id)  # the same event again

    active = await state_of(ctx, subscription.id)
    assert (active.state, active.stripe_subscription_id, active.trial_ends_at) == (
        "trialing",
        STRIPE_SUB,
        TRIAL_END,
    )
    customer = await Customers(ctx).get(active.customer_id)
    assert customer.stripe_customer_id == STRIPE_CUS


async def test_checkout_decides_the_trial(ctx: BillingContext) -> None:
    subscription = await pending(ctx)  # app-starter offers a month free
    assert subscription.trial_ends_at is not None

    await activate(ctx, subscription.id, "active")  # e.g. a returning customer: no trial

    active = await state_of(ctx, subscription.id)
    assert (active.state, active.trial_ends_at) == ("active", None)


async def test_a_commitment_starts_when_the_trial_stripe_reports_ends(
    ctx: BillingContext,
) -> None:
    # support-20h: a month free, then 6 months committed.
    customer = await new_customer(ctx)
    subs = Subscriptions(ctx)
    with_trial = await subs.subscribe(customer.id, "support-20h", stripe_checkout=True)
    without = await subs.subscribe(customer.id, "support-20h", stripe_checkout=True)

    await activate(ctx, with_trial.id, "trialing")  # Stripe's trial ends at TRIAL_END
    await in_tx(  # checkout started this one without a trial
        ctx,
        lambda s: events.activate_from_checkout(
            ctx, s, without.id, "sub_other", STRIPE_CUS, "active", None, NOW
        ),
    )

    assert (await state_of(ctx, with_trial.id)).commitment_ends_at == at(2027, 6, 22, 9, 35)
    assert (await state_of(ctx, without.id)).commitment_ends_at == at(2027, 5, 22, 9, 30)


async def test_a_checkout_subscription_starts_when_stripe_started_it(ctx: BillingContext) -> None:
    """Found by the year-long test: the ledger counted a Checkout subscription from the
    order, Stripe bills it from the payment (the first month's fee, prorated, differed by
    a cent after six minutes on Stripe's page)."""
    subscription = await pending(ctx, "app-business")  # ordered at START; 6 months committed
    paid = at(2026, 12, 1, 8, 0)  # the customer came back to pay a week later

    await in_tx(
        ctx,
        lambda s: events.activate_from_checkout(
            ctx, s, subscription.id, STRIPE_SUB, STRIPE_CUS, "active", None, NOW, started_at=paid
        ),
    )

    active = await state_of(ctx, subscription.id)
    assert (active.started_at, active.stripe_linked_at) == (paid, paid)
    assert (active.period_start, active.period_end) == (at(2026, 12, 1), at(2027, 1, 1))
    assert active.commitment_ends_at == at(2027, 6, 1, 8, 0)


async def test_checkout_with_an_incomplete_payment_stays_pending(ctx: BillingContext) -> None:
    subscription = await pending(ctx, "server-m")

    assert await activate(ctx, subscription.id, "incomplete")  # the ids are linked
    assert (await state_of(ctx, subscription.id)).state == "pending"
    assert await mirror(ctx, "active")  # Stripe collected the payment later
    assert (await state_of(ctx, subscription.id)).state == "active"


async def test_checkout_for_another_stripe_subscription_is_ignored(ctx: BillingContext) -> None:
    subscription = await pending(ctx)
    await activate(ctx, subscription.id)

    assert not await in_tx(
        ctx,
        lambda s: events.activate_from_checkout(
            ctx, s, subscription.id, "sub_other", STRIPE_CUS, "active", None, NOW
        ),
    )
    assert (await state_of(ctx, subscription.id)).stripe_subscription_id == STRIPE_SUB


async def test_unknown_ids_are_logged_and_ignored(
    ctx: BillingContext, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="billing.stripe.subscription_events")

    assert not await activate(ctx, "s000000000000")
    assert not await in_tx(ctx, lambda s: events.mark_invoice_paid(ctx, s, "sub_nope", NOW))
    assert not await in_tx(ctx, lambda s: events.mark_invoice_failed(ctx, s, "sub_nope", NOW))
    assert not await mirror(ctx, "active", stripe_id="sub_nope")
    assert not await in_tx(ctx, lambda s: events.mark_deleted(ctx, s, "sub_nope", None, NOW))
    assert "checkout for unknown subscription s000000000000" in caplog.text
    assert "Stripe subscription sub_nope is not in the ledger" in caplog.text


async def test_invoice_failed_then_paid(ctx: BillingContext) -> None:
    subscription = await pending(ctx, "server-m")
    await activate(ctx, subscription.id, "active")

    assert await in_tx(ctx, lambda s: events.mark_invoice_failed(ctx, s, STRIPE_SUB, NOW))
    assert not await in_tx(ctx, lambda s: events.mark_invoice_failed(ctx, s, STRIPE_SUB, NOW))
    assert (await state_of(ctx, subscription.id)).past_due_since == NOW
    assert await in_tx(ctx, lambda s: events.mark_invoice_paid(ctx, s, STRIPE_SUB, NOW))
    assert not await in_tx(ctx, lambda s: events.mark_invoice_paid(ctx, s, STRIPE_SUB, NOW))
    assert (await state_of(ctx, subscription.id)).state == "active"


async def our_copy(
    ctx: BillingContext, subscription: Subscription, invoice_id: str, status: str
) -> None:
    """Our copy of a 9.00 invoice of ``subscription`` (as billing.invoices records it)."""
    paid = status == "paid"
    async with ctx.sessions() as session, session.begin():
        await session.merge(
            Invoice(
                id=invoice_id,
                customer_id=subscription.customer_id,
                subscription_id=subscription.id,
                status=status,
                currency="EUR",
                total=900,
                amount_due=900,
                amount_paid=900 if paid else 0,
                amount_remaining=0 if paid else 900,
                period_start=at(2026, 12, 1),
                period_end=at(2027, 1, 1),
                created_at=at(2027, 1, 1),
                updated_at=NOW,
            )
        )


async def test_stripe_saying_active_does_not_end_dunning_while_an_invoice_is_unpaid(
    ctx: BillingContext,
) -> None:
    subscription = await pending(ctx, "server-m")
    await activate(ctx, subscription.id, "active")
    await our_copy(ctx, subscription, "in_renewal", "open")
    await in_tx(ctx, lambda s: events.mark_invoice_failed(ctx, s, STRIPE_SUB, NOW))

    # An upgrade's proration invoice was paid: Stripe's status follows that latest invoice.
    await our_copy(ctx, subscription, "in_proration", "paid")
    assert not await in_tx(ctx, lambda s: events.mark_invoice_paid(ctx, s, STRIPE_SUB, NOW))
    assert not await mirror(ctx, "active")
    assert (await state_of(ctx, subscription.id)).state == "past_due"

    await our_copy(ctx, subscription, "in_renewal", "paid")
    assert await mirror(ctx, "active")
    assert (await state_of(ctx, subscription.id)).state == "active"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("trialing", "trialing"),
        ("active", "active"),
        ("past_due", "past_due"),
        ("unpaid", "suspended"),
        ("paused", "suspended"),
        ("canceled", "cancelled"),
        ("incomplete_expired", "cancelled"),
        ("incomplete", "active"),  # nothing to mirror on a started subscription
    ],
)
async def test_mirror_maps_stripe_statuses(ctx: BillingContext, status: str, expected: str) -> None:
    subscription = await pending(ctx, "server-m")
    await activate(ctx, subscription.id, "active")

    await mirror(ctx, status)
    assert not await mirror(ctx, status)  # at least once: the second changes nothing

    mirrored = await state_of(ctx, subscription.id)
    assert mirrored.state == expected
    if expected == "suspended":
        assert mirrored.suspension_reason == "billing"
    if expected == "cancelled":
        assert mirrored.ended_at == NOW


async def test_an_unknown_status_is_ignored(ctx: BillingContext) -> None:
    subscription = await pending(ctx, "server-m")
    await activate(ctx, subscription.id, "active")

    assert not await mirror(ctx, "frozen")
    assert (await state_of(ctx, subscription.id)).state == "active"


async def test_mirror_records_a_stripe_cancellation_but_never_clears_ours(
    ctx: BillingContext,
) -> None:
    subscription = await pending(ctx, "server-m")
    await activate(ctx, subscription.id, "active")

    assert await mirror(ctx, "active", cancel_at=at(2027, 1, 1))
    assert (await state_of(ctx, subscription.id)).cancel_at == at(2027, 1, 1)
    assert not await mirror(ctx, "active", cancel_at=None)  # our update may not be sent yet
    assert (await state_of(ctx, subscription.id)).cancel_at == at(2027, 1, 1)


async def test_mirror_moves_periods_forward_only(ctx: BillingContext) -> None:
    subscription = await pending(ctx, "server-m")
    await activate(ctx, subscription.id, "active")

    assert await mirror(ctx, "active", period=(at(2026, 12, 1), at(2027, 1, 1)))
    assert not await mirror(ctx, "active", period=(at(2026, 11, 1), at(2026, 12, 1)))
    mirrored = await state_of(ctx, subscription.id)
    assert (mirrored.period_start, mirrored.period_end) == (at(2026, 12, 1), at(2027, 1, 1))


async def test_mirror_never_walks_dunning_back_nor_lifts_a_manual_suspension(
    ctx: BillingContext,
) -> None:
    subscription = await pending(ctx, "server-m")
    await activate(ctx, subscription.id, "active")
    await mirror(ctx, "unpaid")

    assert not await mirror(ctx, "past_due")  # a stale "past due" after our suspension
    assert (await state_of(ctx, subscription.id)).state == "suspended"

    await Subscriptions(ctx).suspend(subscription.id)
    await mirror(ctx, "active")  # paid, but an operator suspended it
    held = await state_of(ctx, subscription.id)
    assert (held.state, held.suspension_reason) == ("suspended", "manual")
    assert not await mirror(ctx, "unpaid")


async def test_deletion_is_final_whatever_arrives_after_it(ctx: BillingContext) -> None:
    subscription = await pending(ctx, "server-m")
    await activate(ctx, subscription.id, "active")
    ended = at(2026, 12, 1)

    assert await in_tx(ctx, lambda s: events.mark_deleted(ctx, s, STRIPE_SUB, ended, NOW))
    assert not await in_tx(ctx, lambda s: events.mark_deleted(ctx, s, STRIPE_SUB, ended, NOW))
    # Late deliveries of older events do not revive it.
    assert not await mirror(ctx, "active")
    assert not await in_tx(ctx, lambda s: events.mark_invoice_paid(ctx, s, STRIPE_SUB, NOW))
    assert not await activate(ctx, subscription.id, "active")
    final = await state_of(ctx, subscription.id)
    assert (final.state, final.ended_at) == ("cancelled", ended)


async def test_events_in_any_order_reach_the_same_state(ctx: BillingContext) -> None:
    # invoice.payment_failed, then invoice.paid, then the checkout completion arrives last.
    subscription = await pending(ctx, "server-m")
    assert not await in_tx(ctx, lambda s: events.mark_invoice_failed(ctx, s, STRIPE_SUB, NOW))
    assert not await in_tx(ctx, lambda s: events.mark_invoice_paid(ctx, s, STRIPE_SUB, NOW))
    assert await activate(ctx, subscription.id, "active")
    assert (await state_of(ctx, subscription.id)).state == "active"
