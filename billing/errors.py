"""Errors raised by billing.

BillingError                  base of everything this package raises
├── UnknownCustomer / UnknownSubscription / UnknownEntry
├── InvoiceNotFound           no such invoice, or not the asking customer's
├── InvalidTransition         e.g. resuming a cancelled subscription
├── EntryLocked               a billed support entry cannot change; correct it instead
└── StripeFailure             Stripe refused or failed; ``permanent`` says whether to retry
"""

from __future__ import annotations


class BillingError(Exception):
    """Base class for billing errors."""


class UnknownCustomer(BillingError, LookupError):
    def __init__(self, customer_id: str) -> None:
        super().__init__(f"no customer {customer_id!r}")


class UnknownSubscription(BillingError, LookupError):
    def __init__(self, subscription_id: str) -> None:
        super().__init__(f"no subscription {subscription_id!r}")


class UnknownEntry(BillingError, LookupError):
    def __init__(self, entry_id: str) -> None:
        super().__init__(f"no support entry {entry_id!r}")


class InvoiceNotFound(BillingError, LookupError):
    """No such invoice, or it is another customer's: the two read alike, so a portal
    answering 404 reveals nothing about other customers' invoices."""

    def __init__(self, invoice_id: str) -> None:
        self.invoice_id = invoice_id
        super().__init__(f"no invoice {invoice_id!r}")


class InvalidTransition(BillingError):
    pass


class EntryLocked(BillingError):
    pass


class StripeFailure(BillingError):
    def __init__(self, message: str, *, permanent: bool) -> None:
        self.permanent = permanent
        super().__init__(message)
