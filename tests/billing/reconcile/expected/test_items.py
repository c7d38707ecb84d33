"""When an invoice item is expected: once Stripe should have put it on an invoice.

Stripe holds an item made without an invoice for the customer's next cycle invoice, so a
reconciliation of the current month must not find it missing before that invoice is made.
Scenarios go through the real use cases on a movable clock (SQLite and PostgreSQL); the
outbox holds (no Stripe key) unless a test marks a message sent.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.context import BillingContext
from billing.models import EntryCategory, OutboxMessage, OutboxState
from billing.reconcile.expected.invoices import expected_lines
from billing.subscriptions.lifecycle import Subscriptions
from billing.support_time.ledger import Ledger
from tests.fixtures.billing_subscriptions import START, at, new_customer, offline_context, outbox
from tests.fixtures.clock import MovableClock


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(START)


@pytest.fixture
def ctx(engine: AsyncEngine, clock: MovableClock) -> BillingContext:
    return offline_context(engine, clock)


async def subscribe(ctx: BillingContext, customer_id: str, plan_id: str) -> str:
    subscription = await Subscriptions(ctx).subscribe(customer_id, plan_id, stripe_checkout=False)
    return subscription.id


async def items_expected(ctx: BillingContext, clock: MovableClock, now: datetime) -> list[str]:
    """The item lines of November expected at ``now``."""
    clock.now = now
    return [
        line.key for line in await expected_lines(ctx, "2026-11") if line.key.startswith("item:")
    ]


async def test_an_item_is_expected_from_the_next_cycle_invoice_after_it_was_queued(
    ctx: BillingContext, clock: MovableClock
) -> None:
    customer = await new_customer(ctx)
    server = await subscribe(ctx, customer.id, "server-m")  # at START, with a setup fee

    # Its next cycle invoice is on the anchor, 1 December; until then the fee is pending.
    assert await items_expected(ctx, clock, at(2026, 11, 30, 23, 59)) == []
    assert await items_expected(ctx, clock, at(2026, 12, 1)) == [f"item:setup:{server}"]


async def test_a_trial_ending_within_the_month_takes_the_item(
    ctx: BillingContext, clock: MovableClock
) -> None:
    customer = await new_customer(ctx)
    clock.now = at(2026, 10, 20, 10)
    await subscribe(ctx, customer.id, "app-starter")  # a month's trial, to 20 Nov 10:00
    clock.now = at(2026, 11, 5)
    server = await subscribe(ctx, customer.id, "server-m")

    # The trial's end is Stripe's next invoice for the customer, before the month's end.
    assert await items_expected(ctx, clock, at(2026, 11, 20, 9, 59)) == []
    assert await items_expected(ctx, clock, at(2026, 11, 20, 10)) == [f"item:setup:{server}"]


async def test_an_item_sent_after_the_invoice_was_made_waits_for_the_next_one(
    ctx: BillingContext, clock: MovableClock
) -> None:
    customer = await new_customer(ctx)
    clock.now = at(2026, 11, 30, 23, 59)
    server = await subscribe(ctx, customer.id, "server-m")
    (setup,) = await outbox(ctx, "invoice_item")
    async with ctx.sessions() as session, session.begin():
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == setup.id)
            .values(state=OutboxState.SENT.value, sent_at=at(2026, 12, 1, 0, 1))
        )

    # Stripe made the December invoices at midnight: the fee goes on January's.
    assert await items_expected(ctx, clock, at(2026, 12, 31, 23, 59)) == []
    assert await items_expected(ctx, clock, at(2027, 1, 1)) == [f"item:setup:{server}"]


async def test_without_a_cycle_invoice_to_come_an_item_is_owed_from_its_period_end(
    ctx: BillingContext, clock: MovableClock
) -> None:
    customer = await new_customer(ctx)
    clock.now = at(2026, 11, 2, 10)
    await subscribe(ctx, customer.id, "developer-service")  # per hour: no cycles in Stripe
    clock.now = at(2026, 11, 12, 17)
    service = await Ledger(ctx).record(
        customer.id, 45, "API change", "ben", category=EntryCategory.DEVELOPER_SERVICE
    )

    # Stripe would hold it for good; once November is over, it is missing.
    assert await items_expected(ctx, clock, at(2026, 11, 30, 23, 59)) == []
    assert await items_expected(ctx, clock, at(2026, 12, 1)) == [f"item:{service.id}"]
