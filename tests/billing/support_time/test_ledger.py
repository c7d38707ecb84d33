"""The support ledger on both databases: entries, caps, corrections, late entries, outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from unittest.mock import ANY

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.errors import (
    BillingError,
    EntryLocked,
    InvalidEntry,
    InvalidTransition,
    NoSupportSubscription,
    UnknownCustomer,
)
from billing.models import EntryState, OutboxMessage, SupportEntry
from billing.periods import Period
from billing.support_time.charges import minutes_amount
from billing.support_time.closing import PeriodClosing
from billing.support_time.ledger import Ledger
from portal.database import create_session_factory
from tests.fixtures.billing import billing_context, make_customer, make_subscription
from tests.fixtures.clock import MovableClock

NOV = Period(2026, 11)
DEC = Period(2026, 12)


def at(day: int, hour: int = 10, month: int = 11, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


async def setup(
    engine: AsyncEngine, plan_id: str, *, start: datetime | None = None, **sub: Any
) -> tuple[Ledger, MovableClock, str]:
    """A ledger on ``engine`` and a customer subscribed to ``plan_id`` since ``start``."""
    clock = MovableClock(start or at(2, 9))
    async with create_session_factory(engine)() as session, session.begin():
        customer = await make_customer(session, clock())
        await make_subscription(session, customer, plan_id, clock(), **sub)
    return Ledger(billing_context(engine, clock)), clock, customer.id


async def outbox(engine: AsyncEngine) -> list[tuple[str, str, dict[str, Any]]]:
    async with create_session_factory(engine)() as session:
        rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [(row.kind, row.idempotency_key, row.payload) for row in rows]


async def stored(engine: AsyncEngine, entry_id: str) -> SupportEntry:
    async with create_session_factory(engine)() as session:
        entry = await session.get(SupportEntry, entry_id)
        assert entry is not None
        return entry


def test_minutes_amount_is_exact_or_rounds_half_up() -> None:
    assert minutes_amount(15, 8500) == 2125  # 21.25 EUR, exact
    assert minutes_amount(60, 9500) == 9500
    assert minutes_amount(1, 9500) == 158  # 158.33 → 158
    assert minutes_amount(1, 9030) == 151  # 150.5 → 151, half up
    assert minutes_amount(-1, 9030) == -151  # a credit mirrors its charge


# -- hour bank ------------------------------------------------------------------------


async def test_hour_bank_bills_only_minutes_beyond_the_included(engine: AsyncEngine) -> None:
    ledger, clock, customer = await setup(engine, "support-10h")
    clock.advance(days=10)
    inside = await ledger.record(customer, 590, "migrated the mail server", "ana")
    assert inside.period == "2026-11"
    assert inside.state == EntryState.RECORDED
    assert inside.billable_minutes == 0
    assert await outbox(engine) == []

    over = await ledger.record(customer, 20, "restored a backup", "ben", worked_at=at(12, 8))
    # 590 → 600 and 20 → 30 after 15-minute rounding: 30 beyond the 600 included.
    assert over.billable_minutes == 30
    # A yearly bank has no metered price: the month's overage is invoiced when it closes.
    assert await outbox(engine) == []
    await PeriodClosing(ledger.ctx).close_due(at(1, 1, month=12))
    assert await outbox(engine) == [
        (
            "usage_item",
            f"usage_item:{over.subscription_id}:2026-11",
            {
                "customer_id": customer,
                "subscription_id": over.subscription_id,
                "period": "2026-11",
                "minutes": 30,
                "increments": 2,
                "increment_price": "2125",  # 15 minutes at 85.00/h
                "currency": "EUR",
                "description": ANY,
            },
        ),
        ("invoice.create", f"invoice.create:usage:{over.subscription_id}:2026-11", ANY),
    ]
    summary = await ledger.summary(customer, NOV)
    assert (summary.used_minutes, summary.covered_by_included, summary.billable_minutes) == (
        630,
        600,
        30,
    )
    # As worked, not as logged: the backup came first.
    assert [e.id for e in await ledger.entries(customer, NOV)] == [over.id, inside.id]


async def test_rollover_is_used_then_expires_as_months_pass(engine: AsyncEngine) -> None:
    """support-20h: up to 600 unused minutes roll over, for 3 months, oldest used first."""
    ledger, clock, customer = await setup(engine, "support-20h", start=at(1, 0, month=1, year=2027))
    jan = Period(2027, 1)
    clock.advance(days=20)
    await ledger.record(customer, 300, "onboarding", "ana")  # 900 unused: 600 roll over
    clock.now = at(25, month=2, year=2027)
    feb_entry = await ledger.record(customer, 1440, "incident", "ana")
    second = await ledger.record(customer, 390, "post-mortem", "ana")
    # 1830 used in February: 600 rolled over + 1200 included, 30 over.
    assert (feb_entry.billable_minutes, second.billable_minutes) == (0, 30)
    feb = await ledger.summary(customer, jan.next())
    assert (feb.covered_by_rollover, feb.covered_by_included, feb.billable_minutes) == (
        600,
        1200,
        30,
    )

    # March and April pass without work: only the newest 600 minutes are kept.
    clock.now = at(3, month=5, year=2027)
    may = await ledger.summary(customer)
    assert may.period == Period(2027, 5)
    assert may.rolled_in_minutes == 600
    assert [str(b.origin) for b in may.rolled_in] == ["2027-04"]
    # January's minutes are long gone; the current month folds every month since the start.
    assert (await ledger.summary(customer, Period(2027, 3))).expired_minutes == 600
    kinds = [(kind, key) for kind, key, _ in await outbox(engine)]
    assert kinds == [("meter_event", f"meter:{second.id}")]


# -- per hour with a cap --------------------------------------------------------------


async def test_per_hour_entries_past_the_cap_wait_for_approval(engine: AsyncEngine) -> None:
    ledger, clock, customer = await setup(engine, "support-payg", monthly_cap_minutes=90)
    clock.advance(days=1)
    first = await ledger.record(customer, 40, "password reset", "ana")  # 45 billed
    assert first.billable_minutes == 45
    waiting = await ledger.record(customer, 50, "report export", "ana")  # 45 + 60 > 90
    assert waiting.state == EntryState.PENDING_APPROVAL
    small = await ledger.record(customer, 20, "quick question", "ana")  # 45 + 30 <= 90
    assert small.state == EntryState.RECORDED
    declined = await ledger.record(customer, 200, "long call", "ana")
    assert declined.state == EntryState.PENDING_APPROVAL
    assert [key for _, key, _ in await outbox(engine)] == [f"meter:{first.id}", f"meter:{small.id}"]

    approved = await ledger.approve(waiting.id, by="customer")
    assert approved.state == EntryState.APPROVED
    assert approved.billable_minutes == 60
    assert "approved by customer" in approved.note
    rejected = await ledger.reject(declined.id, by="customer")
    assert rejected.state == EntryState.REJECTED

    rows = await outbox(engine)
    assert rows[-1] == (
        "meter_event",
        f"meter:{waiting.id}",
        {
            "customer_id": customer,
            "entry_id": waiting.id,
            "subscription_id": ANY,
            "minutes": 60,
            "timestamp": int(waiting.worked_at.timestamp()),
        },
    )
    assert len(rows) == 3  # the rejected entry never bills
    summary = await ledger.summary(customer)
    assert (summary.billable_minutes, summary.pending_minutes, summary.rejected_minutes) == (
        135,
        0,
        210,  # rounded like everything else, so the customer sees what was declined
    )
    with pytest.raises(InvalidTransition, match="only entries pending approval"):
        await ledger.approve(first.id, by="customer")
    with pytest.raises(InvalidTransition):
        await ledger.reject(rejected.id, by="customer")


async def test_the_plan_cap_applies_without_a_customer_cap(engine: AsyncEngine) -> None:
    ledger, clock, customer = await setup(engine, "support-payg")  # the plan caps at 600
    clock.advance(days=1)
    assert (await ledger.record(customer, 600, "audit", "ana")).state == EntryState.RECORDED
    assert (await ledger.record(customer, 1, "one more", "ana")).state == "pending_approval"


# -- flat rate and services: invoice items ----------------------------------------------


async def test_flat_rate_bills_only_agreed_extra_work(engine: AsyncEngine) -> None:
    ledger, clock, customer = await setup(engine, "support-flat")
    clock.advance(days=1)
    tracked = await ledger.record(customer, 120, "end-user questions", "ana")
    assert tracked.billable_minutes == 0
    extra = await ledger.record(customer, 50, "custom report", "ana", extra_work=True)
    assert await outbox(engine) == [
        (
            "invoice_item",
            f"invoice_item:{extra.id}",
            {
                "customer_id": customer,
                "entry_id": extra.id,
                "amount_minor": 9500,  # 50 → 60 minutes at 95.00 EUR an hour
                "currency": "EUR",
                "description": "Support: custom report (60 min, period 2026-11)",
                "period": "2026-11",
            },
        )
    ]


async def test_developer_service_time_is_an_invoice_item(engine: AsyncEngine) -> None:
    ledger, clock, customer = await setup(engine, "developer-service")
    clock.advance(days=1)
    with pytest.raises(NoSupportSubscription, match="no support plan subscription"):
        await ledger.record(customer, 30, "question", "ana")
    entry = await ledger.record(customer, 20, "hotfix", "dev", category="developer_service")
    [(kind, key, payload), invoice] = await outbox(engine)
    assert (kind, key) == ("invoice_item", f"invoice_item:{entry.id}")
    # Nothing of this customer recurs, so no cycle invoice would ever carry the item.
    assert invoice[:2] == ("invoice.create", f"invoice.create:item:{entry.id}")
    # 20 minutes, but the plan bills at least 60: 110.00 EUR.
    assert payload["amount_minor"] == 11000
    assert payload["description"] == "Developer service: hotfix (60 min, period 2026-11)"


# -- corrections, billing, late entries ------------------------------------------------


async def test_a_correction_is_a_new_entry_and_a_credit(engine: AsyncEngine) -> None:
    ledger, clock, customer = await setup(engine, "support-payg")
    clock.advance(days=1)
    original = await ledger.record(customer, 90, "migration", "ana")
    assert await ledger.mark_billed(NOV) == 1
    clock.advance(days=1)
    with pytest.raises(EntryLocked, match="correct it instead"):
        await ledger.approve(original.id, by="customer")

    correction = await ledger.correct(original.id, -30, "logged twice", "ana")
    assert correction.corrects_id == original.id
    assert correction.period == "2026-11"
    assert correction.billable_minutes == -30
    untouched = await stored(engine, original.id)
    assert (untouched.minutes, untouched.state, untouched.note) == (90, "billed", "migration")
    credit = (await outbox(engine))[-1]
    assert credit[:2] == ("invoice_item", f"invoice_item:{correction.id}")
    assert credit[2]["amount_minor"] == -4750  # 30 minutes at 95.00 EUR, given back
    assert credit[2]["period"] == "2026-12"  # November is invoiced: the next invoice
    assert "2026-11" in credit[2]["description"]
    assert correction.billed_period == "2026-12"
    assert [e.id for e in await ledger.entries(customer, NOV)] == [original.id, correction.id]
    # November was invoiced with 90 minutes and stays so: the credit is December's line.
    assert (await ledger.summary(customer, NOV)).billable_minutes == 90

    with pytest.raises(InvalidEntry, match="cannot lose"):
        await ledger.correct(original.id, -61, "too much", "ana")


async def test_an_entry_after_its_period_was_billed_goes_on_the_next_invoice(
    engine: AsyncEngine,
) -> None:
    ledger, clock, customer = await setup(engine, "support-payg")
    clock.now = at(28)
    on_time = await ledger.record(customer, 30, "before month end", "ana")
    clock.now = at(2, 8, month=12)  # across the month end
    assert await ledger.mark_billed("2026-11") == 1
    late = await ledger.record(customer, 45, "forgot to log", "ana", worked_at=at(29))
    assert late.period == "2026-11"
    assert late.billed_period == "2026-12"
    *_, meter = await outbox(engine)
    assert meter[2]["timestamp"] == int(clock().timestamp())  # now: the next invoice
    assert (await stored(engine, on_time.id)).billed_period == "2026-11"

    assert await ledger.mark_billed(DEC) == 1
    locked = await stored(engine, late.id)
    assert (locked.state, locked.billed_period) == ("billed", "2026-12")


# -- validation -----------------------------------------------------------------------


async def test_record_explains_what_is_wrong(engine: AsyncEngine) -> None:
    ledger, clock, customer = await setup(engine, "support-10h")
    clock.advance(days=1)
    cases: list[tuple[dict[str, Any], type[BillingError], str]] = [
        ({"minutes": 0}, InvalidEntry, "1 to 1440"),
        ({"minutes": 1441}, InvalidEntry, "one entry per day"),
        ({"note": "  "}, InvalidEntry, "note"),
        ({"staff": ""}, InvalidEntry, "staff"),
        ({"category": "gardening"}, InvalidEntry, "unknown category"),
        ({"worked_at": at(30, month=12)}, InvalidEntry, "future"),
        ({"extra_work": True}, InvalidEntry, "flat-rate"),
        ({"category": "training"}, NoSupportSubscription, "training plan"),
        ({"customer_id": "nobody"}, UnknownCustomer, "nobody"),
        ({"worked_at": at(1, 0, month=10)}, NoSupportSubscription, "2026-10-01"),
    ]
    for change, error, message in cases:
        arguments: dict[str, Any] = {
            "customer_id": customer,
            "minutes": 30,
            "note": "n",
            "staff": "ana",
        } | change
        with pytest.raises(error, match=message):
            await ledger.record(**arguments)
    assert await outbox(engine) == []
    assert await ledger.entries(customer, NOV) == []


async def test_the_order_entries_are_logged_in_does_not_change_the_bill(
    engine: AsyncEngine,
) -> None:
    minutes = [590, 7, 130, 44, 1]
    totals = []
    for order in (minutes, list(reversed(minutes))):
        ledger, clock, customer = await setup(engine, "support-10h")
        clock.advance(days=3)
        entries = [await ledger.record(customer, m, "work", "ana") for m in order]
        totals.append((await ledger.summary(customer)).billable_minutes)
        assert totals[-1] == sum(e.billable_minutes or 0 for e in entries)
        await PeriodClosing(ledger.ctx).close_due(at(1, 1, month=12))
        [usage] = [
            p
            for kind, _, p in await outbox(engine)
            if kind == "usage_item" and p["customer_id"] == customer
        ]
        assert usage["minutes"] == totals[-1]
    # 600 + 15 + 135 + 45 + 15 = 810 rounded minutes, 600 included, either way.
    assert totals == [210, 210]


async def test_correcting_a_correction_links_to_the_original(engine: AsyncEngine) -> None:
    ledger, clock, customer = await setup(engine, "support-payg")
    clock.advance(days=1)
    original = await ledger.record(customer, 60, "setup", "ana")
    first = await ledger.correct(original.id, 30, "forgot the call", "ana")
    second = await ledger.correct(first.id, -15, "call was shorter", "ana")
    assert first.corrects_id == second.corrects_id == original.id
    assert (first.billable_minutes, second.billable_minutes) == (30, -15)
    kinds = [(kind, key) for kind, key, _ in await outbox(engine)]
    assert kinds == [
        ("meter_event", f"meter:{original.id}"),
        ("meter_event", f"meter:{first.id}"),
        ("invoice_item", f"invoice_item:{second.id}"),
    ]
    assert (await ledger.summary(customer)).billable_minutes == 75
