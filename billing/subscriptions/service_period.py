"""What a customer is being served and charged now, as Stripe bills it.

The ledger's periods are calendar months; Stripe's are billing cycles: a trial from the
day it started, then a partial period to the first 1st, then whole months (or years).
A customer reading "your current period" and "your next charge" wants Stripe's, so they
are worked out from the same cycles the reconciliation expects
(billing/reconcile/expected/cycles.py), never from the calendar month.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from billing.models import Subscription
from billing.reconcile.expected.cycles import Cycle, cycles
from plans import Plan
from plans.money import Money


@dataclass(frozen=True, slots=True)
class NextCharge:
    at: datetime
    amount: Money
    covers: tuple[datetime, datetime]  # the service period it pays for


def _cycles(subscription: Subscription, plan: Plan, until: datetime) -> list[Cycle]:
    months = plan.pricing.interval.months
    if months == 0:
        return []
    return cycles(subscription.started_at, subscription.trial_ends_at, months, until)


def _ends(subscription: Subscription) -> datetime | None:
    return subscription.ended_at or subscription.cancel_at


def service_period(subscription: Subscription, plan: Plan, now: datetime) -> Cycle | None:
    """The billing cycle running at ``now`` (cut where the subscription ends); None for a
    plan without a recurring fee or a subscription not running at ``now``."""
    running = _cycles(subscription, plan, now + timedelta(microseconds=1))
    if not running or running[-1].end <= now:
        return None
    ends = _ends(subscription)
    if ends is not None and ends <= now:
        return None
    current = running[-1]
    return replace(current, end=min(current.end, ends)) if ends else current


def next_charge(subscription: Subscription, plan: Plan, now: datetime) -> NextCharge | None:
    """When the next fee is charged, for which period, and how much (the plan's price,
    prorated for a partial period, as Stripe invoices it); None when nothing more will be
    charged (a one-off, an end before the next period, no recurring fee)."""
    months = plan.pricing.interval.months
    if months == 0:
        return None
    ahead = _cycles(subscription, plan, now + timedelta(days=31 * months + 31))
    upcoming = [cycle for cycle in ahead if cycle.start > now and not cycle.trial]
    if not upcoming:
        return None
    cycle = upcoming[0]
    ends = _ends(subscription)
    if ends is not None:
        if cycle.start >= ends:
            return None
        cycle = replace(cycle, end=min(cycle.end, ends))
    amount = Money(plan.pricing.currency, cycle.charge(plan.pricing.amount.minor))
    return NextCharge(cycle.start, amount, (cycle.start, cycle.end))
