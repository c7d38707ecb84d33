"""Periods close from Stripe's side, and what closing means for every later entry
(issue 10, items 3, 4, 5, 7, 9 and 10), on both databases."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.errors import InvalidTransition
from billing.models import ClosedPeriod, EntryState, OutboxMessage, SupportEntry
from billing.periods import Period
from billing.subscriptions.lifecycle import Subscriptions
from billing.support_time.closing import PeriodClosing, close_invoiced
from billing.support_time.ledger import Ledger
from portal.database import create_session_factory
from tests.fixtures.billing import billing_context, make_customer, make_subscription
from tests.fixtures.clock import MovableClock


def at(month: int, day: int, hour: int = 10, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


async def setup(
    engine: AsyncEngine, plan_id: str, start: datetime, **sub: Any
) -> tuple[Ledger, MovableClock, str, str]:
    clock = MovableClock(start)
    async with create_session_factory(engine)() as session, session.begin():
        customer = await make_customer(session, clock())
        subscription = await make_subscription(session, customer, plan_id, clock(), **sub)
    return Ledger(billing_context(engine, clock)), clock, customer.id, subscription.id


async def messages(engine: AsyncEngine, kind: str | None = None) -> list[OutboxMessage]:
    async with create_session_factory(engine)() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        return list(await session.scalars(query))


async def stored(engine: AsyncEngine, entry_id: str) -> SupportEntry:
    async with create_session_factory(engine)() as session:
        entry = await session.get(SupportEntry, entry_id)
        assert entry is not None
        return entry


async def test_the_worker_closes_a_period_once_stripes_grace_has_passed(
    engine: AsyncEngine,
) -> None:
    """Item 4: nothing outside the tests closed a period, so a late entry joined an
    invoice Stripe had already finalised."""
    ledger, _, customer, sub = await setup(engine, "support-payg", at(11, 2))
    entry = await ledger.record(customer, 60, "router", "ana")
    closing = PeriodClosing(ledger.ctx)

    assert await closing.close_due(at(12, 1, 0)) == 0  # Stripe's invoice is still a draft
    assert await closing.close_due(at(12, 1, 1)) == 1

    assert (await stored(engine, entry.id)).state == EntryState.BILLED
    async with create_session_factory(engine)() as session:
        [closed] = list(await session.scalars(select(ClosedPeriod)))
    assert (closed.subscription_id, closed.period, closed.billable_minutes) == (sub, "2026-11", 60)
    assert closed.closed_by == "grace period"
    assert await closing.close_due(at(12, 20)) == 0  # closed once, never again


async def test_an_entry_logged_after_its_month_closed_is_billed_in_the_open_one(
    engine: AsyncEngine,
) -> None:
    """Item 4: logged on the 3rd for the previous month, it was stamped with the work's
    time and landed on an already finalised invoice."""
    ledger, clock, customer, _ = await setup(engine, "support-payg", at(11, 2))
    clock.now = at(12, 3)
    await PeriodClosing(ledger.ctx).close_due()

    late = await ledger.record(customer, 45, "forgot to log", "ana", worked_at=at(11, 29))

    assert (late.period, late.billed_period, late.billable_minutes) == ("2026-11", "2026-12", 45)
    [meter] = await messages(engine, "meter_event")
    assert meter.payload["timestamp"] == int(at(12, 3).timestamp())  # inside December
    november = await ledger.summary(customer, Period(2026, 11))
    december = await ledger.summary(customer, Period(2026, 12))
    assert (november.billable_minutes, december.billable_minutes) == (0, 45)


async def test_an_entry_approved_long_after_the_work_is_stamped_when_approved(
    engine: AsyncEngine,
) -> None:
    """Item 4: an over-cap entry approved more than 35 days after the work was sent with
    the work's time, which Stripe refuses: the row went dead, the minutes were lost."""
    ledger, clock, customer, _ = await setup(
        engine, "support-payg", at(10, 2), monthly_cap_minutes=60
    )
    await ledger.record(customer, 60, "within the cap", "ana")
    clock.now = at(10, 4)
    waiting = await ledger.record(customer, 30, "over the cap", "ana", worked_at=at(10, 3))
    assert waiting.state == EntryState.PENDING_APPROVAL
    clock.now = at(11, 20)  # 48 days after the work
    await PeriodClosing(ledger.ctx).close_due()

    approved = await ledger.approve(waiting.id, by="customer")

    assert (approved.billed_period, approved.billable_minutes) == ("2026-11", 30)
    meter = (await messages(engine, "meter_event"))[-1]
    assert meter.payload["timestamp"] == int(at(11, 20).timestamp())


async def test_a_correction_of_a_closed_month_is_a_new_line_and_the_month_stays(
    engine: AsyncEngine,
) -> None:
    ledger, clock, customer, _ = await setup(engine, "support-10h", at(11, 2))
    big = await ledger.record(customer, 660, "migration", "ana")  # 60 over the 600
    assert big.billable_minutes == 60
    clock.now = at(12, 5)
    await PeriodClosing(ledger.ctx).close_due()
    before = await ledger.summary(customer, Period(2026, 11))

    correction = await ledger.correct(big.id, -90, "counted the lunch break", "ana")

    # November alone, summed again from what it rolled in, would have billed 0: -60.
    assert (correction.billed_period, correction.billable_minutes) == ("2026-12", -60)
    assert await ledger.summary(customer, Period(2026, 11)) == before
    [credit] = await messages(engine, "invoice_item")
    assert credit.payload["amount_minor"] < 0
    assert credit.payload["period"] == "2026-12"
    assert "logged late, billed in December 2026" in credit.payload["description"]
    assert (await ledger.summary(customer, Period(2026, 12))).billable_minutes == 0


async def test_a_plan_change_never_reaches_back_into_closed_months(engine: AsyncEngine) -> None:
    """Item 5: moving from a 10 h "expire" bank to a 20 h rollover bank recomputed every
    month under today's terms and invented rollover for months that had none."""
    ledger, clock, customer, sub = await setup(engine, "support-10h", at(1, 2, year=2027))
    subscriptions = Subscriptions(ledger.ctx)
    closing = PeriodClosing(ledger.ctx)
    await ledger.record(customer, 60, "january", "ana")  # 9 h unused: they expire
    clock.now = at(2, 3, year=2027)
    await closing.close_due()
    february = await ledger.record(customer, 900, "february", "ana")
    assert february.billable_minutes == 300  # 15 h against 10 included
    clock.now = at(3, 2, year=2027)
    await closing.close_due()
    january = await ledger.summary(customer, Period(2027, 1))

    await subscriptions.change_plan(sub, "support-20h")
    await ledger.record(customer, 750, "march", "ana")
    march = await ledger.record(customer, 750, "march, again", "ana")

    assert await ledger.summary(customer, Period(2027, 1)) == january
    assert january.rolled_out == ()
    assert january.expired_minutes == 540
    # March: 25 h against the new 20 h, nothing rolled in from the "expire" months.
    summary = await ledger.summary(customer, Period(2027, 3))
    assert (summary.included_minutes, summary.rolled_in_minutes) == (1200, 0)
    assert march.billable_minutes == 300


async def test_a_correction_past_the_per_hour_cap_waits_for_approval(engine: AsyncEngine) -> None:
    """Item 7: a correction added minutes beyond the customer's monthly cap unasked."""
    ledger, _, customer, _ = await setup(engine, "support-payg", at(11, 2), monthly_cap_minutes=120)
    entry = await ledger.record(customer, 90, "upgrade", "ana")

    grown = await ledger.correct(entry.id, 60, "it took longer", "ana")

    assert (grown.state, grown.billable_minutes) == (EntryState.PENDING_APPROVAL, 0)
    assert len(await messages(engine, "meter_event")) == 1
    approved = await ledger.approve(grown.id, by="customer")
    assert approved.billable_minutes == 60
    small = await ledger.correct(entry.id, -30, "no: less", "ana")
    assert small.state == EntryState.RECORDED  # fewer minutes never wait


async def test_overage_in_a_trial_is_billed_on_the_first_paid_invoice(
    engine: AsyncEngine,
) -> None:
    """Item 9: usage in a trial was sent to the meter, which Stripe does not charge during a
    trial, while the ledger and the reconciler counted it."""
    trial_ends = at(12, 2)
    ledger, _, customer, _ = await setup(
        engine, "support-payg", at(11, 2), state="trialing", trial_ends_at=trial_ends
    )

    entry = await ledger.record(customer, 30, "first steps", "ana")

    assert entry.billable_minutes == 30
    assert await messages(engine, "meter_event") == []
    [item] = await messages(engine, "invoice_item")
    assert item.payload["period"] == "2026-12"  # the first paid invoice
    assert "worked during the trial" in item.payload["description"]


async def test_a_second_metered_support_plan_is_refused_while_one_runs(
    engine: AsyncEngine,
) -> None:
    """Item 10: a meter sums the customer's events for every metered price on it, so two
    support subscriptions billed by the minute counted the same minutes twice."""
    ledger, _, customer, sub = await setup(engine, "support-payg", at(11, 2))
    subscriptions = Subscriptions(ledger.ctx)

    with pytest.raises(InvalidTransition, match="change that subscription's plan instead"):
        await subscriptions.subscribe(customer, "support-10h", stripe_checkout=False)
    flat = await subscriptions.subscribe(customer, "support-flat", stripe_checkout=False)
    assert flat.state == "active"  # not metered: no meter to share

    await subscriptions.cancel(sub, immediately=True)
    later = await subscriptions.subscribe(customer, "support-10h", stripe_checkout=False)
    assert later.state == "active"


async def test_an_early_cancellation_fee_reaches_an_invoice_of_its_own(
    engine: AsyncEngine,
) -> None:
    """Item 3: charges made at the end waited for a next subscription invoice that never
    came. Cancelled within its 6-month commitment (policy ``pay_remaining``), the plan ends
    at the period end; the remaining months' fees are followed by an invoice Dockyard asks
    Stripe to make."""
    clock = MovableClock(at(11, 2))
    async with create_session_factory(engine)() as session, session.begin():
        customer = await make_customer(session, clock())
    ctx = billing_context(engine, clock)
    subscriptions = Subscriptions(ctx)
    sub = await subscriptions.subscribe(customer.id, "app-business", stripe_checkout=False)
    clock.advance(days=40)

    cancelled = await subscriptions.cancel(sub.id)

    tail = [(m.kind, m.payload.get("entry_id") or m.payload.get("reference"))
            for m in await messages(engine)][-3:]  # fmt: skip
    assert tail == [
        ("invoice_item", f"cancel-{sub.id}"),
        ("subscription.update", None),
        ("invoice.create", f"cancel-{sub.id}"),
    ]
    assert cancelled.cancel_at is not None
    clock.now = cancelled.cancel_at + timedelta(hours=2)
    await subscriptions.roll_periods(clock())
    # Ended; nothing queued since the fee's invoice: no second, empty one.
    assert len(await messages(engine, "invoice.create")) == 1


async def test_an_entry_logged_after_the_end_is_invoiced_at_once(engine: AsyncEngine) -> None:
    """Item 3: extra work logged after the last period waited for an invoice that never
    came."""
    ledger, clock, customer, sub = await setup(engine, "support-flat", at(11, 1))
    clock.now = at(11, 3)
    await Subscriptions(ledger.ctx).cancel(sub, immediately=True)
    clock.advance(days=1)

    entry = await ledger.record(
        customer, 60, "agreed migration", "ana", worked_at=at(11, 2), extra_work=True
    )

    kinds = [(m.kind, m.payload.get("entry_id") or m.payload.get("reference"))
             for m in await messages(engine)]  # fmt: skip
    assert kinds[-2:] == [("invoice_item", entry.id), ("invoice.create", f"item:{entry.id}")]


async def test_a_catalog_migration_reaches_stripe_at_the_period_it_starts(
    engine: AsyncEngine,
) -> None:
    """Item 5: ``migrate_existing_from`` moved holders in the ledger only; Stripe billed
    the old version on."""
    clock = MovableClock(at(11, 20))
    async with create_session_factory(engine)() as session, session.begin():
        customer = await make_customer(session, clock())
    subscriptions = Subscriptions(billing_context(engine, clock))
    held = await subscriptions.subscribe(customer.id, "server-s", 1, stripe_checkout=False)

    await subscriptions.roll_periods(at(12, 31, 23))
    assert (await subscriptions.get(held.id)).plan_version == 1
    changes = await subscriptions.roll_periods(at(1, 1, 0, year=2027))

    assert "moved to server-s version 2 (catalog migration)" in [c.what for c in changes]
    assert (await subscriptions.get(held.id)).plan_version == 2
    [update] = await messages(engine, "subscription.update")
    assert (update.payload["plan_version"], update.payload["proration_behavior"]) == (
        2,
        "always_invoice",
    )
    assert update.payload["changed_at"] == int(at(1, 1, 0, year=2027).timestamp())


async def test_the_invoice_at_a_trials_end_leaves_its_month_open(engine: AsyncEngine) -> None:
    """Found by the year-long test: the cycle invoice Stripe makes when a trial ends on the
    5th closed that whole month, so the rest of its work was billed late, in the next
    month, against that month's hours: February's unused hours were lost, March billed
    overage it did not have."""
    trial_ends = at(2, 5, 11, year=2027)
    ledger, clock, customer, _ = await setup(
        engine, "support-20h", at(1, 5, 11, year=2027),
        trial_ends_at=trial_ends, stripe_subscription_id="sub_trial",
    )  # fmt: skip
    clock.now = trial_ends + timedelta(hours=1)
    async with create_session_factory(engine)() as session, session.begin():
        closed = await close_invoiced(ledger.ctx, session, "sub_trial", trial_ends, "in_1")
    assert closed == 1  # January only

    entry = await ledger.record(customer, 60, "after the trial", "ana")

    assert (entry.period, entry.billed_period) == ("2027-02", "2027-02")
    async with create_session_factory(engine)() as session:
        periods = await session.scalars(select(ClosedPeriod.period))
        assert list(periods) == ["2027-01"]


async def test_the_final_invoice_of_an_end_mid_month_closes_that_month(
    engine: AsyncEngine,
) -> None:
    ledger, clock, _, _ = await setup(
        engine, "support-payg", at(1, 5, year=2027), stripe_subscription_id="sub_ends",
        cancel_at=at(3, 12, year=2027),
    )  # fmt: skip
    clock.now = at(3, 12, 1, year=2027)
    async with create_session_factory(engine)() as session, session.begin():
        closed = await close_invoiced(
            ledger.ctx, session, "sub_ends", at(3, 12, year=2027), "in_final"
        )

    assert closed == 3  # January, February and March: Stripe bills nothing after the end


async def test_a_hosting_subscription_has_no_periods_to_close_and_says_nothing(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """Found by the year-long test: every worker tick warned "no terms ... not closed"
    for every hosting subscription."""
    ledger, _, _, _ = await setup(engine, "server-m", at(11, 2))
    caplog.set_level(logging.WARNING, logger="billing.support_time.closing")

    assert await PeriodClosing(ledger.ctx).close_due(at(12, 20)) == 0

    assert caplog.text == ""


async def test_services_never_ask_stripe_for_a_subscription_it_cannot_make(
    engine: AsyncEngine,
) -> None:
    """A one-off package or a per-hour service has no recurring price, so Stripe refuses a
    subscription for it; retried, such a message held up its customer's later ones. The
    package is charged once as an item (invoiced at once when nothing else recurs); the
    per-hour service bills its hours as they are logged."""
    clock = MovableClock(at(11, 2))
    async with create_session_factory(engine)() as session, session.begin():
        customer = await make_customer(session, clock())
    subscriptions = Subscriptions(billing_context(engine, clock))

    package = await subscriptions.subscribe(
        customer.id, "training-onboarding", stripe_checkout=False
    )
    await subscriptions.subscribe(customer.id, "developer-service", stripe_checkout=False)

    kinds = [(m.kind, m.payload.get("entry_id") or m.payload.get("reference"))
             for m in await messages(engine)]  # fmt: skip
    assert kinds == [
        ("invoice_item", f"package:{package.id}"),
        ("invoice.create", f"package:{package.id}"),
    ]
    [item] = await messages(engine, "invoice_item")
    assert (item.payload["amount_minor"], item.payload["period"]) == (48000, "2026-11")


async def test_an_upgrade_during_a_trial_commits_from_the_trials_end(engine: AsyncEngine) -> None:
    """Item 9: a plan change inside a trial started the new plan's commitment at the
    change, binding the customer for weeks the trial gives free to leave."""
    ledger, clock, _, sub = await setup(engine, "app-starter", at(11, 2), trial_ends_at=at(12, 2))
    clock.now = at(11, 10)

    changed = await Subscriptions(ledger.ctx).change_plan(sub, "app-business")

    assert (changed.plan_id, changed.commitment_ends_at) == ("app-business", at(6, 2, year=2027))
