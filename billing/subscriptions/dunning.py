"""Dunning: what happens to a subscription whose invoices are not paid.

    active | trialing --payment failed--> past_due
    past_due  --suspend_after_days-->  suspended (billing)  --end_after_days-->  cancelled
    past_due | suspended (billing) --paid--> active | trialing

A manual suspension (an operator's decision) is never lifted by a payment: only the
operator resumes it (Subscriptions.resume).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from billing.context import BillingContext
from billing.models import Subscription, SubscriptionState
from billing.outbox import SubscriptionCancel, enqueue
from billing.repository.subscriptions import SubscriptionRepository
from billing.subscriptions.final_invoice import invoice_at_end

BILLING = "billing"  # Subscription.suspension_reason for non-payment
MANUAL = "manual"  # ... for an operator's suspension

_State = SubscriptionState


def standing_state(subscription: Subscription, now: datetime) -> _State:
    """The state a subscription returns to once nothing holds it: trialing while its trial
    runs, else active."""
    trial_ends = subscription.trial_ends_at
    return _State.TRIALING if trial_ends is not None and now < trial_ends else _State.ACTIVE


class Dunning:
    def __init__(self, ctx: BillingContext) -> None:
        self.ctx = ctx

    def payment_failed(self, subscription: Subscription, now: datetime) -> bool:
        """An invoice failed: active or trialing → past_due. Returns whether it changed.

        During a manual suspension the debt is remembered (past_due_since), so that
        resuming puts the subscription into dunning. Already past due or suspended: the
        dunning clock keeps running from the first failure, so a retry that fails again
        does not extend it.
        """
        state = subscription.state
        if state == _State.SUSPENDED and subscription.suspension_reason == MANUAL:
            if subscription.past_due_since is not None:
                return False
            subscription.past_due_since = now
            return True
        if state not in (_State.ACTIVE, _State.TRIALING):
            return False
        subscription.state = _State.PAST_DUE.value
        subscription.past_due_since = now
        return True

    def paid(self, subscription: Subscription, now: datetime) -> bool:
        """An invoice was paid: past_due or billing-suspended → active (or trialing).

        A manual suspension stays; only its debt is forgotten, so resuming it later
        does not start dunning again.
        """
        state = subscription.state
        if state == _State.PAST_DUE or (
            state == _State.SUSPENDED and subscription.suspension_reason == BILLING
        ):
            subscription.state = standing_state(subscription, now).value
            subscription.past_due_since = None
            subscription.suspended_since = None
            subscription.suspension_reason = None
            return True
        if state == _State.SUSPENDED and subscription.past_due_since is not None:
            subscription.past_due_since = None
            return True
        return False

    async def tick(self, now: datetime) -> list[Subscription]:
        """Move dunning on to ``now``: past due for ``suspend_after_days`` → suspended;
        suspended for non-payment ``end_after_days`` more → cancelled.

        Each step is dated when it fell due, not when the tick ran, so a late tick ends a
        subscription on the same day a punctual one would have. Returns the changed ones.
        """
        suspend_after = timedelta(days=self.ctx.dunning.suspend_after_days)
        end_after = timedelta(days=self.ctx.dunning.end_after_days)
        changed: list[Subscription] = []
        async with self.ctx.sessions() as session, session.begin():
            for subscription in await SubscriptionRepository(session).in_dunning():
                moved = False
                since = subscription.past_due_since
                due = since is not None and now >= since + suspend_after
                if subscription.state == _State.PAST_DUE and since is not None and due:
                    subscription.state = _State.SUSPENDED.value
                    subscription.suspension_reason = BILLING
                    subscription.suspended_since = since + suspend_after
                    moved = True
                suspended = subscription.suspended_since
                ends = suspended is not None and now >= suspended + end_after
                if subscription.state == _State.SUSPENDED and suspended is not None and ends:
                    subscription.state = _State.CANCELLED.value
                    subscription.ended_at = suspended + end_after
                    await enqueue(
                        session,
                        SubscriptionCancel(
                            customer_id=subscription.customer_id, subscription_id=subscription.id
                        ),
                        now=now,
                    )
                    await invoice_at_end(session, self.ctx.catalog(), subscription, now)
                    moved = True
                if moved:
                    changed.append(subscription)
        return changed
