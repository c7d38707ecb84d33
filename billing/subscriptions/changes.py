"""Changing what a subscription holds, and telling Stripe: the steps a plan change, a
cancellation and the turn of a period share."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from billing.models import Subscription, SubscriptionState
from billing.outbox import SubscriptionUpdate, enqueue
from billing.periods import epoch
from billing.repository.subscriptions import SubscriptionRepository
from billing.subscriptions.cancellation import commitment_end
from plans import Plan

_State = SubscriptionState


def end_subscription(subscription: Subscription, at: datetime) -> None:
    """The subscription is over from ``at``: cancelled, nothing scheduled any more."""
    subscription.state = _State.CANCELLED.value
    subscription.ended_at = at
    subscription.cancel_at = at
    subscription.next_plan_id = None
    subscription.next_plan_version = None


def switch_plan(subscription: Subscription, plan: Plan, at: datetime) -> None:
    """The subscription holds ``plan`` from ``at`` (no scheduled change any more)."""
    subscription.plan_id = plan.id
    subscription.plan_version = plan.version
    subscription.next_plan_id = None
    subscription.next_plan_version = None
    # The new plan's commitment runs from the switch (from the trial's end, when made
    # during a trial: a trial is free to leave), never shortening one running.
    ends = commitment_end(plan, at, subscription.trial_ends_at)
    if ends is not None:
        held = subscription.commitment_ends_at
        subscription.commitment_ends_at = ends if held is None else max(held, ends)


async def enqueue_update(
    session: AsyncSession,
    subscription: Subscription,
    *,
    proration: str,
    now: datetime,
    changed_at: datetime | None = None,
    previous: tuple[str, int] | None = None,
) -> None:
    """Queue the subscription as it is now; ``previous``: the plan it changed from
    (None: its plan did not change)."""
    number = await SubscriptionRepository(session).update_count(subscription.id) + 1
    from_plan, from_version = previous or (subscription.plan_id, subscription.plan_version)
    await enqueue(
        session,
        SubscriptionUpdate(
            customer_id=subscription.customer_id,
            subscription_id=subscription.id,
            number=number,
            plan_id=subscription.plan_id,
            plan_version=subscription.plan_version,
            from_plan_id=from_plan,
            from_plan_version=from_version,
            proration_behavior=proration,
            cancel_at=epoch(subscription.cancel_at),
            # Stripe prorates from this moment, not from when the outbox gets through.
            changed_at=epoch(changed_at or now),
        ),
        now=now,
    )


async def enqueue_update_from(
    session: AsyncSession,
    subscription: Subscription,
    boundary: datetime,
    now: datetime,
    previous: tuple[str, int],
) -> None:
    """A price change that counts from the period boundary. Stripe invoiced the new
    period at the old price at the boundary, before the worker got here: the change is
    prorated from the boundary and invoiced at once, so the old price is credited in
    full and the new one charged (https://docs.stripe.com/billing/subscriptions/prorations)."""
    await enqueue_update(
        session,
        subscription,
        proration="always_invoice",
        now=now,
        changed_at=boundary,
        previous=previous,
    )
