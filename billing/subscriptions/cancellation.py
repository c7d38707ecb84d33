"""What leaving costs, and when it ends: the paid-through date, commitments and the
early-cancellation policies, as pure functions of a subscription and its plan.

``Subscriptions.cancel`` and the portal's preview both ask :func:`cancellation_terms`, so
what a customer is shown before confirming is what happens. Leaving early never costs
more than staying (tests/billing/subscriptions/test_leaving_early.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from billing.models import Subscription
from billing.periods import Period, add_months
from billing.reconcile.expected.cycles import Cycle, cycles
from plans import Plan
from plans.model import EarlyCancellation


def current_period_end(subscription: Subscription, now: datetime) -> datetime:
    """The end of the period running at ``now``, even if roll_periods has not caught up."""
    return max(subscription.period_end, Period.of(now).end)


def commitment_end(
    plan: Plan, started_at: datetime, trial_ends_at: datetime | None
) -> datetime | None:
    """When the plan's commitment ends, if it has one: it runs from the end of the trial
    (a trial is free to leave), from the start without one."""
    commitment = plan.pricing.commitment
    if commitment is None:
        return None
    begins = started_at if trial_ends_at is None else max(started_at, trial_ends_at)
    return add_months(begins, commitment.months)


def _billing_cycles(subscription: Subscription, plan: Plan, until: datetime) -> list[Cycle]:
    """Stripe's cycles of the subscription that start before ``until``, at ``plan``'s
    interval (none for a plan without a recurring fee)."""
    months = plan.pricing.interval.months
    if months == 0:
        return []
    return cycles(subscription.started_at, subscription.trial_ends_at, months, until)


def paid_through(subscription: Subscription, plan: Plan, now: datetime) -> datetime:
    """The end of the Stripe billing cycle running at ``now``.

    Stripe invoices each cycle's fee at its start, so this is how far the customer has paid:
    the next 1st for a monthly price, the anniversary of the cycle for a yearly one, the
    trial's end during a trial.
    """
    running = _billing_cycles(subscription, plan, now + timedelta(microseconds=1))
    return running[-1].end if running else current_period_end(subscription, now)


def _fees_between(subscription: Subscription, plan: Plan, start: datetime, end: datetime) -> int:
    """What Stripe invoices for the cycles in [start, end) (``start`` a cycle boundary), had
    the subscription been set to end at ``end``: the cycle it ends in prorated there."""
    price = plan.pricing.amount.minor
    return sum(
        replace(cycle, end=min(cycle.end, end)).charge(price)
        for cycle in _billing_cycles(subscription, plan, end)
        if cycle.start >= start
    )


@dataclass(frozen=True, slots=True)
class CancellationTerms:
    """What cancelling a subscription at a moment means, before anyone confirms it."""

    ends_at: datetime  # when the service stops (cancelled by the customer, not immediately)
    policy: EarlyCancellation | None  # None: no commitment runs, nothing early about it
    charge_minor: int  # invoiced at once for leaving a commitment early; 0: nothing
    currency: str
    charge_description: str


def cancellation_terms(subscription: Subscription, plan: Plan, now: datetime) -> CancellationTerms:
    """The rules of :meth:`Subscriptions.cancel` as a preview: one place decides both.

    It ends at the paid-through date, nothing charged: during a trial (its end; the
    commitment has not begun) and outside a commitment. During one, the plan's
    early_cancellation decides: end_of_term → at the commitment's end (at the paid-through
    date if that is later), nothing charged; pay_remaining → at the paid-through date, the
    fees for the committed time after it charged; fee → at the paid-through date, the fee
    charged, but never more than pay_remaining would charge, so that the fees paid plus the
    fee never exceed what the whole commitment costs.
    """
    ends_at = paid_through(subscription, plan, now)
    currency = plan.pricing.currency
    committed_until = subscription.commitment_ends_at
    trial_ends = subscription.trial_ends_at
    in_trial = trial_ends is not None and now < trial_ends
    if in_trial or committed_until is None or now >= committed_until:
        return CancellationTerms(ends_at, None, 0, currency, "")
    commitment = plan.pricing.commitment
    policy = commitment.early_cancellation if commitment else EarlyCancellation.END_OF_TERM
    if policy is EarlyCancellation.END_OF_TERM:
        # Stopping before the paid-through date would refund nothing: a year paid is kept.
        return CancellationTerms(max(committed_until, ends_at), policy, 0, currency, "")
    remaining = _fees_between(subscription, plan, ends_at, committed_until)
    if policy is EarlyCancellation.PAY_REMAINING:
        amount = remaining
        description = (
            f"{plan.name}: remaining commitment {ends_at:%Y-%m-%d} to {committed_until:%Y-%m-%d}"
        )
    else:
        fee = commitment.early_cancellation_fee if commitment else None
        amount = min(fee.minor if fee is not None else 0, remaining)
        description = f"{plan.name}: early cancellation fee"
        if fee is not None and amount < fee.minor:
            description += f", capped at the remaining commitment to {committed_until:%Y-%m-%d}"
    amount = max(amount, 0)
    return CancellationTerms(ends_at, policy, amount, currency, description if amount else "")
