"""One reconciliation, end to end: the ledger's expected lines, Stripe's invoices streamed
through the matcher, the meter's summaries, and the report.

With a state directory the run can be resumed: the checkpoint says where Stripe's list
stopped, the spool holds the invoices already read (see spool.py). Both are removed once
a run completes, so the next run reads Stripe afresh.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path

import stripe

from billing.context import BillingContext
from billing.periods import Period
from billing.reconcile.expected.invoices import expected_lines, usage_accounts
from billing.reconcile.lines import ExpectedLine
from billing.reconcile.matching import Matcher
from billing.reconcile.result import Reconciliation, Standing
from billing.reconcile.spool import Spool
from billing.reconcile.stripe.checkpoint import Checkpoint, checkpoint_file
from billing.reconcile.stripe.ids import CustomerIndex
from billing.reconcile.stripe.meter import find_meter_id, meter_summaries
from billing.reconcile.stripe.reader import stream_invoices
from billing.reconcile.stripe.retry import DEFAULT_RETRY, Retry
from billing.repository.customers import CustomerRepository
from billing.repository.subscriptions import SubscriptionRepository

# An automatically charged invoice has no due date; Stripe retries the card for days.
# Open this long after it was created, it counts as unpaid past due.
PAYMENT_GRACE = timedelta(days=3)


def read_until(month: Period, expected: Iterable[ExpectedLine]) -> datetime:
    """The end of the invoices to read: the period's usage and items are invoiced when it
    ends, so through the next month; further if an item waits for a later cycle invoice."""
    end = month.next().end
    latest = max((line.invoiced_by for line in expected if line.invoiced_by), default=end)
    # The invoice is made at that moment and finalized about an hour later.
    return max(end, latest + timedelta(days=1))


def period_of(value: Period | str) -> Period:
    return value if isinstance(value, Period) else Period.parse(value)


async def reconcile_month(
    ctx: BillingContext,
    client: stripe.StripeClient,
    period: Period | str,
    *,
    customer: str | None = None,
    state_dir: Path | None = None,
    on_page: Callable[[int], None] | None = None,
    retry: Retry = DEFAULT_RETRY,
) -> Reconciliation:
    """Raises StripeReadInterrupted (resumable with the same ``state_dir``) when Stripe
    cannot be read, InvalidPeriod for a malformed period."""
    month = period_of(period)
    expected = await expected_lines(ctx, month, customer)
    usage = await usage_accounts(ctx, month, customer)
    async with ctx.sessions() as session:
        index = await CustomerIndex.load(session)
        subscriptions = await SubscriptionRepository(session).standings(customer)
        currencies = await CustomerRepository(session).currencies(customer)
    matcher = Matcher(
        str(month),
        expected,
        now=ctx.clock(),
        standings={sid: Standing(owner, state, why) for sid, owner, state, why in subscriptions},
        past_due_after=PAYMENT_GRACE,
        currencies=currencies,
    )
    checkpoint = Checkpoint()
    spool: Spool | None = None
    if state_dir is not None:
        path = checkpoint_file(state_dir, str(month), customer)
        checkpoint = Checkpoint.at(path)
        spool = Spool(path.with_name(path.name.replace(".checkpoint.json", ".invoices.jsonl")))
    seen: set[str] = set()
    for invoice in spool.replay() if spool else ():
        if invoice.id not in seen:
            seen.add(invoice.id)
            matcher.add(invoice)
    async for invoice in stream_invoices(
        client,
        month.start,
        read_until(month, expected),
        customers=index,
        customer=customer,
        checkpoint=checkpoint,
        on_page=on_page,
        lines_of=month,  # the matcher looks at no other month's lines
        retry=retry,
    ):
        if invoice.id in seen:
            continue
        seen.add(invoice.id)
        if spool is not None:
            spool.append(invoice)
        matcher.add(invoice)
    meter = await find_meter_id(client, retry)
    metered = {account.customer_id for account in usage}
    summaries = (
        await meter_summaries(client, meter, index, month, only=metered, retry=retry)
        if meter is not None and metered
        else []
    )
    result = matcher.finish(usage, summaries)
    result.customer = customer
    if state_dir is not None and checkpoint.path is not None:
        checkpoint.path.unlink(missing_ok=True)
        if spool is not None:
            spool.remove()
    return result
