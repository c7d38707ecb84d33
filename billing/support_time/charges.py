"""What an entry's billable minutes become at Stripe: a meter event or an invoice item.

- Metered plans (hour bank, per hour) report added minutes as a meter event stamped inside
  the Stripe period that bills them: when the work was done, or for an entry billed late
  (its own period closed) now, in the open one. The sender keeps the stamp inside Stripe's
  accepted window (billing.outbox.requests.meter_timestamp).
- A plan billed by the minute without a metered price (a yearly hour bank) sends nothing
  now: its month's minutes are invoiced when the month closes
  (billing.support_time.usage_invoicing),
  unless the subscription has ended before that month (no close will come): then at once.
- Minutes of a metered plan that fall in its trial become an invoice item for the first
  paid invoice: Stripe does not charge meter usage during a trial
  (https://docs.stripe.com/billing/subscriptions/trials#usage-based-billing).
- Fewer minutes (a correction) are credited as a negative invoice item; flat-rate extra
  work and per-hour services are invoice items too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from billing.context import BillingContext
from billing.errors import InvalidEntry
from billing.models import EntryCategory, Subscription, SupportEntry
from billing.outbox import InvoiceItem, MeterEvent, enqueue
from billing.periods import Period
from billing.stripe.catalog import overage_invoiced_monthly
from billing.subscriptions.final_invoice import invoice_if_nothing_will
from billing.support_time.allowance import Terms
from plans.model import FlatRate, HourBank, PerHour, ServiceBilling
from plans.money import Money


def minutes_amount(minutes: int, hourly_minor: int) -> int:
    """``minutes`` at an hourly rate, in minor units.

    Exact whenever the rate divides (15 minutes at 85.00 is 21.25). Otherwise rounded
    half up, away from zero, so a credit mirrors the charge it undoes.
    """
    magnitude, remainder = divmod(abs(minutes) * hourly_minor, 60)
    if remainder * 2 >= 60:
        magnitude += 1
    return magnitude if minutes >= 0 else -magnitude


def rate_of(terms: Terms, subscription: Subscription, ctx: BillingContext) -> Money:
    if isinstance(terms, HourBank):
        return terms.overage_rate
    if isinstance(terms, PerHour):
        return terms.hourly_rate
    if isinstance(terms, FlatRate):
        if terms.extra_work_rate is None:
            raise InvalidEntry("this flat-rate plan has no extra_work_rate")
        return terms.extra_work_rate
    if terms.billing is ServiceBilling.PER_HOUR:
        plan = ctx.catalog().get(subscription.plan_id, subscription.plan_version)
        return plan.pricing.amount  # a per-hour service's price is its hourly rate
    raise InvalidEntry(f"plan {subscription.plan_id} is a package: its time is not billed")


async def charge(
    ctx: BillingContext,
    session: AsyncSession,
    subscription: Subscription,
    terms: Terms,
    entry: SupportEntry,
    delta: int,
    now: datetime,
) -> None:
    """Queue what ``delta`` billable minutes of ``entry`` cost (nothing for 0)."""
    if delta == 0:
        return
    own = Period.parse(entry.period)
    invoice = Period.parse(entry.billed_period or entry.period)
    moment = entry.worked_at if invoice == own else now
    trial_ends = subscription.trial_ends_at
    in_trial = trial_ends is not None and moment < trial_ends
    if isinstance(terms, HourBank | PerHour) and delta > 0 and not in_trial:
        plan = ctx.catalog().get(subscription.plan_id, subscription.plan_version)
        ended = subscription.ended_at
        if overage_invoiced_monthly(plan):
            if ended is None or invoice <= Period.of(ended):
                return
        else:
            await enqueue(
                session,
                MeterEvent(
                    customer_id=subscription.customer_id,
                    entry_id=entry.id,
                    subscription_id=subscription.id,
                    minutes=delta,
                    timestamp=int(moment.timestamp()),
                ),
                now=now,
            )
            return
    rate = rate_of(terms, subscription, ctx)
    what = "credit for correction" if delta < 0 else "support"
    if entry.category != EntryCategory.SUPPORT.value:
        what = f"{entry.category.replace('_', ' ')} ({what})" if delta < 0 else entry.category
    notes = []
    if invoice != own:
        notes.append(f"logged late, billed in {invoice.start:%B %Y}")
    if in_trial and trial_ends is not None:
        invoice = max(invoice, Period.of(trial_ends))
        notes.append("worked during the trial, billed on the first paid invoice")
    tail = "".join(f"; {note}" for note in notes)
    await enqueue(
        session,
        InvoiceItem(
            customer_id=subscription.customer_id,
            entry_id=entry.id,
            amount_minor=minutes_amount(delta, rate.minor),
            currency=rate.currency,
            description=(
                f"{what.replace('_', ' ').capitalize()}: {entry.note.splitlines()[0]}"
                f" ({delta} min, period {own}{tail})"
            ),
            period=str(invoice),
        ),
        now=now,
    )
    # Logged after the subscription ended: no cycle invoice will carry it.
    await invoice_if_nothing_will(
        session, ctx.catalog(), subscription.customer_id, f"item:{entry.id}", now
    )
