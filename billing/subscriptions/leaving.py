"""Leaving: a cancellation (when it ends and what it costs follow
billing.subscriptions.cancellation, as the portal showed before the customer confirmed),
and withdrawing one before it takes effect."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billing.context import BillingContext
from billing.errors import InvalidTransition
from billing.models import OutboxMessage, Subscription, SubscriptionState
from billing.outbox import InvoiceItem, SubscriptionCancel, enqueue
from billing.repository.subscriptions import SubscriptionRepository
from billing.subscriptions.cancellation import CancellationTerms, cancellation_terms
from billing.subscriptions.changes import end_subscription, enqueue_update
from billing.subscriptions.final_invoice import invoice_at_end, invoice_if_nothing_will

_State = SubscriptionState


async def cancel(
    ctx: BillingContext, subscription_id: str, *, immediately: bool = False
) -> Subscription:
    """Cancel a subscription.

    When and at what charge follow :func:`cancellation_terms` (what the portal shows
    before the customer confirms). ``immediately`` (an operator's decision) ends it
    now; pay_remaining and fee are still invoiced, end_of_term is waived. Cancelling
    again while a cancellation is scheduled changes nothing.
    """
    now = ctx.clock()
    async with ctx.sessions() as session, session.begin():
        subscription = await SubscriptionRepository(session).get(subscription_id)
        if subscription.state == _State.CANCELLED:
            raise InvalidTransition(f"subscription {subscription.id} is already cancelled")
        if subscription.state == _State.PENDING:
            # Checkout never completed: nothing exists in Stripe to cancel.
            end_subscription(subscription, now)
            return subscription
        if subscription.cancel_at is not None and not immediately:
            return subscription
        plan = ctx.catalog().get(subscription.plan_id, subscription.plan_version)
        terms = cancellation_terms(subscription, plan, now)
        if terms.charge_minor > 0:
            await _charge_early_cancellation(session, subscription, terms, now)
        if immediately:
            end_subscription(subscription, now)
            await enqueue(
                session,
                SubscriptionCancel(
                    customer_id=subscription.customer_id, subscription_id=subscription.id
                ),
                now=now,
            )
            await invoice_at_end(session, ctx.catalog(), subscription, now)
            return subscription
        subscription.cancel_at = terms.ends_at
        subscription.next_plan_id = None
        subscription.next_plan_version = None
        await enqueue_update(session, subscription, proration="none", now=now)
        if terms.charge_minor > 0:  # owed now; no cycle invoice may come to carry it
            await invoice_if_nothing_will(
                session,
                ctx.catalog(),
                subscription.customer_id,
                f"cancel-{subscription.id}",
                now,
            )
    return subscription


async def keep(ctx: BillingContext, subscription_id: str) -> Subscription:
    """Withdraw a scheduled cancellation before it takes effect: the subscription runs
    on as if never cancelled (Stripe's ``cancel_at`` is cleared).

    Refused once it has ended, and when leaving early was charged: that charge is on
    its way to an invoice, and undoing it is a correction for support to make, visibly.
    """
    now = ctx.clock()
    async with ctx.sessions() as session, session.begin():
        subscription = await SubscriptionRepository(session).get(subscription_id)
        ends = subscription.cancel_at
        if ends is None or subscription.state == _State.CANCELLED or ends <= now:
            raise InvalidTransition(
                f"subscription {subscription.id} has no cancellation waiting to take effect"
            )
        charged = await session.scalar(
            select(OutboxMessage.id).where(
                OutboxMessage.idempotency_key == f"invoice_item:cancel-{subscription.id}"
            )
        )
        if charged is not None:
            raise InvalidTransition(
                f"leaving {subscription.id} early was already charged: contact support to "
                "withdraw the cancellation (the charge is credited as its own line)"
            )
        subscription.cancel_at = None
        await enqueue_update(session, subscription, proration="none", now=now)
    return subscription


async def _charge_early_cancellation(
    session: AsyncSession,
    subscription: Subscription,
    terms: CancellationTerms,
    now: datetime,
) -> None:
    entry_id = f"cancel-{subscription.id}"
    await enqueue(
        session,
        InvoiceItem(
            customer_id=subscription.customer_id,
            entry_id=entry_id,
            amount_minor=terms.charge_minor,
            currency=terms.currency,
            description=terms.charge_description,
            period=f"{now:%Y-%m}",
        ),
        now=now,
    )
