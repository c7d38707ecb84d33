"""What Dockyard's own records say Stripe should invoice for a period, line by line.

Only the database and the catalog are read; Stripe is never asked. Each line is keyed by
our ids (billing/reconcile/lines.py) so the matcher can pair it with Stripe's:

- fee and proration lines per subscription (expected_fees.py), on Stripe's billing
  cycles (expected_cycles.py) and the plan history the outbox recorded
  (expected_history.py);
- usage lines: metered support minutes per subscription (expected_usage.py);
- item lines: the period's ``invoice_item`` outbox messages in any state, and one-off
  packages (expected_items.py).

Lines are those Stripe should have issued by the context's clock: a fee once its cycle
has started (fees are invoiced in advance), usage once its cycle has ended (in arrears),
an invoice item once the customer's next cycle invoice after it has been made.
Each query is bounded by the period (or, for a yearly plan's metered usage, its cycle).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from billing.context import BillingContext
from billing.models import OutboxMessage, OutboxState, Subscription, SupportEntry
from billing.periods import Period
from billing.reconcile.expected.cycles import Cycle
from billing.reconcile.expected.fees import fee_line, proration_line
from billing.reconcile.expected.history import History, read_history
from billing.reconcile.expected.items import (
    checkout_setup_line,
    item_entry_id,
    item_lines,
    package_line,
)
from billing.reconcile.expected.subscription import BilledSubscription, billed_subscription
from billing.reconcile.expected.usage import cycles_to_meter, summarize_usage, usage_line
from billing.reconcile.lines import ExpectedLine, UsageAccount
from billing.repository.customers import CustomerRepository
from billing.repository.reconcile import ReconcileRepository
from billing.repository.subscriptions import SubscriptionRepository
from billing.stripe.catalog import is_metered

__all__ = ["expected_lines", "usage_accounts"]

_Due = tuple[BilledSubscription, list[Cycle]]  # a subscription and its cycles to meter


async def expected_lines(
    ctx: BillingContext, period: Period | str, customer_id: str | None = None
) -> list[ExpectedLine]:
    """Every line Stripe should have invoiced for ``period`` by now, ordered by customer
    and key; with ``customer_id``, only that customer's (UnknownCustomer if there is none).
    """
    wanted = _period(period)
    now = ctx.clock()
    catalog = ctx.catalog()
    lines: list[ExpectedLine] = []
    async with ctx.sessions() as session:
        repo = ReconcileRepository(session)
        if customer_id is not None:
            await CustomerRepository(session).get(customer_id)
        subscriptions = await SubscriptionRepository(session).live_in(
            wanted.start, wanted.end, customer_id
        )
        histories = await _histories(repo, subscriptions)
        billed: list[BilledSubscription] = []
        for subscription in subscriptions:
            history = histories[subscription.id]
            found = billed_subscription(subscription, history, catalog, wanted.end)
            if found is not None:
                billed.append(found)
                lines.extend(_fees(found, wanted, now))
                setup = checkout_setup_line(subscription, history, catalog, wanted, now)
                lines.extend([setup] if setup is not None else [])
            elif history.in_stripe:
                package = package_line(subscription, catalog, wanted, now)
                lines.extend([package] if package is not None else [])
        lines.extend(await _usage(repo, billed, wanted, now, customer_id))
        async for items in repo.invoice_items(str(wanted), customer_id):
            owners = await repo.entry_subscriptions([item_entry_id(m) for m in items])
            lines.extend(item_lines(items, owners, billed, now))
    return sorted(lines, key=lambda line: (line.customer_id, line.key))


async def usage_accounts(
    ctx: BillingContext, period: Period | str, customer_id: str | None = None
) -> list[UsageAccount]:
    """Per customer, the support minutes the ledger billed on ``period``'s invoice beside
    the minutes of the meter events timestamped in it that the outbox sent, still holds
    (pending, retrying) or gave up on (dead)."""
    wanted = _period(period)
    async with ctx.sessions() as session:
        repo = ReconcileRepository(session)
        if customer_id is not None:
            await CustomerRepository(session).get(customer_id)
        name = str(wanted)
        entries = await repo.metered_entries(name, name, customer_id=customer_id)
        events = await repo.meter_events(wanted.start, wanted.end, customer_id)
        plans = await SubscriptionRepository(session).plans_of(
            {e.subscription_id for e in entries if e.subscription_id}
        )
    catalog = ctx.catalog()
    # A yearly hour bank's minutes are invoiced as an item, never sent to the meter.
    metered = {
        subscription
        for subscription, (plan_id, version) in plans.items()
        if plan_id in catalog and is_metered(catalog.get(plan_id, version))
    }
    return summarize_usage(wanted, [e for e in entries if e.subscription_id in metered], events)


def _period(period: Period | str) -> Period:
    return period if isinstance(period, Period) else Period.parse(period)


def _fees(billed: BilledSubscription, period: Period, now: datetime) -> list[ExpectedLine]:
    found = (fee_line(billed, period, now), proration_line(billed, period, now))
    return [line for line in found if line is not None]


async def _histories(
    repo: ReconcileRepository, subscriptions: Sequence[Subscription]
) -> dict[str, History]:
    messages: dict[str, list[OutboxMessage]] = defaultdict(list)
    for message in await repo.subscription_messages([s.id for s in subscriptions]):
        messages[str(message.payload["subscription_id"])].append(message)
    return {s.id: read_history(s, messages[s.id]) for s in subscriptions}


async def _usage(
    repo: ReconcileRepository,
    billed: Sequence[BilledSubscription],
    period: Period,
    now: datetime,
    customer_id: str | None,
) -> list[ExpectedLine]:
    """Usage lines of the metered subscriptions whose cycles starting in ``period`` ended.

    Subscriptions are read in groups of the same span (a month; a year for a yearly
    plan's usage), so a monthly subscription's rows are never read for a year.
    """
    spans: dict[tuple[datetime, datetime], list[_Due]] = defaultdict(list)
    for each in billed:
        cycles = cycles_to_meter(each, period, now)
        if cycles:
            spans[(cycles[0].start, cycles[-1].end)].append((each, cycles))
    lines = []
    for (start, end), group in spans.items():
        entries: dict[str | None, list[SupportEntry]] = defaultdict(list)
        for entry in await repo.metered_entries(
            str(Period.of(start)),
            str(Period.of(end - timedelta(microseconds=1))),
            customer_id=customer_id,
            subscription_ids=[each.subscription.id for each, _ in group],
        ):
            entries[entry.subscription_id].append(entry)
        sent: dict[str, list[OutboxMessage]] = defaultdict(list)
        for event in await repo.meter_events(start, end, customer_id):
            if event.state == OutboxState.SENT.value:
                sent[str(event.payload["customer_id"])].append(event)
        for each, cycles in group:
            subscription = each.subscription
            line = usage_line(
                each, period, cycles, entries[subscription.id], sent[subscription.customer_id]
            )
            lines.extend([line] if line is not None else [])
    return lines
