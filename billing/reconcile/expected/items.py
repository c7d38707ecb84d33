"""One-off lines: invoice items queued in the outbox, and one-off packages.

Every ``invoice_item`` message names the invoice it belongs on (payload ``period``) and
its entry id, which Stripe carries as ``dockyard_entry_id``: ``setup:<subscription>``
(setup fee), ``cancel-<subscription>`` (early cancellation), or a support entry's id
(agreed extra work, per-hour services, a correction's credit). Whatever the message's
state, the item is owed: a pending or dead one is what the matcher should find missing.

It is owed from when Stripe should have invoiced it (:func:`invoiced_at`): an item made
without an invoice waits in Stripe for "the next upcoming scheduled invoice" (API
reference, ``invoiceitems.create``), the customer's next cycle invoice. Until then it is
not expected, so a reconciliation of the current month does not find it missing. The
sender dates its line by the payload's period (``period[start]``/``[end]``), so however
late that invoice comes, the line counts in the month the item belongs to.

A one-off package plan (interval ``once``, e.g. training) has no recurring price. The
outbox sends its ``subscription.create`` with the package's one-time price as a
subscription item, which Stripe refuses (items need recurring prices); through Checkout
it lands on the first invoice. Either way it is owed once, in the month it was bought,
and expected here as the item ``package:<subscription>``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from billing.models import Subscription
from billing.periods import Period
from billing.reconcile.expected.cycles import Cycle
from billing.reconcile.expected.history import History
from billing.reconcile.expected.subscription import BilledSubscription, billed_subscription
from billing.reconcile.lines import ExpectedLine, LineKind, line_key
from billing.repository.reconcile import QueuedItem
from plans import Catalog, Interval

_SUBSCRIPTION_PREFIXES = ("setup:", "cancel-", "package:")
_INSTANT = timedelta(microseconds=1)


def package_entry_id(subscription_id: str) -> str:
    """The item id a one-off package subscription is expected under."""
    return f"package:{subscription_id}"


def item_entry_id(message: QueuedItem) -> str:
    return str(message.payload["entry_id"])


def item_lines(
    messages: Sequence[QueuedItem],
    entry_subscriptions: Mapping[str, str | None],
    billed: Iterable[BilledSubscription],
    now: datetime,
) -> list[ExpectedLine]:
    """One line per queued invoice item Stripe should have invoiced by ``now``.

    ``entry_subscriptions`` maps support entry ids to the subscription they count on;
    ``billed``: the subscriptions with Stripe cycles, whose cycle invoices take the items.
    """
    schedules: dict[str, list[BilledSubscription]] = defaultdict(list)
    for each in billed:
        schedules[each.subscription.customer_id].append(each)
    lines = []
    for message in messages:
        payload = message.payload
        due = invoiced_at(message, schedules[str(payload["customer_id"])])
        if due > now:
            continue
        entry_id = item_entry_id(message)
        lines.append(
            ExpectedLine(
                key=line_key(LineKind.ITEM, entry_id),
                customer_id=str(payload["customer_id"]),
                subscription_id=_subscription_of(entry_id, entry_subscriptions),
                kind=LineKind.ITEM,
                description=str(payload["description"]),
                currency=str(payload["currency"]).upper(),
                amount=int(payload["amount_minor"]),
                quantity=1,
                period=str(payload["period"]),
                invoiced_by=due,
            )
        )
    return lines


def invoiced_at(message: QueuedItem, billed: Sequence[BilledSubscription]) -> datetime:
    """When Stripe puts the item on an invoice: at the first cycle start of the customer's
    subscriptions (``billed``) after the item reached Stripe (after it was queued, if it
    is still in the outbox). With no cycle invoice to come, Stripe would hold it for good:
    it is owed from the end of its period, and a reconciliation of that month finds it
    missing."""
    arrived = message.sent_at or message.created_at
    scheduled = [_next_cycle_invoice(each, arrived) for each in billed]
    found = [moment for moment in scheduled if moment is not None]
    return min(found) if found else Period.parse(str(message.payload["period"])).end


def _next_cycle_invoice(billed: BilledSubscription, after: datetime) -> datetime | None:
    """When the subscription's next cycle invoice after ``after`` is made: at the end of
    the cycle running then (of its first, before it began), unless it ends there."""
    cycles: Sequence[Cycle] = billed.cycles
    if not cycles or cycles[-1].end <= after:
        # ``billed`` holds the cycles up to the period's end: count on to the one running.
        subscription = billed.subscription
        until = max(after, subscription.started_at) + _INSTANT
        running = billed_subscription(subscription, billed.history, billed.catalog, until)
        if running is None:
            return None
        cycles = running.cycles
    end = next((cycle.end for cycle in cycles if cycle.end > after), None)
    ending = billed.history.ending
    if end is None or (ending is not None and end >= ending.at):
        return None
    return end


def _subscription_of(entry_id: str, entry_subscriptions: Mapping[str, str | None]) -> str | None:
    for prefix in _SUBSCRIPTION_PREFIXES:
        if entry_id.startswith(prefix):
            return entry_id.removeprefix(prefix)
    return entry_subscriptions.get(entry_id)


def package_line(
    subscription: Subscription, catalog: Catalog, period: Period, now: datetime
) -> ExpectedLine | None:
    """The package's price, if ``subscription`` is a one-off bought in ``period`` by ``now``."""
    started = subscription.started_at
    if Period.of(started) != period or started > now:
        return None
    plan = catalog.version_for_holder(
        subscription.plan_id, subscription.plan_version, started.date()
    )
    if plan.pricing.interval is not Interval.ONCE:
        return None
    return ExpectedLine(
        key=line_key(LineKind.ITEM, package_entry_id(subscription.id)),
        customer_id=subscription.customer_id,
        subscription_id=subscription.id,
        kind=LineKind.ITEM,
        description=f"{plan.name} (one-off)",
        currency=plan.pricing.currency.upper(),
        amount=plan.pricing.amount.minor,
        quantity=1,
        period=str(period),
    )


def checkout_setup_line(
    subscription: Subscription, history: History, catalog: Catalog, period: Period, now: datetime
) -> ExpectedLine | None:
    """The setup fee a Checkout session charged on the subscription's first invoice
    (billing.stripe.checkout), if it started in ``period`` by ``now``: the fee of the plan it was
    bought on, whatever it holds now. The outbox queues it (an ``invoice_item`` message)
    for every other subscription."""
    started = subscription.started_at
    if not history.by_checkout or Period.of(started) != period or started > now:
        return None
    plan = catalog.get(*history.initial)
    fee = plan.pricing.setup_fee
    if fee is None or fee.is_zero:
        return None
    return ExpectedLine(
        key=line_key(LineKind.ITEM, f"setup:{subscription.id}"),
        customer_id=subscription.customer_id,
        subscription_id=subscription.id,
        kind=LineKind.ITEM,
        description=f"Setup fee: {plan.name}",
        currency=fee.currency.upper(),
        amount=fee.minor,
        quantity=1,
        period=str(period),
    )
