"""Every error billing raises, in one tree (callers catch by meaning, not by module).

BillingError                    base of everything this package raises
├── not found (also LookupError)
│   UnknownCustomer, UnknownSubscription, UnknownEntry, InvoiceNotFound,
│   UnknownOutboxMessage, NoSupportSubscription (the customer exists; the plan does not)
├── refused as given (also ValueError)
│   InvalidEntry (ExtraWorkNotOffered), InvalidPeriod, InvalidCustomer,
│   CheckpointMismatch, UnreadableCheckpoint
├── not now: InvalidTransition, EntryLocked, NotDead, DuplicateEmail, CurrencyMismatch
├── Stripe: StripeFailure (``permanent`` says whether to retry), StripeNotConfigured,
│   WebhookRejected (the endpoint answers 400)
└── the outbox: UnreadableMessage, Waiting (a message whose turn has not come)
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the models and plans import nothing of these; only annotations
    from billing.models import EntryCategory
    from plans import Plan


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


class StripeNotConfigured(BillingError):
    def __init__(self) -> None:
        super().__init__(
            "no Stripe key configured: set DOCKYARD_STRIPE_SECRET_KEY (billing stays offline)"
        )


class WebhookRejected(BillingError):
    """The request is not a genuine, fresh Stripe event (the endpoint answers 400)."""


class NoSupportSubscription(BillingError, LookupError):
    def __init__(self, customer_id: str, category: EntryCategory, at: datetime) -> None:
        what = "support plan" if category.value == "support" else f"{category.value} plan"
        super().__init__(
            f"customer {customer_id!r} has no {what} subscription on {at:%Y-%m-%d}; "
            f"subscribe them to one before logging {category.value} time"
        )


class InvalidEntry(BillingError, ValueError):
    """A support entry that cannot be recorded as given."""


class ExtraWorkNotOffered(InvalidEntry):
    """Extra work logged for a customer whose support plan has none to bill: a well-formed
    entry the customer's plan refuses (the API answers 409, as for no plan at all)."""


class UnreadableMessage(BillingError):
    """A stored payload that does not fit its kind (an operator must look)."""


class Waiting(BillingError):
    """The message cannot be built yet (its customer is not in Stripe): try again later."""


class UnknownOutboxMessage(BillingError, LookupError):
    def __init__(self, message_id: int) -> None:
        super().__init__(f"no outbox message {message_id}")


class NotDead(BillingError):
    def __init__(self, message_id: int) -> None:
        super().__init__(f"outbox message {message_id} is not dead; nothing to retry")


class InvalidPeriod(BillingError, ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(
            f"{text!r} is not a period: write a calendar month as YYYY-MM, e.g. 2026-11"
        )


class InvalidCustomer(BillingError, ValueError):
    """A customer's details are unusable (a malformed email, an unknown currency)."""


class DuplicateEmail(BillingError):
    def __init__(self, email: str, existing_id: str | None) -> None:
        self.email = email
        self.existing_id = existing_id
        held = f" by {existing_id}" if existing_id else ""
        super().__init__(
            f"the email {email!r} is already used{held}; find that customer instead "
            "(dockyard customers list --search ...)"
        )


class CurrencyMismatch(BillingError):
    def __init__(self, customer_currency: str, plan: Plan) -> None:
        super().__init__(
            f"plan {plan.id!r} version {plan.version} is priced in {plan.pricing.currency} but "
            f"the customer pays in {customer_currency}; choose a plan in {customer_currency}"
        )


class CheckpointMismatch(BillingError, ValueError):
    def __init__(self, stored: str, wanted: str, path: Path | None) -> None:
        where = f" in {path}" if path else ""
        super().__init__(
            f"the checkpoint{where} is for {stored}, not {wanted}: "
            "delete it to start that read from the beginning"
        )


class UnreadableCheckpoint(BillingError, ValueError):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"cannot read the checkpoint {path} ({reason}): delete it to start over")
