"""The kinds of difference a reconciliation reports, each with what to do about it."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class FindingKind(enum.StrEnum):
    MISSING_INVOICE = "missing_invoice"
    MISSING_LINE = "missing_line"
    UNEXPECTED_INVOICE = "unexpected_invoice"
    UNEXPECTED_LINE = "unexpected_line"
    AMOUNT_MISMATCH = "amount_mismatch"
    QUANTITY_MISMATCH = "quantity_mismatch"
    USAGE_NOT_SENT = "usage_not_sent"
    USAGE_SENT_TWICE = "usage_sent_twice"
    CURRENCY_MISMATCH = "currency_mismatch"
    UNPAID_PAST_DUE = "unpaid_past_due"
    PAID_BUT_SUSPENDED = "paid_but_suspended"


ACTIONS: dict[FindingKind, str] = {
    FindingKind.MISSING_INVOICE: (
        "check the customer's Stripe subscription and the outbox; invoice the amount by hand "
        "if Stripe never will"
    ),
    FindingKind.MISSING_LINE: "add the line to the next invoice (an invoice item) or credit it",
    FindingKind.UNEXPECTED_INVOICE: (
        "find out who created it in Stripe; void it or record what it was for"
    ),
    FindingKind.UNEXPECTED_LINE: "void or credit the line, or record what it was for",
    FindingKind.AMOUNT_MISMATCH: (
        "compare the Stripe price with the catalog; issue a credit note or an invoice item "
        "for the difference"
    ),
    FindingKind.QUANTITY_MISMATCH: (
        "compare the meter events with the ledger's billable minutes; adjust the meter or "
        "credit the difference"
    ),
    FindingKind.USAGE_NOT_SENT: (
        "send the waiting meter events (dockyard outbox list / retry) before the invoice "
        "finalizes, or invoice the minutes by hand"
    ),
    FindingKind.USAGE_SENT_TWICE: (
        "cancel the duplicate meter events (meter event adjustments) or credit the customer"
    ),
    FindingKind.CURRENCY_MISMATCH: (
        "the invoice is in another currency than the customer's plan: void it and invoice again"
    ),
    FindingKind.UNPAID_PAST_DUE: "follow up with the customer; dunning suspends after its grace",
    FindingKind.PAID_BUT_SUSPENDED: (
        "resume the subscription: the invoice was paid but the webhook was not applied"
    ),
}


@dataclass(frozen=True, slots=True)
class Finding:
    kind: FindingKind
    customer_id: str | None
    currency: str
    expected: int | None  # minor units (or minutes for usage findings)
    actual: int | None
    objects: tuple[str, ...]  # our ids and Stripe's, so finance can look each one up
    detail: str

    @property
    def action(self) -> str:
        return ACTIONS[self.kind]

    @property
    def difference(self) -> int:
        return (self.actual or 0) - (self.expected or 0)
