"""Metered support: the usage lines Stripe should invoice, and what the outbox did with them.

The ledger works out each support entry's billable minutes with the allowance arithmetic
(billing/support_time/allowance.py: rounding, included hours, rollover, caps) and stores them on the
entry (``billable_minutes``, the difference the entry made) together with the invoice it
goes on (its period, or ``billed_period`` when it came late). Those stored figures are
what the meter was sent, so they are summed here rather than summarised again: a
period's summary moves when a late entry or a correction arrives, while Stripe bills
each minute on the invoice it was sent for (a correction that lowers the minutes is
credited as an invoice item, an item line).

Stripe sums the meter over each monthly billing cycle of the subscription and invoices it
when the cycle ends: quantity = ceil(minutes / increment) (``transform_quantity``
divide_by, round up), amount = quantity x the increment's price. A yearly hour bank has no
metered price: each calendar month's minutes are invoiced as one item when the month
closes (billing/support_time/usage_invoicing.py), at the same quantity and amount, so its "cycles"
here are its months.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from billing.models import OutboxMessage, OutboxState, SupportEntry
from billing.periods import Period
from billing.reconcile.expected.cycles import Cycle
from billing.reconcile.expected.subscription import BilledSubscription
from billing.reconcile.lines import ExpectedLine, LineKind, UsageAccount, line_key
from billing.stripe.catalog import (
    _increment_price,
    is_metered,
    minute_rate,
    overage_invoiced_monthly,
)
from billing.support_time.closing import CLOSING_GRACE
from billing.support_time.usage_invoicing import billing_moment
from plans import Plan

_WAITING = frozenset({OutboxState.PENDING.value, OutboxState.RETRYING.value})


def usage_charge(plan: Plan, minutes: int) -> tuple[int, int]:
    """(billed increments, amount in minor units) Stripe invoices for ``minutes`` on the
    plan's metered price; an unmetered plan bills none."""
    rate = minute_rate(plan)
    if rate is None or minutes <= 0:
        return 0, 0
    rate_minor, increment = rate
    increments = -(-minutes // increment)
    whole, exact = _increment_price(rate_minor, increment)
    if whole is not None:
        return increments, whole * increments
    assert exact is not None
    # A decimal unit price: Stripe rounds the line's amount to the nearest minor unit.
    return increments, int((exact * increments).quantize(Decimal(1), ROUND_HALF_UP))


# When the ledger timestamped an entry's meter event (or counted it in a month's item).
meter_moment = billing_moment


def cycles_to_meter(billed: BilledSubscription, period: Period, now: datetime) -> list[Cycle]:
    """The cycles starting in ``period`` whose usage Stripe has invoiced by ``now``: the
    metered ones, or for a plan whose minutes are invoiced when a month closes, the month
    itself (inside the subscription) once its close is due (after the month: a month a
    subscription ends in may close earlier, when Stripe's final invoice says so)."""
    if not billed.cycles:
        return []
    first, last = billed.cycles[0], billed.cycles[-1]
    start, end = max(period.start, first.start), min(period.end, last.end)
    if start < end and overage_invoiced_monthly(billed.plan(end, before=True)):
        due = period.end + CLOSING_GRACE
        return [Cycle(start, end, period.start, period.end)] if due <= now else []
    return [
        cycle
        for cycle in billed.starting_in(period)
        if cycle.end <= now and is_metered(billed.plan(cycle.end, before=True))
    ]


def usage_line(
    billed: BilledSubscription,
    period: Period,
    cycles: Sequence[Cycle],
    entries: Iterable[SupportEntry],
    sent: Sequence[OutboxMessage],
) -> ExpectedLine | None:
    """The metered usage of ``cycles`` (from :func:`cycles_to_meter`), keyed by ``period``.

    ``entries``: the subscription's metered entries around those cycles (time logged
    before the subscription started counts on its first cycle, as the ledger counts it);
    ``sent``: its customer's sent meter events. A cycle without minutes is left out
    unless some were sent for it (Stripe then bills a quantity we should see).
    """
    subscription = billed.subscription
    trial_ends = subscription.trial_ends_at
    counted = [
        (max(meter_moment(e), subscription.started_at), e)
        for e in entries
        # Minutes worked in the trial went on the first paid invoice as an item
        # (billing.support_time.charges): Stripe charges no meter usage in a trial.
        if trial_ends is None or meter_moment(e) >= trial_ends
    ]
    increments = amount = 0
    parts: list[str] = []
    plan: Plan | None = None
    increment = 0
    for cycle in cycles:
        minutes = sum(e.billable_minutes or 0 for moment, e in counted if moment in cycle)
        if minutes == 0 and not any(sent_at(m) in cycle for m in sent):
            continue
        plan = billed.plan(cycle.end, before=True)
        increment = _increment(plan)
        billed_increments, billed_amount = usage_charge(plan, minutes)
        increments += billed_increments
        amount += billed_amount
        parts.append(f"{cycle.start:%Y-%m-%d} to {cycle.end:%Y-%m-%d}: {minutes} min")
    if plan is None:
        return None
    return ExpectedLine(
        key=line_key(LineKind.USAGE, subscription.id, str(period)),
        customer_id=subscription.customer_id,
        subscription_id=subscription.id,
        kind=LineKind.USAGE,
        description=(
            f"{plan.name}: support time {'; '.join(parts)} "
            f"(billed in {increment}-minute increments)"
        ),
        currency=plan.pricing.currency.upper(),
        amount=amount,
        quantity=increments,
        period=str(period),
        # Usage is invoiced when its cycle ends: a year on, for a yearly plan's.
        invoiced_by=cycles[-1].end,
    )


def _increment(plan: Plan) -> int:
    rate = minute_rate(plan)
    return rate[1] if rate is not None else 0


def sent_at(message: OutboxMessage) -> datetime:
    """A meter event's timestamp (the moment Stripe counts it at): as its request was
    built (the sender keeps it inside Stripe's open period), else as the ledger queued it."""
    request = message.request or {}
    stamped = request.get("params", {}).get("timestamp", message.payload["timestamp"])
    return datetime.fromtimestamp(int(stamped), UTC)


def summarize_usage(
    period: Period, entries: Iterable[SupportEntry], events: Iterable[OutboxMessage]
) -> list[UsageAccount]:
    """Per customer: the minutes the ledger billed on ``period``'s invoice (``entries``)
    beside the meter events timestamped in it (``events``), by outbox state."""
    billable: dict[str, int] = defaultdict(int)
    for entry in entries:
        billable[entry.customer_id] += entry.billable_minutes or 0
    by_state: dict[str, dict[str, list[OutboxMessage]]] = defaultdict(lambda: defaultdict(list))
    for event in events:
        by_state[str(event.payload["customer_id"])][event.state].append(event)
    accounts = []
    for customer_id in sorted(billable.keys() | by_state.keys()):
        states = by_state[customer_id]
        waiting = [m for state in _WAITING for m in states[state]]
        dead = states[OutboxState.DEAD.value]
        accounts.append(
            UsageAccount(
                customer_id=customer_id,
                period=str(period),
                billable_minutes=billable[customer_id],
                sent_minutes=_minutes(states[OutboxState.SENT.value]),
                waiting_minutes=_minutes(waiting),
                dead_minutes=_minutes(dead),
                waiting_ids=tuple(sorted(m.id for m in waiting)),
                dead_ids=tuple(sorted(m.id for m in dead)),
            )
        )
    return accounts


def _minutes(messages: Iterable[OutboxMessage]) -> int:
    return sum(int(m.payload["minutes"]) for m in messages)
