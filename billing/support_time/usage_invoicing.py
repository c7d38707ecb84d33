"""A month's minutes of a plan without a metered price, invoiced when the month closes.

A metered price bills with its subscription's interval (Stripe allows one interval per
subscription unless it uses flexible billing), so on a yearly hour bank it would invoice a
year's overage at once, a year late. Such a plan has no metered price
(billing/stripe/catalog.py); instead, when one of its months closes
(billing/support_time/closing.py),
the minutes billed in that month become one invoice item priced exactly as the metered
price would price them (whole increments, rounded up, at the increment's price) and an
invoice Dockyard asks Stripe for at once: the overage is billed the month after it
happens, like a monthly plan's.

Which minutes: what the meter would have been sent. The entries billed in the month
(late ones included, ``billed_period``), support work that is not agreed extra work,
their positive billable minutes, not worked during a trial (those went on the first
paid invoice as an item: billing/support_time/charges.py). A correction that lowers minutes is
credited as its own invoice item when it is recorded, as on monthly plans.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from billing.models import ClosedPeriod, EntryCategory, Subscription, SupportEntry
from billing.outbox import InvoiceCreate, UsageItem, enqueue
from billing.periods import Period
from billing.repository.ledger import LedgerRepository
from billing.stripe.catalog import increment_price, minute_rate, overage_invoiced_monthly
from plans import Catalog


def billing_moment(entry: SupportEntry) -> datetime:
    """When an entry's minutes count for billing: when the work was done, or for a late
    entry (its own period already invoiced) when it was billed, in the invoice's month.
    (A late entry's exact moment is not stored; its recording, at the earliest the start
    of that month, stands for it.)"""
    if entry.billed_period is None or entry.billed_period == entry.period:
        return entry.worked_at
    return max(entry.recorded_at, Period.parse(entry.billed_period).start)


def minutes_to_bill(subscription: Subscription, entries: Iterable[SupportEntry]) -> int:
    """The minutes of ``entries`` a meter would count (see the module's docstring)."""
    trial_ends = subscription.trial_ends_at
    return sum(
        entry.billable_minutes or 0
        for entry in entries
        if entry.category == EntryCategory.SUPPORT.value
        and not entry.extra_work
        and (entry.billable_minutes or 0) > 0
        and (trial_ends is None or billing_moment(entry) >= trial_ends)
    )


async def invoice_closed_usage(
    session: AsyncSession,
    catalog: Catalog,
    subscription: Subscription,
    closed: Sequence[ClosedPeriod],
    now: datetime,
) -> None:
    """Invoice the minutes of each month in ``closed`` held on a plan without a metered
    price; months with none make nothing."""
    repo = LedgerRepository(session)
    for row in closed:
        plan = catalog.get(row.plan_id, row.plan_version)
        rate = minute_rate(plan)
        if rate is None or not overage_invoiced_monthly(plan):
            continue
        minutes = minutes_to_bill(subscription, await repo.billed_in(subscription.id, row.period))
        if minutes <= 0:
            continue
        rate_minor, increment = rate
        increments = -(-minutes // increment)
        month = Period.parse(row.period)
        await enqueue(
            session,
            UsageItem(
                customer_id=subscription.customer_id,
                subscription_id=subscription.id,
                period=row.period,
                minutes=minutes,
                increments=increments,
                increment_price=str(increment_price(rate_minor, increment)),
                currency=plan.pricing.currency,
                description=(
                    f"{plan.name}: support time {month.start:%B %Y}, {minutes} min"
                    f" (billed in {increment}-minute increments)"
                ),
            ),
            now=now,
        )
        await enqueue(
            session,
            InvoiceCreate(
                customer_id=subscription.customer_id,
                reference=f"usage:{subscription.id}:{row.period}",
                description=f"{plan.name}: support time of {month.start:%B %Y}",
            ),
            now=now,
        )
