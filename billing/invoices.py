"""Invoices: what Stripe billed our customers, kept so the portal can list them.

Stripe owns invoices; we keep a copy of each one as Stripe last described it (status,
amounts in minor units, the hosted invoice page and PDF). The webhook handler refetches
an invoice on each invoice event it handles and passes it to :meth:`Invoices.record`, which
inserts or updates it. Events arrive at least once and in any order, so recording is
idempotent and never moves an invoice back (say, from paid to open): Stripe only moves
invoices forward, so a copy that says otherwise is older than ours.

Whose invoice it is: the customer linked to Stripe's ``cus_...``
(``Customer.stripe_customer_id``); failing that, the ``dockyard_customer_id`` in the
invoice's metadata or in the (expanded) Stripe customer's. An invoice of a customer we
do not know is logged and skipped, not an error: Stripe's account may bill others too.

Periods are Stripe's ``period_start`` / ``period_end``. For a subscription invoice they
look back one period (the time its pending invoice items were collected, e.g. last
month's support hours); each line item carries its own service period.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import stripe
from sqlalchemy.ext.asyncio import AsyncSession

from billing.context import BillingContext
from billing.errors import InvoiceNotFound
from billing.models import Customer, Invoice, InvoiceStatus
from billing.repository.customers import CustomerRepository
from billing.repository.invoices import InvoiceRepository
from billing.repository.subscriptions import SubscriptionRepository

__all__ = ["CUSTOMER_METADATA_KEY", "InvoiceNotFound", "Invoices", "stripe_subscription_id"]

log = logging.getLogger(__name__)

CUSTOMER_METADATA_KEY = "dockyard_customer_id"  # what we put in every Stripe object's metadata

# Stripe moves an invoice only forward: draft → open → uncollectible → paid | void (open
# may go straight to paid or void). A refetch that says "back" is a stale one.
_STEP = {
    InvoiceStatus.DRAFT.value: 0,
    InvoiceStatus.OPEN.value: 1,
    InvoiceStatus.UNCOLLECTIBLE.value: 2,
    InvoiceStatus.PAID.value: 3,
    InvoiceStatus.VOID.value: 3,
}
_STATUSES = frozenset(_STEP)


def _goes_back(stored: str, refetched: str) -> bool:
    """Whether ``refetched`` is behind ``stored`` (or beside it: paid and void are both
    final), so the refetched copy is older than ours."""
    if stored == refetched or stored not in _STEP:
        return False
    return _STEP[refetched] <= _STEP[stored]


def _expandable_id(value: object) -> str | None:
    """An expandable field: an id string, or the expanded object."""
    if value is None or isinstance(value, str):
        return value
    object_id = getattr(value, "id", None)
    return object_id if isinstance(object_id, str) else None


def stripe_subscription_id(invoice: stripe.Invoice) -> str | None:
    """The Stripe subscription (``sub_...``) an invoice bills, from ``parent``."""
    parent = invoice.parent
    details = parent.subscription_details if parent is not None else None
    return _expandable_id(details.subscription) if details is not None else None


def _time(epoch: int | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None


def _metadata_value(obj: object, key: str) -> str | None:
    metadata = getattr(obj, "metadata", None)
    if metadata is None:
        return None
    try:
        value = metadata[key]
    except (KeyError, TypeError):
        return None
    return (value.strip() or None) if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class _Facts:
    """The fields we keep, read and checked from a Stripe invoice."""

    id: str
    stripe_customer_id: str | None
    stripe_subscription_id: str | None
    number: str | None
    status: str
    currency: str
    total: int
    amount_due: int
    amount_paid: int
    amount_remaining: int
    hosted_invoice_url: str | None
    invoice_pdf: str | None
    period_start: datetime
    period_end: datetime
    created_at: datetime
    due_date: datetime | None
    paid_at: datetime | None


class _Malformed(ValueError):
    pass


def _int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Malformed(f"{name} is {value!r}, not an integer")
    return value


def _moment(value: object, name: str) -> datetime:
    moment = _optional_moment(value, name)
    if moment is None:
        raise _Malformed(f"{name} is missing")
    return moment


def _optional_moment(value: object, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return _time(_int(value, name))
    except (OverflowError, OSError):
        raise _Malformed(f"{name} {value!r} is not a time") from None


def _optional_text(value: object, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    raise _Malformed(f"{name} is {value!r}, not text")


def _facts(invoice: stripe.Invoice) -> _Facts:
    """Read what we keep; raises _Malformed for anything a real invoice never looks like."""
    try:
        invoice_id = invoice.id
        if not isinstance(invoice_id, str) or not invoice_id or len(invoice_id) > 64:
            raise _Malformed(f"id {invoice_id!r}")
        status = invoice.status
        if status not in _STATUSES:
            raise _Malformed(f"status {status!r} is not one of {sorted(_STATUSES)}")
        currency = invoice.currency
        if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
            raise _Malformed(f"currency {currency!r}")
        number = _optional_text(invoice.number, "number")
        if number is not None and len(number) > 64:
            raise _Malformed(f"number {number!r} is too long")
        transitions = invoice.status_transitions
        return _Facts(
            id=invoice_id,
            stripe_customer_id=_expandable_id(invoice.customer),
            stripe_subscription_id=stripe_subscription_id(invoice),
            number=number,
            status=status,
            currency=currency.upper(),
            total=_int(invoice.total, "total"),
            amount_due=_int(invoice.amount_due, "amount_due"),
            amount_paid=_int(invoice.amount_paid, "amount_paid"),
            amount_remaining=_int(invoice.amount_remaining, "amount_remaining"),
            hosted_invoice_url=_optional_text(invoice.hosted_invoice_url, "hosted_invoice_url"),
            invoice_pdf=_optional_text(invoice.invoice_pdf, "invoice_pdf"),
            period_start=_moment(invoice.period_start, "period_start"),
            period_end=_moment(invoice.period_end, "period_end"),
            created_at=_moment(invoice.created, "created"),
            due_date=_optional_moment(invoice.due_date, "due_date"),
            paid_at=_optional_moment(
                transitions.paid_at if transitions is not None else None, "paid_at"
            ),
        )
    except (AttributeError, KeyError) as missing:  # a field every invoice has is absent
        raise _Malformed(f"missing field {missing}") from None


class Invoices:
    def __init__(self, ctx: BillingContext) -> None:
        self.ctx = ctx

    # -- reading ------------------------------------------------------------------------

    async def for_customer(
        self, customer_id: str, session: AsyncSession | None = None
    ) -> list[Invoice]:
        """A customer's invoices, newest first; raises UnknownCustomer for no such customer."""
        async with self.ctx.reading(session) as reading:
            repo = InvoiceRepository(reading)
            await CustomerRepository(reading).get(customer_id)
            return await repo.for_customer(customer_id)

    async def get(self, invoice_id: str, customer_id: str | None = None) -> Invoice:
        """One invoice; with ``customer_id``, only if it is that customer's.

        Raises InvoiceNotFound alike for an unknown invoice and another customer's.
        """
        async with self.ctx.sessions() as session:
            invoice = await InvoiceRepository(session).get(invoice_id)
        if invoice is None or (customer_id is not None and invoice.customer_id != customer_id):
            raise InvoiceNotFound(invoice_id)
        return invoice

    # -- recording (the webhook handler) --------------------------------------------------

    async def record(self, session: AsyncSession, stripe_invoice: stripe.Invoice) -> Invoice | None:
        """Insert or update our copy of ``stripe_invoice`` (refetched from Stripe) in the
        caller's transaction. Returns it, or None when skipped: an invoice of a customer
        we do not know, or one that is malformed (both logged, neither an error)."""
        try:
            facts = _facts(stripe_invoice)
        except _Malformed as error:
            invoice_id = getattr(stripe_invoice, "id", None)
            log.warning("Stripe invoice %s is malformed (%s): ignored", invoice_id, error)
            return None
        repo = InvoiceRepository(session)
        customer = await self._owner(repo, facts, stripe_invoice)
        if customer is None:
            return None
        subscription_id = await self._subscription(repo, facts, customer)
        now = self.ctx.clock()
        invoice = await repo.get(facts.id)
        if invoice is None:
            invoice = Invoice(id=facts.id, customer_id=customer.id)
            repo.add(invoice)
        elif _goes_back(invoice.status, facts.status):
            log.info(
                "Stripe invoice %s is %s here; an older copy says %s: ours kept",
                facts.id,
                invoice.status,
                facts.status,
            )
            return invoice
        elif invoice.customer_id != customer.id:
            log.warning(
                "Stripe invoice %s moves from customer %s to %s (their Stripe link changed)",
                facts.id,
                invoice.customer_id,
                customer.id,
            )
        invoice.customer_id = customer.id
        invoice.subscription_id = subscription_id
        invoice.number = facts.number
        invoice.status = facts.status
        invoice.currency = facts.currency
        invoice.total = facts.total
        invoice.amount_due = facts.amount_due
        invoice.amount_paid = facts.amount_paid
        invoice.amount_remaining = facts.amount_remaining
        invoice.hosted_invoice_url = facts.hosted_invoice_url
        invoice.invoice_pdf = facts.invoice_pdf
        invoice.period_start = facts.period_start
        invoice.period_end = facts.period_end
        invoice.created_at = facts.created_at
        invoice.due_date = facts.due_date
        invoice.paid_at = facts.paid_at
        invoice.updated_at = now
        return invoice

    async def _owner(
        self, repo: InvoiceRepository, facts: _Facts, stripe_invoice: stripe.Invoice
    ) -> Customer | None:
        """Our customer for the invoice: by the Stripe link, else by metadata."""
        stripe_customer = facts.stripe_customer_id
        customers = CustomerRepository(repo.session)
        linked = await customers.by_stripe_id(stripe_customer) if stripe_customer else []
        claimed = _metadata_value(stripe_invoice, CUSTOMER_METADATA_KEY) or _metadata_value(
            stripe_invoice.customer, CUSTOMER_METADATA_KEY
        )
        if len(linked) > 1:
            log.warning(
                "Stripe customer %s is linked to several customers (%s): invoice %s ignored",
                stripe_customer,
                ", ".join(customer.id for customer in linked),
                facts.id,
            )
            return None
        if linked:
            if claimed is not None and claimed != linked[0].id:
                log.warning(
                    "Stripe invoice %s names customer %s in its metadata, but %s belongs to %s",
                    facts.id,
                    claimed,
                    stripe_customer,
                    linked[0].id,
                )
            return linked[0]
        customer = await customers.find(claimed) if claimed is not None else None
        if customer is None:
            log.warning(
                "Stripe invoice %s is for Stripe customer %s, not one of ours: ignored",
                facts.id,
                stripe_customer,
            )
            return None
        if customer.stripe_customer_id is not None and customer.stripe_customer_id != (
            stripe_customer
        ):
            log.warning(
                "Stripe invoice %s names customer %s, who is Stripe's %s, not %s: ignored",
                facts.id,
                customer.id,
                customer.stripe_customer_id,
                stripe_customer,
            )
            return None
        return customer

    async def _subscription(
        self, repo: InvoiceRepository, facts: _Facts, customer: Customer
    ) -> str | None:
        """Our subscription id for the invoice's Stripe subscription, if it is this
        customer's."""
        if facts.stripe_subscription_id is None:
            return None
        subscription = await SubscriptionRepository(repo.session).by_stripe_id(
            facts.stripe_subscription_id
        )
        if subscription is None:
            log.info(
                "Stripe invoice %s bills subscription %s, which is not in the ledger",
                facts.id,
                facts.stripe_subscription_id,
            )
            return None
        if subscription.customer_id != customer.id:
            log.warning(
                "Stripe invoice %s of customer %s bills subscription %s of customer %s",
                facts.id,
                customer.id,
                subscription.id,
                subscription.customer_id,
            )
            return None
        return subscription.id
