"""What Stripe's webhooks do to our subscriptions.

The webhook handler refetches each object from Stripe and calls one of these, inside its
own transaction (``session``). Events arrive at least once and in any order, so every
function is idempotent and returns whether it changed anything; an object we do not know
is logged and ignored (False).

Authority is split: Stripe knows whether invoices are paid; the ledger decides plan
changes and cancellations (queued in the outbox, possibly not sent yet). So a mirror
never clears a cancellation of ours, never walks our dunning backwards, never lifts a
manual suspension, and never revives a cancelled subscription.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from billing.context import BillingContext
from billing.errors import UnknownSubscription
from billing.models import Subscription, SubscriptionState
from billing.periods import Period
from billing.repository.customers import CustomerRepository
from billing.repository.invoices import InvoiceRepository
from billing.repository.subscriptions import SubscriptionRepository
from billing.subscriptions.cancellation import commitment_end
from billing.subscriptions.changes import end_subscription
from billing.subscriptions.dunning import BILLING, MANUAL, Dunning

log = logging.getLogger(__name__)

_State = SubscriptionState

# Stripe's subscription statuses in our terms. "unpaid" (Stripe stopped retrying) and
# "paused" (a trial ended without a payment method) both mean: not paid, stop the service.
STRIPE_STATUSES: dict[str, SubscriptionState] = {
    "trialing": _State.TRIALING,
    "active": _State.ACTIVE,
    "past_due": _State.PAST_DUE,
    "unpaid": _State.SUSPENDED,
    "paused": _State.SUSPENDED,
    "canceled": _State.CANCELLED,
    "incomplete": _State.PENDING,
    "incomplete_expired": _State.CANCELLED,
}


def state_for(status: str) -> SubscriptionState | None:
    """Our state for a Stripe status; None (and a warning) for one we do not know."""
    state = STRIPE_STATUSES.get(status)
    if state is None:
        log.warning("unknown Stripe subscription status %r: ignored", status)
    return state


async def _by_stripe_id(session: AsyncSession, stripe_subscription_id: str) -> Subscription | None:
    subscription = await SubscriptionRepository(session).by_stripe_id(stripe_subscription_id)
    if subscription is None:
        log.warning("Stripe subscription %s is not in the ledger: ignored", stripe_subscription_id)
    return subscription


async def activate_from_checkout(
    ctx: BillingContext,
    session: AsyncSession,
    subscription_id: str,
    stripe_subscription_id: str,
    stripe_customer_id: str,
    status: str,
    trial_end: datetime | None,
    now: datetime,
    *,
    started_at: datetime | None = None,
) -> bool:
    """A completed Checkout Session: link the Stripe ids and start a pending subscription
    (trialing or active, as Stripe says). ``subscription_id`` is ours, from metadata.

    ``started_at`` is when Stripe's subscription began (its ``start_date``): the customer
    paid then, not when the order opened Checkout, and Stripe bills from then."""
    try:
        subscription = await SubscriptionRepository(session).get(subscription_id)
    except UnknownSubscription:
        log.warning("checkout for unknown subscription %s: ignored", subscription_id)
        return False
    linked = subscription.stripe_subscription_id
    if linked is not None and linked != stripe_subscription_id:
        log.warning(
            "subscription %s is linked to %s, not %s: checkout ignored",
            subscription.id,
            linked,
            stripe_subscription_id,
        )
        return False
    changed = linked is None
    subscription.stripe_subscription_id = stripe_subscription_id
    customer = await CustomerRepository(session).get(subscription.customer_id)
    if customer.stripe_customer_id is None:
        customer.stripe_customer_id = stripe_customer_id
        changed = True
    target = state_for(status)
    if subscription.state != _State.PENDING or target is None or target is _State.PENDING:
        return changed
    if target is _State.CANCELLED:
        end_subscription(subscription, now)
    elif target is _State.SUSPENDED:
        subscription.state = target.value
        subscription.suspension_reason = BILLING
        subscription.suspended_since = now
    else:
        subscription.state = target.value
        if target is _State.PAST_DUE:
            subscription.past_due_since = now
    if started_at is not None:
        subscription.started_at = started_at
        subscription.period_start = Period.of(started_at).start
        subscription.period_end = Period.of(started_at).end
        subscription.stripe_linked_at = started_at
    # Stripe's checkout decides the trial (None: it started without one), and so when
    # the commitment starts.
    subscription.trial_ends_at = trial_end
    plan = ctx.catalog().get(subscription.plan_id, subscription.plan_version)
    subscription.commitment_ends_at = commitment_end(plan, subscription.started_at, trial_end)
    return True


async def _still_owed(session: AsyncSession, subscription: Subscription) -> bool:
    """Whether an invoice of the subscription is still open and unpaid (our copies,
    billing.invoices): paying one invoice, say an upgrade's proration, settles no other."""
    unpaid = await InvoiceRepository(session).unpaid_of_subscription(subscription.id)
    if unpaid:
        log.info(
            "subscription %s still owes invoice(s) %s: dunning goes on",
            subscription.id,
            ", ".join(unpaid),
        )
    return bool(unpaid)


async def mark_invoice_paid(
    ctx: BillingContext, session: AsyncSession, stripe_subscription_id: str, now: datetime
) -> bool:
    """``invoice.paid``: once no invoice of the subscription is left unpaid, ends dunning
    and lifts a billing suspension (never a manual one)."""
    subscription = await _by_stripe_id(session, stripe_subscription_id)
    if subscription is None or await _still_owed(session, subscription):
        return False
    return Dunning(ctx).paid(subscription, now)


async def mark_invoice_failed(
    ctx: BillingContext, session: AsyncSession, stripe_subscription_id: str, now: datetime
) -> bool:
    """``invoice.payment_failed``: starts dunning (active or trialing → past_due)."""
    subscription = await _by_stripe_id(session, stripe_subscription_id)
    return subscription is not None and Dunning(ctx).payment_failed(subscription, now)


async def mirror_subscription(
    ctx: BillingContext,
    session: AsyncSession,
    stripe_subscription_id: str,
    status: str,
    cancel_at: datetime | None,
    ended_at: datetime | None,
    current_period_start: datetime | None,
    current_period_end: datetime | None,
    now: datetime,
) -> bool:
    """``customer.subscription.updated``: take over what Stripe knows better.

    Payment standing follows Stripe (paid → active, past due, unpaid → suspended), a
    cancellation set in Stripe is recorded, and periods move forward to Stripe's.
    """
    subscription = await _by_stripe_id(session, stripe_subscription_id)
    target = state_for(status)
    if subscription is None or target is None or subscription.state == _State.CANCELLED:
        return False
    if target is _State.CANCELLED:
        end_subscription(subscription, ended_at or now)
        return True
    changed = False
    if cancel_at is not None and subscription.cancel_at is None:
        subscription.cancel_at = cancel_at  # cancelled in Stripe's dashboard or portal
        changed = True
    if (
        current_period_start is not None
        and current_period_end is not None
        and current_period_end > subscription.period_end
    ):
        subscription.period_start = current_period_start
        subscription.period_end = current_period_end
        changed = True
    return await _mirror_standing(ctx, session, subscription, target, now) or changed


async def _mirror_standing(
    ctx: BillingContext,
    session: AsyncSession,
    subscription: Subscription,
    target: SubscriptionState,
    now: datetime,
) -> bool:
    state = subscription.state
    dunning = Dunning(ctx)
    if target in (_State.ACTIVE, _State.TRIALING):
        if state in (_State.PAST_DUE, _State.SUSPENDED):
            # Stripe's status follows the latest invoice: a paid proration says "active"
            # while an older renewal is still unpaid.
            if await _still_owed(session, subscription):
                return False
            return dunning.paid(subscription, now)
        if state != target:  # pending → started, or a trial ended early in Stripe
            subscription.state = target.value
            return True
        return False
    if target is _State.PAST_DUE:
        return dunning.payment_failed(subscription, now)
    if target is _State.SUSPENDED:
        if state == _State.SUSPENDED or subscription.suspension_reason == MANUAL:
            return False
        subscription.state = _State.SUSPENDED.value
        subscription.suspension_reason = BILLING
        subscription.past_due_since = subscription.past_due_since or now
        subscription.suspended_since = now
        return True
    return False  # incomplete: nothing to mirror on a subscription we already started


async def mark_deleted(
    ctx: BillingContext,
    session: AsyncSession,
    stripe_subscription_id: str,
    ended_at: datetime | None,
    now: datetime,
) -> bool:
    """``customer.subscription.deleted``: the subscription is over (ended_at, else now)."""
    subscription = await _by_stripe_id(session, stripe_subscription_id)
    if subscription is None or subscription.state == _State.CANCELLED:
        return False
    end_subscription(subscription, ended_at or now)
    return True
