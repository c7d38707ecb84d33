"""Billing's tables: customers, subscriptions, support entries, the Stripe outbox, webhook
events and the invoices Stripe sent.

Money is integer minor units with an ISO currency; time is timezone-aware UTC from the
injected clock; support time is whole minutes.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from advanced_alchemy.base import convention
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

metadata = MetaData(naming_convention=convention)


class Base(DeclarativeBase):
    metadata = metadata


class SubscriptionState(enum.StrEnum):
    PENDING = "pending"  # waiting for checkout / payment
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"


class EntryState(enum.StrEnum):
    RECORDED = "recorded"
    PENDING_APPROVAL = "pending_approval"  # over the customer's monthly cap
    APPROVED = "approved"
    REJECTED = "rejected"
    BILLED = "billed"  # locked


class EntryCategory(enum.StrEnum):
    SUPPORT = "support"
    DEVELOPER_SERVICE = "developer_service"
    TRAINING = "training"


class OutboxState(enum.StrEnum):
    PENDING = "pending"
    RETRYING = "retrying"
    SENT = "sent"
    DEAD = "dead"


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str] = mapped_column(String(200), default="")
    currency: Mapped[str] = mapped_column(String(3))
    stripe_customer_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC())


class Subscription(Base):
    __tablename__ = "subscriptions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    plan_id: Mapped[str] = mapped_column(String(64))
    plan_version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTimeUTC())
    trial_ends_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    commitment_ends_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    period_start: Mapped[datetime] = mapped_column(DateTimeUTC())
    period_end: Mapped[datetime] = mapped_column(DateTimeUTC())
    cancel_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    # A downgrade waits for the period end: (plan id, version) to switch to.
    next_plan_id: Mapped[str | None] = mapped_column(String(64), default=None)
    next_plan_version: Mapped[int | None] = mapped_column(Integer, default=None)
    past_due_since: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    suspended_since: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    # "billing" (dunning) or "manual" (an operator): paying lifts only a billing one.
    suspension_reason: Mapped[str | None] = mapped_column(String(16), default=None)
    ended_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    # Per-hour support: the customer may set a cap below the plan's.
    monthly_cap_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # When Stripe's subscription came to exist (sent by the outbox, or made by Checkout):
    # usage stamped before it would count on nothing.
    stripe_linked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    # The instance the portal runs for a hosting subscription (opaque to billing).
    instance_ref: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC())


class SupportEntry(Base):
    __tablename__ = "support_entries"
    # The ledger reads a subscription's entries from a period on, asks whether a period
    # was invoiced, and (the dashboard) a customer's entries of a month: each would
    # otherwise scan every customer's entries.
    __table_args__ = (
        Index("ix_support_entries_customer_period", "customer_id", "period"),
        Index("ix_support_entries_subscription_period", "subscription_id", "period"),
        Index("ix_support_entries_billed_period", "billed_period"),
        Index("ix_support_entries_subscription_bills_in", "subscription_id", "billed_period"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    # The support (or service) subscription the time counts against.
    subscription_id: Mapped[str | None] = mapped_column(
        ForeignKey("subscriptions.id"), default=None
    )
    worked_at: Mapped[datetime] = mapped_column(DateTimeUTC())
    period: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM the work belongs to
    minutes: Mapped[int] = mapped_column(Integer)  # negative only in a correction
    note: Mapped[str] = mapped_column(Text)
    staff: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(24))
    extra_work: Mapped[bool] = mapped_column(default=False)  # flat rate: agreed, so billed
    state: Mapped[str] = mapped_column(String(20))
    corrects_id: Mapped[str | None] = mapped_column(ForeignKey("support_entries.id"), default=None)
    # The period whose invoice carries it: its own, or (logged late, after Stripe closed
    # that one) the first still open. Its allowance is that period's.
    billed_period: Mapped[str | None] = mapped_column(String(7), default=None)
    billable_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    recorded_at: Mapped[datetime] = mapped_column(DateTimeUTC())


class ClosedPeriod(Base):
    """A subscription's support period once Stripe invoiced it: its summary, kept.

    Closed when Stripe's cycle invoice for it is created (webhook) or its finalisation grace
    has passed; from then on nothing changes it. Entries for it that come later are billed
    in the first open period, and the next period starts from the minutes rolled out here.
    """

    __tablename__ = "closed_periods"
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    plan_id: Mapped[str] = mapped_column(String(64))  # the terms it was summed under
    plan_version: Mapped[int] = mapped_column(Integer)
    # billing.support_time.allowance.PeriodSummary as JSON (billing.support_time.closing
    # writes and reads it).
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    billable_minutes: Mapped[int] = mapped_column(Integer)
    closed_at: Mapped[datetime] = mapped_column(DateTimeUTC())
    closed_by: Mapped[str] = mapped_column(String(80))  # "invoice in_...", or "grace period"


class OutboxMessage(Base):
    """One Stripe mutation (billing.outbox.messages), in its customer's ordered stream."""

    __tablename__ = "stripe_outbox"
    __table_args__ = (
        Index("ix_stripe_outbox_due", "state", "next_attempt_at"),
        # "Is an earlier message of this customer still unsent?" for every due row.
        Index("ix_stripe_outbox_stream", "customer_id", "state", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(48))  # e.g. "meter_event", "subscription.create"
    # The stream: a customer's messages are sent in id order, one at a time.
    customer_id: Mapped[str] = mapped_column(String(32), default="", server_default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The exact Stripe request, fixed at the first attempt and resent as is on every retry
    # (Stripe refuses an idempotency key reused with other parameters).
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTimeUTC())
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    stripe_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC())
    sent_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)


class WebhookEvent(Base):
    __tablename__ = "stripe_events"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # Stripe's evt_...
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(DateTimeUTC())
    handled_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)


class InvoiceStatus(enum.StrEnum):
    """Stripe's invoice statuses: draft → open → paid | void | uncollectible."""

    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


class Invoice(Base):
    """An invoice as Stripe last described it (Stripe owns it; we mirror it)."""

    __tablename__ = "invoices"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # Stripe's in_...
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    subscription_id: Mapped[str | None] = mapped_column(
        ForeignKey("subscriptions.id"), default=None
    )
    number: Mapped[str | None] = mapped_column(String(64), default=None)  # set on finalizing
    status: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))  # ISO, upper-case
    # Minor units. 64-bit: in a currency such as IDR, 2**31 minor units is about 1,300 EUR.
    total: Mapped[int] = mapped_column(BigInteger)
    amount_due: Mapped[int] = mapped_column(BigInteger)
    amount_paid: Mapped[int] = mapped_column(BigInteger)
    amount_remaining: Mapped[int] = mapped_column(BigInteger)
    hosted_invoice_url: Mapped[str | None] = mapped_column(Text, default=None)
    invoice_pdf: Mapped[str | None] = mapped_column(Text, default=None)
    # Stripe's invoice period: for a subscription invoice, the period before the one it
    # bills ahead (see billing.invoices); each line item has its own service period.
    period_start: Mapped[datetime] = mapped_column(DateTimeUTC())
    period_end: Mapped[datetime] = mapped_column(DateTimeUTC())
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC())  # Stripe's "created"
    due_date: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    paid_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC())  # our clock, last recorded
