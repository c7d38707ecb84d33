"""Fee and proration lines: what Stripe invoices a subscription for its plan in a period.

A fee is invoiced in advance, at the start of each billing cycle (billing/reconcile/
expected_cycles.py), at the price of the plan counting then; the fee line of period M is
the cycle (or cycles) starting in M. A yearly price therefore has a fee line in its first
(partial) month and then once a year, in the month its year starts.

An upgrade is prorated from the moment of the change to the end of its cycle: a credit
for the unused time at the old price and a charge for it at the new price, each prorated
by the second and rounded on its own; the proration line is the net, charge - credit.
Nothing is prorated during a trial (Stripe charges 0 for it either way).
"""

from __future__ import annotations

from datetime import datetime

from billing.periods import Period
from billing.reconcile.expected.cycles import Cycle
from billing.reconcile.expected.subscription import BilledSubscription
from billing.reconcile.lines import ExpectedLine, LineKind, line_key
from plans import Plan


def fee_line(billed: BilledSubscription, period: Period, now: datetime) -> ExpectedLine | None:
    """The fee of ``period``, if a cycle of it has started by ``now``."""
    due = [cycle for cycle in billed.starting_in(period) if cycle.start <= now]
    if not due:
        return None
    plans = [_cycle_plan(billed, cycle.start) for cycle in due]
    amount = sum(
        cycle.charge(plan.pricing.amount.minor) for cycle, plan in zip(due, plans, strict=True)
    )
    subscription = billed.subscription
    return ExpectedLine(
        key=line_key(LineKind.FEE, subscription.id, str(period)),
        customer_id=subscription.customer_id,
        subscription_id=subscription.id,
        kind=LineKind.FEE,
        description="; ".join(
            _fee_description(plan.name, cycle) for cycle, plan in zip(due, plans, strict=True)
        ),
        currency=plans[0].pricing.currency.upper(),
        amount=amount,
        quantity=1,
        period=str(period),
    )


def _fee_description(plan_name: str, cycle: Cycle) -> str:
    what = "trial" if cycle.trial else "fee"
    prorated = " (prorated)" if cycle.partial and not cycle.trial else ""
    return f"{plan_name}: {what} {cycle.start:%Y-%m-%d} to {cycle.end:%Y-%m-%d}{prorated}"


def _cycle_plan(billed: BilledSubscription, start: datetime) -> Plan:
    """The plan a cycle's fee was invoiced at, when the cycle began. A prorated change
    dated at that very moment (a downgrade or migration taking effect at the boundary)
    reached Stripe after the cycle's invoice: it is billed by its proration line."""
    if billed.history.prorated_at(start):
        return billed.plan(start, before=True)
    return billed.plan(start)


def proration_line(
    billed: BilledSubscription, period: Period, now: datetime
) -> ExpectedLine | None:
    """The net of the prorated plan changes made in ``period`` by ``now``, if any."""
    net = 0
    changes: list[str] = []
    currency = ""
    for _, _, change in billed.history.timeline(billed.cycles):
        if not change.prorated or Period.of(change.at) != period or change.at > now:
            continue
        cycle = next((c for c in billed.cycles if change.at in c), None)
        if cycle is None or cycle.trial:
            continue
        old, new = billed.plan(change.at, before=True), billed.plan(change.at)
        credit = cycle.remaining(old.pricing.amount.minor, change.at)
        charge = cycle.remaining(new.pricing.amount.minor, change.at)
        net += charge - credit
        currency = new.pricing.currency.upper()
        changes.append(f"{old.name} to {new.name} on {change.at:%Y-%m-%d %H:%M} UTC")
    if not changes:
        return None
    subscription = billed.subscription
    return ExpectedLine(
        key=line_key(LineKind.PRORATION, subscription.id, str(period)),
        customer_id=subscription.customer_id,
        subscription_id=subscription.id,
        kind=LineKind.PRORATION,
        description="Plan change, prorated: " + "; ".join(changes),
        currency=currency,
        amount=net,
        quantity=1,
        period=str(period),
    )
