"""The outbox's messages: one small class per Stripe mutation, each naming its own key.

A message is what the ledger decided (ids, amounts, moments), never the Stripe request:
the request is built from it by ``billing.outbox.requests`` at the first attempt and
frozen there, so a retry sends the same bytes under the same idempotency key.

Every message belongs to a customer: a customer's messages are one ordered stream, sent in
the order they were written (``billing.repository.outbox``).
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any, ClassVar

from billing.errors import UnreadableMessage


class OutboxKind(enum.StrEnum):
    CUSTOMER_CREATE = "customer.create"
    SUBSCRIPTION_CREATE = "subscription.create"
    SUBSCRIPTION_UPDATE = "subscription.update"  # plan change, cancel at a moment
    SUBSCRIPTION_CANCEL = "subscription.cancel"  # immediately
    METER_EVENT = "meter_event"  # billable support minutes
    INVOICE_ITEM = "invoice_item"  # one-off services, agreed extra work, fees
    USAGE_ITEM = "usage_item"  # a month's minutes of a plan without a metered price
    INVOICE_CREATE = "invoice.create"  # a final invoice when no subscription invoice will come


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """What every message has: the customer whose stream it is in."""

    kind: ClassVar[OutboxKind]
    customer_id: str

    def key(self) -> str:
        """Stripe's Idempotency-Key (and a meter event's identifier): names the change."""
        raise NotImplementedError

    def payload(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerCreate(Message):
    kind: ClassVar[OutboxKind] = OutboxKind.CUSTOMER_CREATE
    email: str
    name: str
    company: str = ""

    def key(self) -> str:
        return f"customer.create:{self.customer_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionCreate(Message):
    kind: ClassVar[OutboxKind] = OutboxKind.SUBSCRIPTION_CREATE
    subscription_id: str
    plan_id: str
    plan_version: int
    trial_end: int | None = None  # epoch seconds

    def key(self) -> str:
        return f"subscription.create:{self.subscription_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionUpdate(Message):
    kind: ClassVar[OutboxKind] = OutboxKind.SUBSCRIPTION_UPDATE
    subscription_id: str
    number: int  # the subscription's n-th update: each is its own change
    plan_id: str
    plan_version: int
    # The plan it changes from (the same plan when only the cancellation changes); None
    # in rows written before it was recorded. The only record of a Checkout
    # subscription's first plan (billing.reconcile.expected.history).
    from_plan_id: str | None = None
    from_plan_version: int | None = None
    proration_behavior: str = "none"
    cancel_at: int | None = None  # epoch seconds; None clears a scheduled cancellation
    changed_at: int | None = None  # when Dockyard made the change: Stripe prorates from it

    def key(self) -> str:
        return f"subscription.update:{self.subscription_id}:{self.number}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionCancel(Message):
    kind: ClassVar[OutboxKind] = OutboxKind.SUBSCRIPTION_CANCEL
    subscription_id: str

    def key(self) -> str:
        return f"subscription.cancel:{self.subscription_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterEvent(Message):
    kind: ClassVar[OutboxKind] = OutboxKind.METER_EVENT
    entry_id: str
    subscription_id: str | None = None
    minutes: int
    # When the usage is to count: inside the Stripe period it is to be billed in. The
    # sender moves it into Stripe's accepted window at the first attempt (requests.py).
    timestamp: int

    def key(self) -> str:
        return f"meter:{self.entry_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceItem(Message):
    kind: ClassVar[OutboxKind] = OutboxKind.INVOICE_ITEM
    entry_id: str  # a support entry's id, or "setup:<sub>", "cancel-<sub>"...
    amount_minor: int
    currency: str
    description: str
    period: str  # YYYY-MM: the invoice it belongs on

    def key(self) -> str:
        return f"invoice_item:{self.entry_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageItem(Message):
    """A closed month's billable minutes of a subscription that has no metered price (a
    yearly hour bank), billed as its metered price would bill them: ``increments`` at
    ``increment_price`` (minor units, a decimal string when the increment's price is not
    whole), over the month."""

    kind: ClassVar[OutboxKind] = OutboxKind.USAGE_ITEM
    subscription_id: str
    period: str  # YYYY-MM: the month whose minutes these are
    minutes: int
    increments: int
    increment_price: str
    currency: str
    description: str

    def key(self) -> str:
        return f"usage_item:{self.subscription_id}:{self.period}"


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceCreate(Message):
    """Invoice the customer's pending items now: a subscription ended with something owed,
    and no subscription invoice will come to carry it."""

    kind: ClassVar[OutboxKind] = OutboxKind.INVOICE_CREATE
    reference: str  # what it closes, e.g. "final:<subscription id>"
    description: str

    def key(self) -> str:
        return f"invoice.create:{self.reference}"


MESSAGE_TYPES: dict[str, type[Message]] = {
    cls.kind.value: cls
    for cls in (
        CustomerCreate,
        SubscriptionCreate,
        SubscriptionUpdate,
        SubscriptionCancel,
        MeterEvent,
        InvoiceItem,
        UsageItem,
        InvoiceCreate,
    )
}


def read_message(kind: str, payload: dict[str, Any], customer_id: str) -> Message:
    """The typed message a stored row holds; fields it does not know are ignored, so rows
    written before a field was added still read (with the field's default)."""
    cls = MESSAGE_TYPES.get(kind)
    if cls is None:
        raise UnreadableMessage(f"unknown outbox kind {kind!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in payload.items() if k in names}
    values["customer_id"] = customer_id or str(payload.get("customer_id", ""))
    if cls is SubscriptionUpdate:
        values.setdefault("number", 0)
    try:
        return cls(**values)
    except TypeError as error:
        raise UnreadableMessage(f"outbox {kind} payload {payload!r}: {error}") from None
