"""Billing: customers, subscriptions, support time and their invoices, kept in step with
Stripe through the outbox; and the reconciliation that proves it to the cent.

This is billing's public face: the portal imports these names from ``billing`` and
nothing from its modules (an import-linter contract holds it to that). Inside, one idea
per package: subscriptions/, support_time/, outbox/, stripe/, reconcile/, cli/, with the
tables (models.py), their queries (repository/), errors.py and periods.py beside them.
"""

from __future__ import annotations

from billing.at_a_glance import billing_counts, outbox_oldest_due, webhook_problems
from billing.cli.customers import customers_group, subscriptions_group
from billing.cli.outbox import outbox_group
from billing.cli.reconcile import reconcile_command
from billing.cli.stripe_sync import sync_command
from billing.cli.support import support_group
from billing.context import BillingContext
from billing.customers import Customers, normalise_email
from billing.errors import (
    BillingError,
    CurrencyMismatch,
    DuplicateEmail,
    EntryLocked,
    ExtraWorkNotOffered,
    InvalidCustomer,
    InvalidTransition,
    NoSupportSubscription,
    NotDead,
    StripeFailure,
    UnknownSubscription,
    WebhookRejected,
)
from billing.invoices import Invoices
from billing.models import (
    Customer,
    EntryCategory,
    EntryState,
    Invoice,
    OutboxMessage,
    OutboxState,
    Subscription,
    SubscriptionState,
    SupportEntry,
    WebhookEvent,
)
from billing.outbox.admin import outbox_counts, outbox_messages, retry_dead
from billing.outbox.sender import OutboxSender
from billing.periods import Period, add_months, monthly_price
from billing.reconcile.expected.cycles import Cycle, cycles
from billing.reconcile.report import csv_text
from billing.reconcile.result import Reconciliation, Totals
from billing.reconcile.run import reconcile_month
from billing.settings import DunningSettings, StripeSettings
from billing.stripe.checkout import create_checkout_session
from billing.stripe.client import make_client
from billing.stripe.webhooks import handle_pending, receive
from billing.subscriptions.cancellation import cancellation_terms, current_period_end
from billing.subscriptions.dunning import MANUAL, Dunning
from billing.subscriptions.lifecycle import Subscriptions
from billing.subscriptions.service_period import NextCharge, next_charge, service_period
from billing.support_time.allowance import PeriodSummary
from billing.support_time.charges import minutes_amount
from billing.support_time.closing import PeriodClosing
from billing.support_time.ledger import Ledger

__all__ = [
    "MANUAL",
    "BillingContext",
    "BillingError",
    "CurrencyMismatch",
    "Customer",
    "Customers",
    "Cycle",
    "Dunning",
    "DunningSettings",
    "DuplicateEmail",
    "EntryCategory",
    "EntryLocked",
    "EntryState",
    "ExtraWorkNotOffered",
    "InvalidCustomer",
    "InvalidTransition",
    "Invoice",
    "Invoices",
    "Ledger",
    "NextCharge",
    "NoSupportSubscription",
    "NotDead",
    "OutboxMessage",
    "OutboxSender",
    "OutboxState",
    "Period",
    "PeriodClosing",
    "PeriodSummary",
    "Reconciliation",
    "StripeFailure",
    "StripeSettings",
    "Subscription",
    "SubscriptionState",
    "Subscriptions",
    "SupportEntry",
    "Totals",
    "UnknownSubscription",
    "WebhookEvent",
    "WebhookRejected",
    "add_months",
    "billing_counts",
    "cancellation_terms",
    "create_checkout_session",
    "csv_text",
    "current_period_end",
    "customers_group",
    "cycles",
    "handle_pending",
    "make_client",
    "minutes_amount",
    "monthly_price",
    "next_charge",
    "normalise_email",
    "outbox_counts",
    "outbox_group",
    "outbox_messages",
    "outbox_oldest_due",
    "receive",
    "reconcile_command",
    "reconcile_month",
    "retry_dead",
    "service_period",
    "subscriptions_group",
    "support_group",
    "sync_command",
    "webhook_problems",
]
