"""Stripe's invoices and their lines, as JSON, in the reconciliation's vocabulary (no I/O).

The reader hands over the JSON Stripe sent, not SDK objects: building ``StripeObject``s
took three quarters of the time of a read (tests/benchmarks/test_reconcile_bench.py).

Which kind a line is, from its ``parent`` (API 2025-03-31.basil and later):

- ``proration`` true (on ``subscription_item_details`` or ``invoice_item_details``):
  PRORATION of the subscription named there; a plan change's credit and charge lines share
  the key, so the matcher nets them.
- ``subscription_item_details``: USAGE when the line's price is metered, else FEE.
- ``invoice_item_details`` or no parent: ITEM, keyed by ``metadata.dockyard_entry_id``;
  but USAGE when its metadata names a ``dockyard_usage_period``: a month's minutes of a
  plan without a metered price, invoiced as an item (billing/support_time/usage_invoicing.py).

Metered or not is decided by the price (``pricing.price_details.price``): its id in the set
of metered price ids read from Stripe once per run (``recurring.usage_type == "metered"``,
see ``stripe_reader.metered_price_ids``), or, when the price is expanded, the price itself.
Not by quantity (a fee can have several seats; a usage line can bill one increment) and not
by description (Stripe's wording, translated into the customer's language).

A line's period is the month (UTC) its service period starts in: a fee billed in advance
on 1 December is December's fee; usage billed then is November's.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple

from billing.reconcile.lines import ActualInvoice, ActualLine, LineKind, line_key, month_of
from billing.reconcile.stripe.ids import ENTRY_KEY, CustomerIndex

Json = Mapping[str, Any]

USAGE_PERIOD_KEY = "dockyard_usage_period"  # billing.outbox.requests sets it on usage items


def at(obj: object, *path: str) -> Any:
    """``obj[path[0]][path[1]]...``, None as soon as a step is missing or null."""
    for name in path:
        if not isinstance(obj, dict):  # JSON's objects are dicts (not any Mapping: faster)
            return None
        obj = obj.get(name)
    return obj


_NOTHING: Json = {}  # read only: what a missing object reads as


def metadata_of(obj: object) -> Mapping[str, str]:
    # Without ``at``: asked up to three times per line.
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    return metadata if isinstance(metadata, dict) else _NOTHING


def id_of(value: object) -> str | None:
    """An expandable field: an id, or the expanded object's id."""
    found = value.get("id") if isinstance(value, dict) else value
    return found if isinstance(found, str) else None


@lru_cache(maxsize=1024)
def moment(epoch: int) -> datetime:
    """Cached: most lines of a month share their period's bounds (datetimes are immutable)."""
    return datetime.fromtimestamp(epoch, UTC)


def is_metered(price: object, metered_prices: Collection[str]) -> bool:
    """Whether an invoice line's price (an id or an expanded Price) bills metered usage."""
    if id_of(price) in metered_prices:
        return True
    lookup_key = at(price, "lookup_key")
    # Our metered prices' lookup keys end so (stripe_catalog.minutes_lookup_key).
    return at(price, "recurring", "usage_type") == "metered" or (
        isinstance(lookup_key, str) and lookup_key.endswith(":minutes")
    )


class LineSource(NamedTuple):
    """What generated a line, read from its ``parent`` and ``pricing`` (a tuple: one is
    built per line Stripe sends)."""

    kind: LineKind
    stripe_subscription_id: str | None
    invoice_item_id: str | None
    price_id: str | None


def line_source(line: Json, metered_prices: Collection[str]) -> LineSource:
    # Spelled out with dict lookups rather than ``at``: this runs for every line.
    parent = line.get("parent")
    if type(parent) is not dict:
        parent = _NOTHING
    by_subscription = parent.get("subscription_item_details")
    details = by_subscription or parent.get("invoice_item_details")
    if type(details) is not dict:
        details = _NOTHING
    pricing = line.get("pricing")
    price_details = pricing.get("price_details") if type(pricing) is dict else None
    price = price_details.get("price") if type(price_details) is dict else None
    if details.get("proration"):
        kind = LineKind.PRORATION
    elif by_subscription is not None:
        kind = LineKind.USAGE if is_metered(price, metered_prices) else LineKind.FEE
    elif metadata_of(line).get(USAGE_PERIOD_KEY):
        kind = LineKind.USAGE
    else:
        kind = LineKind.ITEM
    item = details.get("invoice_item")
    return LineSource(
        kind,
        id_of(details.get("subscription")),
        item if isinstance(item, str) else None,
        id_of(price),
    )


def entry_id(line: Json) -> str | None:
    """Our ledger entry id on a line (Stripe copies an invoice item's metadata to it)."""
    return metadata_of(line).get(ENTRY_KEY) or None


@lru_cache(maxsize=1024)
def month_at(epoch: int) -> str:
    """``month_of(moment(epoch))``, cached like :func:`moment`."""
    return month_of(moment(epoch))


def starts_in(line: Json, bounds: tuple[int, int]) -> bool:
    """Whether the line's service period starts in [bounds[0], bounds[1]) (epoch seconds)."""
    start: int = line["period"]["start"]
    return bounds[0] <= start < bounds[1]


def actual_line(
    line: Json,
    invoice_id: str,
    source: LineSource,
    customers: CustomerIndex,
    entry: str | None,
) -> ActualLine:
    """One line keyed by our ids; ``entry`` is the ledger entry an ITEM line bills."""
    period = line["period"]
    start = period["start"]
    kind = source.kind
    subscription = customers.subscription(source.stripe_subscription_id, metadata_of(line))
    key: str | None = None
    if kind is LineKind.ITEM:
        key = line_key(LineKind.ITEM, entry) if entry else None
    elif subscription is not None:
        key = line_key(kind, subscription, month_at(start))
    quantity = line.get("quantity")
    return ActualLine(  # positional: it is built for every line, keywords cost
        key,
        invoice_id,
        line["id"],
        kind,
        line.get("description") or "",
        line["currency"].upper(),
        line["amount"],
        quantity if isinstance(quantity, int) else 0,
        moment(start),
        moment(period["end"]),
        source.price_id,
        subscription,
    )


def credit_notes_amount(invoice: Json) -> int:
    """What the invoice says was credited (before and after payment); 0 when nothing."""
    return sum(
        invoice.get(name) or 0
        for name in ("pre_payment_credit_notes_amount", "post_payment_credit_notes_amount")
    )


def actual_invoice(
    invoice: Json,
    lines: tuple[ActualLine, ...],
    customers: CustomerIndex,
    *,
    credited: int,
    credit_notes: tuple[str, ...] = (),
) -> ActualInvoice:
    stripe_customer = id_of(invoice["customer"]) or ""
    details = at(invoice, "parent", "subscription_details")
    sources = (metadata_of(invoice), metadata_of(details))
    subscription = customers.subscription(id_of(at(details, "subscription")), *sources)
    customer = customers.customer(
        stripe_customer, *sources, metadata_of(invoice["customer"])
    ) or customers.owner(subscription)
    due_date = invoice.get("due_date")
    return ActualInvoice(
        id=invoice["id"],
        number=invoice.get("number"),
        customer_id=customer,
        stripe_customer_id=stripe_customer,
        subscription_id=subscription,
        status=invoice.get("status") or "",
        currency=invoice["currency"].upper(),
        total=invoice["total"],
        amount_paid=invoice["amount_paid"],
        amount_remaining=invoice["amount_remaining"],
        credited=credited,
        created=moment(invoice["created"]),
        due_date=moment(due_date) if due_date is not None else None,
        lines=lines,
        credit_notes=credit_notes,
    )
