"""Charges made at the end reach an invoice: Dockyard makes the invoice Stripe will not.

An invoice item waits in Stripe for "the customer's next invoice"; once a customer's
subscriptions have ended (or end before their next cycle), none comes, and the item would
wait for good (https://docs.stripe.com/invoicing/invoice-items?: pending items are pulled
into the next invoice). So when a subscription ends with items of its last cycle unbilled,
or an item is queued for a customer no cycle invoice will reach, an ``invoice.create``
message follows them in the customer's stream: Stripe gathers the pending items into an
invoice, finalises it and charges it (``billing.outbox.requests``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from billing.models import Subscription
from billing.outbox import InvoiceCreate, enqueue
from billing.periods import Period
from billing.repository.outbox import OutboxRepository
from billing.repository.subscriptions import SubscriptionRepository
from plans import Catalog


async def cycle_invoice_coming(
    session: AsyncSession, catalog: Catalog, customer_id: str, now: datetime
) -> bool:
    """Whether one of the customer's subscriptions will still be invoiced for a new cycle:
    it recurs (a package or a per-hour service has no cycles) and runs on past the end of
    this month."""
    running = await SubscriptionRepository(session).running_past(customer_id, Period.of(now).end)
    return any(
        s.plan_id in catalog and catalog.get(s.plan_id, s.plan_version).pricing.interval.months
        for s in running
    )


async def invoice_at_end(
    session: AsyncSession, catalog: Catalog, subscription: Subscription, now: datetime
) -> None:
    """``subscription`` has ended: invoice what waits in Stripe from its last cycle, unless
    another subscription's cycle invoice will carry it."""
    if await cycle_invoice_coming(session, catalog, subscription.customer_id, now):
        return
    # Items queued before its last cycle began went on that cycle's invoice.
    if not await OutboxRepository(session).items_waiting(
        subscription.customer_id, subscription.period_start
    ):
        return
    await enqueue(
        session,
        InvoiceCreate(
            customer_id=subscription.customer_id,
            reference=f"final:{subscription.id}",
            description=f"Final invoice: subscription {subscription.id} has ended",
        ),
        now=now,
    )


async def invoice_if_nothing_will(
    session: AsyncSession, catalog: Catalog, customer_id: str, reference: str, now: datetime
) -> None:
    """An item was just queued for ``customer_id``: if no cycle invoice will take it,
    invoice it now."""
    if await cycle_invoice_coming(session, catalog, customer_id, now):
        return
    await enqueue(
        session,
        InvoiceCreate(
            customer_id=customer_id,
            reference=reference,
            description="Charges after the end of the subscription",
        ),
        now=now,
    )
