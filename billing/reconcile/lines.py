"""The two sides of a reconciliation in one vocabulary, and the keys that pair them.

Both sides are reduced to lines keyed by *our* ids, so matching never depends on the order
Stripe lists things in, nor on descriptions:

    fee:<subscription>:<YYYY-MM>        a subscription's recurring fee for a service period
    proration:<subscription>:<YYYY-MM>  the net of a plan change's credit and charge lines
    usage:<subscription>:<YYYY-MM>      metered support time (quantity: billed increments)
    item:<entry id>                     a one-off: setup fee, extra work, service, early exit

Amounts are integer minor units in ``currency`` (ISO, upper-case).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime


class LineKind(enum.StrEnum):
    FEE = "fee"
    PRORATION = "proration"
    USAGE = "usage"
    ITEM = "item"


def line_key(kind: LineKind, owner: str, period: str | None = None) -> str:
    """``owner`` is a subscription id (fee, proration, usage) or an entry id (item)."""
    if kind is LineKind.ITEM:
        return f"item:{owner}"
    if period is None:
        raise ValueError(f"a {kind} line needs its period")
    return f"{kind}:{owner}:{period}"


def month_of(moment: datetime) -> str:
    """``str(Period.of(moment))`` (YYYY-MM, in UTC) without building a Period: it is asked
    for every line Stripe sends."""
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return f"{moment.year:04d}-{moment.month:02d}"


# The lines and invoices are one per line of a month, tens of thousands: they are not
# frozen dataclasses, whose __init__ sets each field through object.__setattr__ and takes
# six times as long. Treat them as immutable all the same.


@dataclass(slots=True)
class ExpectedLine:
    key: str
    customer_id: str
    subscription_id: str | None
    kind: LineKind
    description: str
    currency: str
    amount: int
    quantity: int  # 1 for fees and items; billed increments for usage
    period: str  # YYYY-MM
    # When Stripe puts it on an invoice, if that may be after the next month (an item
    # waits for the customer's next cycle invoice; a yearly plan's usage is invoiced at
    # the end of its year): the reconciliation reads that far.
    invoiced_by: datetime | None = None


@dataclass(slots=True)  # not frozen: see above
class ActualLine:
    """One invoice line as Stripe billed it; ``key`` None when nothing of ours names it."""

    key: str | None
    invoice_id: str
    line_id: str
    kind: LineKind
    description: str
    currency: str
    amount: int
    quantity: int
    period_start: datetime
    period_end: datetime
    price_id: str | None = None
    subscription_id: str | None = None  # ours


@dataclass(slots=True)  # not frozen: see above
class ActualInvoice:
    id: str
    number: str | None
    customer_id: str | None  # ours; None when Stripe's customer is unknown to Dockyard
    stripe_customer_id: str
    subscription_id: str | None  # ours
    status: str  # draft, open, paid, void, uncollectible
    currency: str
    total: int
    amount_paid: int
    amount_remaining: int
    credited: int  # sum of credit notes against it
    created: datetime
    due_date: datetime | None
    lines: tuple[ActualLine, ...] = field(default=())
    credit_notes: tuple[str, ...] = ()  # Stripe's cn_... ids behind ``credited`` (not void)


@dataclass(frozen=True, slots=True)
class UsageAccount:
    """Support minutes of one customer and period as the ledger sees them, and as sent.

    ``billable`` is what the ledger says should be billed; the rest is what the Stripe
    outbox did with the meter events for it.
    """

    customer_id: str
    period: str
    billable_minutes: int
    sent_minutes: int
    waiting_minutes: int  # pending or retrying
    dead_minutes: int
    waiting_ids: tuple[int, ...] = ()  # outbox message ids
    dead_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class MeterSummary:
    """What Stripe's meter aggregated for a customer over the period (event summaries)."""

    customer_id: str
    period: str
    minutes: int
