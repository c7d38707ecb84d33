"""From a message to the exact Stripe request, built once at the first attempt.

``build`` may read (prices, the subscription's items, our ids) and decides everything that
depends on the moment it runs (a plan change's ``proration_date``, a meter event's
timestamp). The result is stored on the row before the call is made, and every retry
sends it unchanged: Stripe refuses an idempotency key reused with other parameters
(https://docs.stripe.com/api/idempotent_requests).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import stripe

from billing.errors import InvalidPeriod, StripeFailure, Waiting
from billing.outbox.messages import (
    CustomerCreate,
    InvoiceCreate,
    InvoiceItem,
    Message,
    MeterEvent,
    SubscriptionCancel,
    SubscriptionCreate,
    SubscriptionUpdate,
    UsageItem,
)
from billing.periods import Period
from billing.repository.customers import CustomerRepository
from billing.repository.outbox import OutboxRepository
from billing.repository.subscriptions import SubscriptionRepository
from billing.stripe.catalog import (
    METER_CUSTOMER_KEY,
    METER_EVENT_NAME,
    METER_VALUE_KEY,
    find_prices,
)

# Stripe takes meter events stamped up to 35 days back and 5 minutes ahead
# (https://docs.stripe.com/api/billing/meter-event/create); a day's margin keeps a retry
# after a short outage inside the window.
METER_WINDOW = timedelta(days=34)


@dataclass(frozen=True, slots=True)
class Request:
    """One Stripe call: an SDK operation, the object it acts on, and its parameters."""

    op: str
    params: dict[str, Any]
    object_id: str | None = None
    # A rebuilt request's own Idempotency-Key (:func:`restamp`); None: the row's key.
    idempotency_key: str | None = None

    def to_json(self) -> dict[str, Any]:
        found = {"op": self.op, "object_id": self.object_id, "params": self.params}
        return found if self.idempotency_key is None else {**found, "key": self.idempotency_key}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Request:
        return cls(str(data["op"]), dict(data["params"]), data.get("object_id"), data.get("key"))


@dataclass(frozen=True, slots=True)
class AlreadyDone:
    """Nothing to send: Stripe has the object already (e.g. Checkout made it)."""

    stripe_id: str


async def build(
    repo: OutboxRepository, client: stripe.StripeClient, message: Message, now: datetime
) -> Request | AlreadyDone:
    """The request ``message`` becomes at ``now``; ``repo``'s transaction also records what
    building decided (a late meter event's entry billed in the open period)."""
    if isinstance(message, CustomerCreate):
        return await _customer_create(repo, message)
    if isinstance(message, SubscriptionCreate):
        return await _subscription_create(repo, client, message)
    if isinstance(message, SubscriptionUpdate):
        return await _subscription_update(repo, client, message)
    if isinstance(message, SubscriptionCancel):
        stripe_id = await _stripe_subscription(repo, message.subscription_id)
        # Usage and items up to now go on a final invoice at once: no later
        # invoice of this subscription would carry them.
        return Request("subscriptions.cancel", {"invoice_now": True, "prorate": False}, stripe_id)
    if isinstance(message, MeterEvent):
        return await _meter_event(repo, message, now)
    if isinstance(message, InvoiceItem):
        return await _invoice_item(repo, message)
    if isinstance(message, UsageItem):
        return await _usage_item(repo, message)
    if isinstance(message, InvoiceCreate):
        return Request(
            "invoices.create",
            {
                "customer": await _stripe_customer(repo, message.customer_id),
                "pending_invoice_items_behavior": "include",
                "collection_method": "charge_automatically",
                "auto_advance": True,  # Stripe finalises it after an hour, then charges
                "description": message.description,
                "metadata": {
                    "dockyard_customer_id": message.customer_id,
                    "dockyard_reference": message.reference,
                },
            },
        )
    raise StripeFailure(f"no request for outbox kind {message.kind}", permanent=True)


def customer_params(message: CustomerCreate) -> dict[str, Any]:
    """customers.create for our customer: shared with Checkout, which creates the customer
    under the same key before it opens, so the two calls are one customer in Stripe."""
    metadata = {"dockyard_customer_id": message.customer_id}
    if message.company:
        metadata["dockyard_company"] = message.company
    return {"email": message.email, "name": message.name, "metadata": metadata}


async def _customer_create(
    repo: OutboxRepository, message: CustomerCreate
) -> Request | AlreadyDone:
    customer = await CustomerRepository(repo.session).find(message.customer_id)
    if customer is None:
        raise StripeFailure(f"no customer {message.customer_id!r} in Dockyard", permanent=True)
    if customer.stripe_customer_id:  # made before Checkout opened
        return AlreadyDone(customer.stripe_customer_id)
    return Request("customers.create", customer_params(message))


async def _subscription_create(
    repo: OutboxRepository, client: stripe.StripeClient, message: SubscriptionCreate
) -> Request | AlreadyDone:
    subscription = await SubscriptionRepository(repo.session).lookup(message.subscription_id)
    if subscription is None:
        raise StripeFailure(f"no subscription {message.subscription_id!r}", permanent=True)
    if subscription.stripe_subscription_id:  # created by Checkout
        return AlreadyDone(subscription.stripe_subscription_id)
    customer = await _stripe_customer(repo, message.customer_id)
    fee, minutes = await find_prices(client, message.plan_id, message.plan_version)
    items = [{"price": price} for price in (fee, minutes) if price]
    if not items:
        raise StripeFailure(
            f"no Stripe price for {message.plan_id} v{message.plan_version}:"
            " run `dockyard plans sync`",
            permanent=False,
        )
    params: dict[str, Any] = {
        "customer": customer,
        "items": items,
        "billing_cycle_anchor_config": {"day_of_month": 1, "hour": 0, "minute": 0, "second": 0},
        "proration_behavior": "create_prorations",
        "metadata": {
            "dockyard_subscription_id": message.subscription_id,
            "dockyard_customer_id": message.customer_id,
            "dockyard_plan_id": message.plan_id,
            "dockyard_plan_version": str(message.plan_version),
        },
    }
    if message.trial_end:
        params["trial_end"] = message.trial_end
    return Request("subscriptions.create", params)


async def _subscription_update(
    repo: OutboxRepository, client: stripe.StripeClient, message: SubscriptionUpdate
) -> Request:
    stripe_id = await _stripe_subscription(repo, message.subscription_id)
    current = await client.v1.subscriptions.retrieve_async(stripe_id)
    fee, minutes = await find_prices(client, message.plan_id, message.plan_version)
    items: list[dict[str, Any]] = []
    had_minutes = False
    for item in current["items"].data:
        metered = (item.price.lookup_key or "").endswith(":minutes")
        had_minutes = had_minutes or metered
        wanted = minutes if metered else fee
        if wanted is None:
            items.append({"id": item.id, "deleted": True})
        elif wanted != item.price.id:
            items.append({"id": item.id, "price": wanted})
    if minutes and not had_minutes:
        items.append({"price": minutes})
    behaviour = message.proration_behavior or "none"
    params: dict[str, Any] = {
        "proration_behavior": behaviour,
        "cancel_at": message.cancel_at or "",
        "metadata": {
            "dockyard_plan_id": message.plan_id,
            "dockyard_plan_version": str(message.plan_version),
        },
    }
    if items:
        params["items"] = items
    if behaviour != "none" and message.changed_at:
        params["proration_date"] = proration_date(message.changed_at, current)
    return Request("subscriptions.update", params, stripe_id)


async def _meter_event(repo: OutboxRepository, message: MeterEvent, now: datetime) -> Request:
    customer = await _stripe_customer(repo, message.customer_id)
    at = await meter_timestamp(repo, message, now)
    return Request(
        "meter_events.create",
        {
            "event_name": METER_EVENT_NAME,
            "identifier": message.key(),
            "payload": {METER_CUSTOMER_KEY: customer, METER_VALUE_KEY: str(message.minutes)},
            "timestamp": int(at.timestamp()),
        },
    )


async def meter_timestamp(repo: OutboxRepository, message: MeterEvent, now: datetime) -> datetime:
    """When the usage counts at Stripe: the ledger's moment, unless Stripe would not bill it
    there. Then now, in the period still open, where the entry is billed visibly late.

    Stripe would not bill it in a period its invoice closed (a meter event that arrives
    after the finalisation grace lands on no invoice), before its subscription existed
    in Stripe, or outside the meter's 35-day window.
    """
    wanted = datetime.fromtimestamp(message.timestamp, now.tzinfo)
    earliest = now - METER_WINDOW
    subscription = (
        await SubscriptionRepository(repo.session).lookup(message.subscription_id)
        if message.subscription_id
        else None
    )
    if subscription is not None and subscription.stripe_linked_at is not None:
        earliest = max(earliest, subscription.stripe_linked_at)
    closed = subscription is not None and await repo.period_closed(
        subscription.id, str(Period.of(wanted))
    )
    if closed or wanted < earliest or wanted > now:
        await repo.bill_entry_in(message.entry_id, str(Period.of(now)))
        return now
    return wanted


async def restamp(
    repo: OutboxRepository, message: Message, frozen: Request, now: datetime
) -> Request | None:
    """A meter event's frozen request that Stripe would no longer bill where it is stamped,
    rebuilt: its first attempt failed and, while it was retried, the period it is stamped
    in was invoiced (closed), so usage arriving now would land on no invoice. None when the
    frozen request still counts (or is no meter event): it is resent as it is.

    The rebuilt event is stamped now, in the open period, where its entry is billed (late,
    as :func:`meter_timestamp` does at a first attempt), and frozen in turn. It goes under
    an Idempotency-Key of its own, since Stripe refuses a key reused with other parameters;
    its ``identifier`` stays, so if the first attempt did reach Stripe after all, Stripe's
    deduplication drops this one (https://docs.stripe.com/api/billing/meter-event/create).
    """
    if not isinstance(message, MeterEvent) or frozen.op != "meter_events.create":
        return None
    stamped = datetime.fromtimestamp(int(frozen.params["timestamp"]), now.tzinfo)
    if not message.subscription_id or Period.of(stamped) >= Period.of(now):
        return None
    if not await repo.period_closed(message.subscription_id, str(Period.of(stamped))):
        return None
    period = Period.of(now)
    await repo.bill_entry_in(message.entry_id, str(period))
    params = {**frozen.params, "timestamp": int(now.timestamp())}
    return Request(frozen.op, params, frozen.object_id, f"{message.key()}:billed-in:{period}")


def _item_period(text: str, what: str) -> tuple[Period, dict[str, int]]:
    """An item's service month, and Stripe's ``period`` for it: as a subscription line
    shows its cycle (without it Stripe dates the line when the item arrives, maybe in the
    next month)."""
    try:
        period = Period.parse(text)
    except InvalidPeriod as error:
        raise StripeFailure(f"{what}: {error}", permanent=True) from error
    return period, {"start": int(period.start.timestamp()), "end": int(period.end.timestamp())}


async def _invoice_item(repo: OutboxRepository, message: InvoiceItem) -> Request:
    customer = await _stripe_customer(repo, message.customer_id)
    period, span = _item_period(message.period, "invoice item")
    return Request(
        "invoice_items.create",
        {
            "customer": customer,
            "amount": message.amount_minor,
            "currency": message.currency.lower(),
            "description": message.description,
            "period": span,
            "metadata": {
                "dockyard_customer_id": message.customer_id,
                "dockyard_entry_id": message.entry_id,
                "dockyard_period": str(period),
            },
        },
    )


async def _usage_item(repo: OutboxRepository, message: UsageItem) -> Request:
    customer = await _stripe_customer(repo, message.customer_id)
    period, span = _item_period(message.period, "usage item")
    return Request(
        "invoice_items.create",
        {
            "customer": customer,
            # Stripe makes the amount: quantity x unit price, rounded to the minor unit, as
            # a metered price's line (https://docs.stripe.com/api/invoiceitems/create).
            "quantity": message.increments,
            "unit_amount_decimal": message.increment_price,
            "currency": message.currency.lower(),
            "description": message.description,
            "period": span,
            "metadata": {
                "dockyard_customer_id": message.customer_id,
                "dockyard_subscription_id": message.subscription_id,
                "dockyard_usage_period": str(period),
            },
        },
    )


async def _stripe_customer(repo: OutboxRepository, customer_id: str) -> str:
    customer = await CustomerRepository(repo.session).find(customer_id)
    if customer is None:
        raise StripeFailure(f"no customer {customer_id!r} in Dockyard", permanent=True)
    if customer.stripe_customer_id is None:
        raise Waiting(f"customer {customer_id} is not in Stripe yet")
    return customer.stripe_customer_id


async def _stripe_subscription(repo: OutboxRepository, subscription_id: str) -> str:
    subscription = await SubscriptionRepository(repo.session).lookup(subscription_id)
    if subscription is None:
        raise StripeFailure(f"no subscription {subscription_id!r} in Dockyard", permanent=True)
    if subscription.stripe_subscription_id is None:
        raise Waiting(f"subscription {subscription_id} is not in Stripe yet")
    return subscription.stripe_subscription_id


def proration_date(changed_at: int, subscription: stripe.Subscription) -> int:
    """The moment Stripe prorates a plan change from: when Dockyard made it (the outbox may
    get through minutes or hours later), which Stripe accepts only within the
    subscription's current period.

    A change held in the outbox across a period end (an outage at the turn of the month)
    is prorated from the start of the current period: that period is billed on the new
    plan in full, as Dockyard bills it, and the part of the earlier period after the
    change, which Stripe no longer prorates, is left for the reconciliation of that month
    to report as a missing proration.
    """
    starts = [int(item.current_period_start) for item in subscription["items"].data]
    return max([changed_at, *starts])


async def perform(
    client: stripe.StripeClient, request: Request, options: stripe.RequestOptions
) -> str:
    """Make the call; the id of what Stripe made (a meter event's identifier)."""
    p: Any = request.params
    v1 = client.v1
    match request.op:
        case "customers.create":
            return (await v1.customers.create_async(p, options)).id
        case "subscriptions.create":
            return (await v1.subscriptions.create_async(p, options)).id
        case "subscriptions.update":
            assert request.object_id is not None
            return (await v1.subscriptions.update_async(request.object_id, p, options)).id
        case "subscriptions.cancel":
            assert request.object_id is not None
            return (await v1.subscriptions.cancel_async(request.object_id, p, options)).id
        case "meter_events.create":
            return (await v1.billing.meter_events.create_async(p, options)).identifier
        case "invoice_items.create":
            return str((await v1.invoice_items.create_async(p, options)).id)
        case "invoices.create":
            return str((await v1.invoices.create_async(p, options)).id)
    raise StripeFailure(f"unknown Stripe operation {request.op!r}", permanent=True)
