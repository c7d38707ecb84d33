"""The expected side of a reconciliation: what Dockyard's records say Stripe should invoice.

Each scenario goes through the real use cases (subscribe, change plan, cancel, log time)
on a movable clock, on SQLite and PostgreSQL, then reads the expected lines of a period.
Every amount is worked out by hand in a comment; none is computed by the code under test.
Seconds: a day is 86,400; November 2026 has 2,592,000 (30 days), December 2,678,400
(31 days), the year from 2025-12-01 to 2026-12-01 31,536,000 (365 days).
"""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.context import BillingContext
from billing.errors import InvalidPeriod, UnknownCustomer
from billing.models import EntryCategory, OutboxMessage, OutboxState
from billing.periods import Period
from billing.reconcile.expected.cycles import cycles, prorate
from billing.reconcile.expected.invoices import expected_lines, usage_accounts
from billing.reconcile.expected.usage import usage_charge
from billing.reconcile.lines import ExpectedLine, LineKind, UsageAccount
from billing.reconcile.run import read_until
from billing.subscriptions.lifecycle import Subscriptions
from billing.support_time.ledger import Ledger
from plans import Interval, Money, SupportPlan
from plans.model import Coverage, CoverageHours, PerHour, Pricing, SupportScope
from tests.fixtures.billing import make_customer, make_subscription
from tests.fixtures.billing_subscriptions import (
    START,
    at,
    new_customer,
    offline_context,
    outbox,
)
from tests.fixtures.clock import MovableClock

# START is 2026-11-22 09:30 UTC: to the anchor 2026-12-01 00:00 there are 8 days 14.5 h
# = 691,200 + 52,200 = 743,400 seconds.


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(START)


@pytest.fixture
def ctx(engine: AsyncEngine, clock: MovableClock) -> BillingContext:
    return offline_context(engine, clock)


def summary(lines: list[ExpectedLine]) -> list[tuple[str, int, int, str, str | None]]:
    """(key, amount, quantity, currency, subscription) of each line, in the order given."""
    return [(x.key, x.amount, x.quantity, x.currency, x.subscription_id) for x in lines]


async def subscribe(ctx: BillingContext, customer_id: str, plan_id: str) -> str:
    subscription = await Subscriptions(ctx).subscribe(customer_id, plan_id, stripe_checkout=False)
    return subscription.id


async def set_state(ctx: BillingContext, message_id: int, state: OutboxState) -> None:
    async with ctx.sessions() as session, session.begin():
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id == message_id).values(state=state.value)
        )


# -- fees --------------------------------------------------------------------------------


async def test_a_monthly_plan_bills_its_price_for_a_full_month(
    ctx: BillingContext, clock: MovableClock
) -> None:
    customer = await new_customer(ctx)
    clock.now = at(2026, 10, 1)  # on the anchor itself: no partial first period
    sub = await subscribe(ctx, customer.id, "server-s")
    clock.now = at(2026, 12, 5)

    lines = await expected_lines(ctx, "2026-11")

    # Server S: 9.00 EUR a month, the whole of November.
    assert summary(lines) == [(f"fee:{sub}:2026-11", 900, 1, "EUR", sub)]
    (line,) = lines
    assert (line.kind, line.period, line.customer_id) == (LineKind.FEE, "2026-11", customer.id)
    assert line.description == "Server S: fee 2026-11-01 to 2026-12-01"


async def test_a_mid_month_start_is_prorated_to_the_first_and_the_setup_fee_is_an_item(
    ctx: BillingContext, clock: MovableClock
) -> None:
    customer = await new_customer(ctx)
    sub = await subscribe(ctx, customer.id, "server-m")  # at START
    clock.now = at(2026, 12, 5)

    lines = await expected_lines(ctx, "2026-11")

    # Server M: 24.00 EUR a month. 2400 x 743,400 / 2,592,000 = 688.33 → 688 cents.
    # Setup fee: 15.00 EUR, queued for the November invoice.
    assert summary(lines) == [
        (f"fee:{sub}:2026-11", 688, 1, "EUR", sub),
        (f"item:setup:{sub}", 1500, 1, "EUR", sub),
    ]
    assert lines[0].description == "Server M: fee 2026-11-22 to 2026-12-01 (prorated)"
    assert lines[1].description == "Setup fee: Server M"
    # December is a full month.
    assert summary(await expected_lines(ctx, "2026-12")) == [
        (f"fee:{sub}:2026-12", 2400, 1, "EUR", sub)
    ]


async def test_a_fee_is_expected_once_its_period_started_and_not_before(
    ctx: BillingContext, clock: MovableClock
) -> None:
    customer = await new_customer(ctx)
    sub = await subscribe(ctx, customer.id, "server-s")
    clock.now = at(2026, 11, 30, 23, 59)

    assert await expected_lines(ctx, "2026-12") == []  # Stripe invoices it on the 1st

    clock.now = at(2026, 12, 1)
    assert summary(await expected_lines(ctx, "2026-12")) == [
        (f"fee:{sub}:2026-12", 900, 1, "EUR", sub)
    ]


async def test_a_trial_month_is_a_zero_line_and_the_rest_of_the_trial_month_is_prorated(
    ctx: BillingContext, clock: MovableClock
) -> None:
    customer = await new_customer(ctx)
    sub = await subscribe(ctx, customer.id, "support-20h")  # one month's trial from START
    clock.now = at(2027, 1, 5)

    november = await expected_lines(ctx, "2026-11")
    december = await expected_lines(ctx, "2026-12")

    # The trial, 2026-11-22 09:30 to 2026-12-22 09:30, is invoiced at 0.
    assert summary(november) == [(f"fee:{sub}:2026-11", 0, 1, "EUR", sub)]
    assert november[0].description == "Support Contract 20 h: trial 2026-11-22 to 2026-12-22"
    # Then 2026-12-22 09:30 to the anchor 2027-01-01: 9 days 14.5 h = 829,800 s of
    # December's 2,678,400 at 1500.00 EUR: 150000 x 829,800 / 2,678,400 = 46471.77 → 46472.
    assert summary(december) == [(f"fee:{sub}:2026-12", 46472, 1, "EUR", sub)]
    assert summary(await expected_lines(ctx, "2027-01")) == [
        (f"fee:{sub}:2027-01", 150000, 1, "EUR", sub)
    ]


async def test_a_yearly_plan_bills_its_first_partial_month_then_once_a_year(
    ctx: BillingContext, clock: MovableClock
) -> None:
    customer = await new_customer(ctx)
    sub = await subscribe(ctx, customer.id, "server-l")  # 768.00 EUR a year, at START
    clock.now = at(2027, 12, 2)

    # Anchored to the 1st: [START, 2026-12-01) against the year ending at that anchor:
    # 76800 x 743,400 / 31,536,000 = 1810.41 → 1810.
    assert summary(await expected_lines(ctx, "2026-11")) == [
        (f"fee:{sub}:2026-11", 1810, 1, "EUR", sub)
    ]
    # The first full year starts on 2026-12-01: the whole 768.00 EUR then.
    assert summary(await expected_lines(ctx, "2026-12")) == [
        (f"fee:{sub}:2026-12", 76800, 1, "EUR", sub)
    ]
    for month in ("2027-01", "2027-06", "2027-11"):
        assert await expected_lines(ctx, month) == []
    assert summary(await expected_lines(ctx, "2027-12")) == [
        (f"fee:{sub}:2027-12", 76800, 1, "EUR", sub)
    ]


# -- plan changes --------------------------------------------------------------------------


async def test_an_upgrade_mid_month_nets_a_credit_and_a_charge_each_rounded(
    ctx: BillingContext, clock: MovableClock
) -> None:
    customer = await new_customer(ctx)
    clock.now = at(2026, 10, 1)
    sub = await subscribe(ctx, customer.id, "server-s")
    clock.now = at(2026, 11, 20, 13, 15)
    await Subscriptions(ctx).change_plan(sub, "server-m")  # 9.00 → 24.00 EUR a month
    clock.now = at(2026, 12, 5)

    november = await expected_lines(ctx, "2026-11")

    # From 2026-11-20 13:15 to 2026-12-01: 10 days 10.75 h = 864,000 + 38,700 = 902,700 s.
    # Credit for Server S: 900 x 902,700 / 2,592,000 = 313.4375 → 313.
    # Charge for Server M: 2400 x 902,700 / 2,592,000 = 835.83 → 836.
    # Net 836 - 313 = 523 (rounding the net instead would give 522.40 → 522).
    # November's fee was invoiced on the 1st, on Server S: 900.
    assert summary(november) == [
        (f"fee:{sub}:2026-11", 900, 1, "EUR", sub),
        (f"proration:{sub}:2026-11", 523, 1, "EUR", sub),
    ]
    assert november[1].kind is LineKind.PRORATION
    assert "Server S to Server M on 2026-11-20 13:15 UTC" in november[1].description
    # From December on, the new plan's fee; October was the old plan's.
    assert summary(await expected_lines(ctx, "2026-12")) == [
        (f"fee:{sub}:2026-12", 2400, 1, "EUR", sub)
    ]
    assert summary(await expected_lines(ctx, "2026-10")) == [
        (f"fee:{sub}:2026-10", 900, 1, "EUR", sub)
    ]


async def test_a_checkout_subscription_is_billed_on_the_plan_it_was_bought_on(
    ctx: BillingContext, clock: MovableClock
) -> None:
    """Found by the year-long test: a subscription Checkout made has no create message, and
    its first plan was taken from its first change: an upgrade from Application Starter was
    expected at the Business price from the start, with Business's setup fee and no
    proration."""
    customer = await new_customer(ctx)
    async with ctx.sessions() as session, session.begin():
        # As Checkout left it: Stripe's subscription linked, no subscription.create queued.
        held = await make_subscription(
            session, await session.merge(customer), "app-starter", at(2026, 11, 1),
            stripe_subscription_id="sub_checkout",
        )  # fmt: skip
    clock.now = at(2026, 11, 20, 13, 15)
    await Subscriptions(ctx).change_plan(held.id, "app-business")  # 29.00 → 79.00 a month
    clock.now = at(2026, 12, 5)

    # November's fee was invoiced on the 1st at 2900. From 2026-11-20 13:15, 902,700 s:
    # credit 2900 x 902,700 / 2,592,000 = 1009.97 → 1010, charge 7900 x 902,700 /
    # 2,592,000 = 2751.28 → 2751; net 1741. No setup fee: Application Starter has none.
    assert summary(await expected_lines(ctx, "2026-11")) == [
        (f"fee:{held.id}:2026-11", 2900, 1, "EUR", held.id),
        (f"proration:{held.id}:2026-11", 1741, 1, "EUR", held.id),
    ]


async def test_a_downgrade_counts_from_the_period_end_by_a_proration_at_the_boundary(
    ctx: BillingContext, clock: MovableClock
) -> None:
    customer = await new_customer(ctx)
    clock.now = at(2026, 11, 1)
    subscriptions = Subscriptions(ctx)
    sub = await subscribe(ctx, customer.id, "server-m")
    clock.now = at(2026, 11, 10)
    await subscriptions.change_plan(sub, "server-s")  # waits for the period end
    await subscriptions.roll_periods(at(2026, 12, 1))  # queues the update then
    clock.now = at(2026, 12, 5)

    assert summary(await expected_lines(ctx, "2026-11")) == [
        (f"fee:{sub}:2026-11", 2400, 1, "EUR", sub),
        (f"item:setup:{sub}", 1500, 1, "EUR", sub),
    ]
    # Stripe invoiced December at the old price at midnight, before the worker's change
    # arrived: the change credits it and charges the new one from the boundary (net 900).
    assert summary(await expected_lines(ctx, "2026-12")) == [
        (f"fee:{sub}:2026-12", 2400, 1, "EUR", sub),
        (f"proration:{sub}:2026-12", -1500, 1, "EUR", sub),
    ]


# -- endings ---------------------------------------------------------------------------------


async def test_a_cancelled_subscription_is_billed_up_to_its_end(
    ctx: BillingContext, clock: MovableClock
) -> None:
    customer = await new_customer(ctx)
    clock.now = at(2026, 10, 1)
    subscriptions = Subscriptions(ctx)
    at_period_end = await subscribe(ctx, customer.id, "server-s")
    at_once = await subscribe(ctx, customer.id, "server-l")
    clock.now = at(2026, 11, 10)
    await subscriptions.cancel(at_period_end)  # ends 2026-12-01
    await subscriptions.cancel(at_once, immediately=True)  # ends now, nothing refunded
    await subscriptions.roll_periods(at(2026, 12, 1))
    clock.now = at(2027, 1, 5)

    # Server L's year from 2026-10-01 was invoiced in full in October; nothing comes back.
    assert sorted(summary(await expected_lines(ctx, "2026-10"))) == sorted(
        [
            (f"fee:{at_period_end}:2026-10", 900, 1, "EUR", at_period_end),
            (f"fee:{at_once}:2026-10", 76800, 1, "EUR", at_once),
        ]
    )
    assert summary(await expected_lines(ctx, "2026-11")) == [
        (f"fee:{at_period_end}:2026-11", 900, 1, "EUR", at_period_end)
    ]
    assert await expected_lines(ctx, "2026-12") == []


async def test_an_end_of_term_cancellation_prorates_the_last_period(
    ctx: BillingContext, clock: MovableClock
) -> None:
    customer = await new_customer(ctx)
    clock.now = at(2026, 11, 2, 10)
    sub = await subscribe(ctx, customer.id, "support-flat")  # 12 months, end of term
    clock.now = at(2026, 11, 10)
    await Subscriptions(ctx).cancel(sub)  # ends when the commitment does, 2027-11-02 10:00
    clock.now = at(2027, 12, 5)

    # October 2027 is a full month at 390.00 EUR.
    assert summary(await expected_lines(ctx, "2027-10")) == [
        (f"fee:{sub}:2027-10", 39000, 1, "EUR", sub)
    ]
    # Stripe knew the end before November 2027 began, so that period is cut at it:
    # 1 day 10 h = 122,400 s of 2,592,000: 39000 x 122,400 / 2,592,000 = 1841.67 → 1842.
    assert summary(await expected_lines(ctx, "2027-11")) == [
        (f"fee:{sub}:2027-11", 1842, 1, "EUR", sub)
    ]
    assert await expected_lines(ctx, "2027-12") == []


async def test_an_early_cancellation_charge_is_an_item_and_the_year_is_not_billed(
    ctx: BillingContext, clock: MovableClock
) -> None:
    customer = await new_customer(ctx)
    clock.now = at(2026, 11, 2)
    sub = await subscribe(ctx, customer.id, "support-10h")  # 8400.00 a year, 12 months
    clock.now = at(2026, 11, 20)
    await Subscriptions(ctx).cancel(sub)  # policy "fee": 1400.00 now, ends 2026-12-01
    clock.now = at(2026, 12, 5)

    # [2026-11-02, 2026-12-01): 29 days = 2,505,600 s of the year's 31,536,000:
    # 840000 x 2,505,600 / 31,536,000 = 66739.73 → 66740. The cancellation fee 1400.00.
    assert summary(await expected_lines(ctx, "2026-11")) == [
        (f"fee:{sub}:2026-11", 66740, 1, "EUR", sub),
        (f"item:cancel-{sub}", 140000, 1, "EUR", sub),
    ]
    # The subscription ends on the anchor: the year from 2026-12-01 is never billed.
    assert await expected_lines(ctx, "2026-12") == []


# -- usage and services --------------------------------------------------------------------


async def test_hour_bank_overage_is_a_usage_line_in_billed_increments(
    ctx: BillingContext, clock: MovableClock
) -> None:
    customer = await new_customer(ctx)
    sub = await subscribe(ctx, customer.id, "support-10h")  # at START, 10 h included a month
    ledger = Ledger(ctx)
    clock.now = at(2026, 11, 28, 18)
    await ledger.record(customer.id, 590, "mail server", "ana", worked_at=at(2026, 11, 23, 9))
    await ledger.record(customer.id, 20, "backup", "ben", worked_at=at(2026, 11, 24, 9))
    await ledger.record(customer.id, 100, "upgrade", "ana", worked_at=at(2026, 11, 25, 9))
    # Usage is invoiced when its period ends: not yet.
    assert [line.kind for line in await expected_lines(ctx, "2026-11")] == [LineKind.FEE]
    clock.now = at(2026, 12, 5)

    lines = await expected_lines(ctx, "2026-11")

    # Fee: 840000 x 743,400 / 31,536,000 = 19801.37 → 19801.
    # Time in 15-minute steps: 590 → 600, 20 → 30, 100 → 105: 735 used, 600 included,
    # 135 billable = 9 increments of 85.00 x 15 / 60 = 21.25 EUR: 9 x 2125 = 19125.
    assert summary(lines) == [
        (f"fee:{sub}:2026-11", 19801, 1, "EUR", sub),
        (f"usage:{sub}:2026-11", 19125, 9, "EUR", sub),
    ]
    assert lines[1].kind is LineKind.USAGE
    assert "135 min" in lines[1].description


async def test_time_past_the_hours_of_a_trial_is_an_item_not_usage(
    ctx: BillingContext, clock: MovableClock
) -> None:
    """Found by the year-long test: minutes over the hours of a trial go on the first paid
    invoice as an item (Stripe charges no meter usage in a trial), and were expected on
    the trial's usage line as well."""
    customer = await new_customer(ctx)
    sub = await subscribe(ctx, customer.id, "support-20h")  # a month's trial from START
    ledger = Ledger(ctx)
    clock.now = at(2026, 11, 30, 18)
    for day in (23, 24):
        await ledger.record(customer.id, 660, "migration", "ana", worked_at=at(2026, 11, day, 9))
    clock.now = at(2027, 1, 5)  # the trial's cycle ended on 2026-12-22

    # 1320 minutes in the trial, 1200 included: 120 over, 8 increments of 80.00 x 15 / 60
    # = 20.00, billed as an item on the first paid invoice (December), none as usage.
    assert summary(await expected_lines(ctx, "2026-11")) == [
        (f"fee:{sub}:2026-11", 0, 1, "EUR", sub)
    ]
    [item] = [line for line in await expected_lines(ctx, "2026-12") if line.kind is LineKind.ITEM]
    assert (item.amount, item.subscription_id) == (16000, sub)


async def test_a_yearly_hour_bank_bills_a_months_overage_when_the_month_closes(
    ctx: BillingContext, clock: MovableClock
) -> None:
    """Issue 10, item 12: a yearly plan's metered price shared its fee's interval, so
    December's overage waited for the year's invoice on 2027-12-01. It is expected on the
    invoice Dockyard makes when December closes, in increments as a meter would bill it."""
    customer = await new_customer(ctx)
    sub = await subscribe(ctx, customer.id, "support-10h")  # at START, yearly from 2026-12-01
    clock.now = at(2026, 12, 10, 18)
    await Ledger(ctx).record(customer.id, 700, "migration", "ana", worked_at=at(2026, 12, 10, 9))
    clock.now = at(2027, 1, 1, 0, 30)  # December ended; its close is not due yet

    assert summary(await expected_lines(ctx, "2026-12")) == [
        (f"fee:{sub}:2026-12", 840000, 1, "EUR", sub)
    ]

    clock.now = at(2027, 1, 5)
    # 700 → 705 in 15-minute steps, 600 included: 105 billable = 7 x 2125 = 14875.
    lines = await expected_lines(ctx, "2026-12")
    assert summary(lines) == [
        (f"fee:{sub}:2026-12", 840000, 1, "EUR", sub),
        (f"usage:{sub}:2026-12", 14875, 7, "EUR", sub),
    ]
    # Read from Stripe through January, not a year on.
    assert read_until(Period(2026, 12), lines) == at(2027, 2, 1)
    assert summary(await expected_lines(ctx, "2027-01")) == []  # no fee, no minutes


async def test_extra_work_and_services_are_items_and_a_package_is_owed_once(
    ctx: BillingContext, clock: MovableClock
) -> None:
    customer = await new_customer(ctx)
    clock.now = at(2026, 11, 2, 10)
    flat = await subscribe(ctx, customer.id, "support-flat")
    developer = await subscribe(ctx, customer.id, "developer-service")
    training = await subscribe(ctx, customer.id, "training-onboarding")
    ledger = Ledger(ctx)
    clock.now = at(2026, 11, 12, 17)
    extra = await ledger.record(customer.id, 50, "data import", "ana", extra_work=True)
    service = await ledger.record(
        customer.id, 45, "API change", "ben", category=EntryCategory.DEVELOPER_SERVICE
    )
    clock.now = at(2026, 12, 5)

    lines = await expected_lines(ctx, "2026-11")

    # Flat rate, from 2026-11-02 10:00: 28 days 14 h = 2,469,600 s of 2,592,000 at
    # 390.00 EUR: 39000 x 2,469,600 / 2,592,000 = 37158.33 → 37158.
    # Extra work: 50 min → 60 (15-minute steps) at 95.00 EUR an hour = 9500.
    # Developer service: 45 min → 60 (at least an hour) at 110.00 EUR = 11000; no fee.
    # Training: a one-off package, 480.00 EUR.
    assert sorted(summary(lines)) == sorted(
        [
            (f"fee:{flat}:2026-11", 37158, 1, "EUR", flat),
            (f"item:{extra.id}", 9500, 1, "EUR", flat),
            (f"item:{service.id}", 11000, 1, "EUR", developer),
            (f"item:package:{training}", 48000, 1, "EUR", training),
        ]
    )
    assert all(line.customer_id == customer.id for line in lines)
    # December: the flat rate's fee only; a service or a package has none.
    assert summary(await expected_lines(ctx, "2026-12")) == [
        (f"fee:{flat}:2026-12", 39000, 1, "EUR", flat)
    ]


async def test_items_are_expected_whatever_their_outbox_state(
    ctx: BillingContext, clock: MovableClock
) -> None:
    customer = await new_customer(ctx)
    sub = await subscribe(ctx, customer.id, "server-m")
    (setup,) = await outbox(ctx, "invoice_item")
    await set_state(ctx, setup.id, OutboxState.DEAD)
    clock.now = at(2026, 12, 5)

    keys = [line.key for line in await expected_lines(ctx, "2026-11")]

    assert f"item:setup:{sub}" in keys


# -- what is never expected, and filters ------------------------------------------------------


async def test_pending_and_never_started_subscriptions_are_not_expected(
    ctx: BillingContext, clock: MovableClock
) -> None:
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, START)
        await make_subscription(session, customer, "server-s", START, state="pending")
        # Cancelled while waiting for checkout: never created in Stripe.
        await make_subscription(
            session, customer, "server-s", START, state="cancelled", ended_at=at(2026, 11, 23)
        )
    clock.now = at(2026, 12, 5)

    assert await expected_lines(ctx, "2026-11") == []


async def test_a_customer_filter_restricts_every_kind_of_line(
    ctx: BillingContext, clock: MovableClock
) -> None:
    ann = await new_customer(ctx, "ann@example.com")
    bob = await new_customer(ctx, "bob@example.com")
    ann_sub = await subscribe(ctx, ann.id, "server-m")
    await subscribe(ctx, bob.id, "server-m")
    await subscribe(ctx, bob.id, "support-payg")
    clock.now = at(2026, 11, 28)
    await Ledger(ctx).record(bob.id, 60, "help", "ana", worked_at=at(2026, 11, 27))
    clock.now = at(2026, 12, 5)

    everyone = await expected_lines(ctx, "2026-11")
    only_ann = await expected_lines(ctx, "2026-11", customer_id=ann.id)

    assert {line.customer_id for line in everyone} == {ann.id, bob.id}
    assert summary(only_ann) == [
        (f"fee:{ann_sub}:2026-11", 688, 1, "EUR", ann_sub),  # as in the mid-month test
        (f"item:setup:{ann_sub}", 1500, 1, "EUR", ann_sub),
    ]
    assert [a.customer_id for a in await usage_accounts(ctx, "2026-11", bob.id)] == [bob.id]
    assert await usage_accounts(ctx, "2026-11", ann.id) == []


async def test_bad_input_is_refused_with_a_clear_message(ctx: BillingContext) -> None:
    with pytest.raises(InvalidPeriod, match="YYYY-MM"):
        await expected_lines(ctx, "November")
    with pytest.raises(UnknownCustomer, match="c-nobody"):
        await expected_lines(ctx, "2026-11", customer_id="c-nobody")
    with pytest.raises(UnknownCustomer):
        await usage_accounts(ctx, "2026-11", customer_id="c-nobody")


# -- usage accounts ------------------------------------------------------------------------


async def test_usage_accounts_split_meter_events_by_outbox_state(
    ctx: BillingContext, clock: MovableClock
) -> None:
    customer = await new_customer(ctx)
    await new_customer(ctx, "idle@example.com")  # no time logged: no account
    await subscribe(ctx, customer.id, "support-payg")  # every quarter hour, 30 min at least
    ledger = Ledger(ctx)
    clock.now = at(2026, 11, 30, 12)
    for minutes, day in ((20, 23), (45, 24), (50, 25)):
        await ledger.record(customer.id, minutes, "help", "ana", worked_at=at(2026, 11, day))
    clock.now = at(2026, 12, 2, 12)
    await ledger.record(customer.id, 15, "help", "ana")  # December's: another period
    sent, waiting, dead, _december = await outbox(ctx, "meter_event")
    await set_state(ctx, sent.id, OutboxState.SENT)
    await set_state(ctx, waiting.id, OutboxState.RETRYING)
    await set_state(ctx, dead.id, OutboxState.DEAD)

    accounts = await usage_accounts(ctx, "2026-11")

    # 20 → 30 (the minimum), 45 → 45, 50 → 60: 135 billable minutes in November.
    assert accounts == [
        UsageAccount(
            customer_id=customer.id,
            period="2026-11",
            billable_minutes=135,
            sent_minutes=30,
            waiting_minutes=45,
            dead_minutes=60,
            waiting_ids=(waiting.id,),
            dead_ids=(dead.id,),
        )
    ]
    # December: 15 → 30, its meter event still pending.
    (december,) = await usage_accounts(ctx, "2026-12")
    assert (december.billable_minutes, december.waiting_minutes) == (30, 30)


async def test_per_hour_support_is_a_monthly_usage_line(
    ctx: BillingContext, clock: MovableClock
) -> None:
    customer = await new_customer(ctx)
    clock.now = at(2026, 11, 1)
    sub = await subscribe(ctx, customer.id, "support-payg")  # 0.00 EUR a month, 95.00 an hour
    ledger = Ledger(ctx)
    clock.now = at(2026, 11, 30, 12)
    for minutes, day in ((20, 23), (45, 24), (50, 25)):
        await ledger.record(customer.id, minutes, "help", "ana", worked_at=at(2026, 11, day))
    clock.now = at(2026, 12, 5)

    # 30 + 45 + 60 = 135 min = 9 increments of 95.00 x 15 / 60 = 23.75 EUR: 21375.
    # The fee price is 0.00: Stripe still bills a zero line.
    assert summary(await expected_lines(ctx, "2026-11")) == [
        (f"fee:{sub}:2026-11", 0, 1, "EUR", sub),
        (f"usage:{sub}:2026-11", 21375, 9, "EUR", sub),
    ]
    # December: nothing logged, nothing sent: no usage line, only the zero fee.
    clock.now = at(2027, 1, 5)
    assert summary(await expected_lines(ctx, "2026-12")) == [
        (f"fee:{sub}:2026-12", 0, 1, "EUR", sub)
    ]


# -- the arithmetic on its own ----------------------------------------------------------------


def test_cycles_start_at_the_anchor_after_a_trial_and_without_a_partial_on_the_first() -> None:
    on_the_first = cycles(at(2026, 11, 1), None, 1, at(2027, 1, 1))
    assert [(c.start, c.end, c.partial) for c in on_the_first] == [
        (at(2026, 11, 1), at(2026, 12, 1), False),
        (at(2026, 12, 1), at(2027, 1, 1), False),
    ]
    trial = cycles(START, at(2026, 12, 22, 9, 30), 1, at(2027, 2, 1))
    assert [(c.start, c.end, c.trial) for c in trial] == [
        (START, at(2026, 12, 22, 9, 30), True),
        (at(2026, 12, 22, 9, 30), at(2027, 1, 1), False),  # prorated against December
        (at(2027, 1, 1), at(2027, 2, 1), False),
    ]
    assert (trial[1].cycle_start, trial[1].cycle_end) == (at(2026, 12, 1), at(2027, 1, 1))
    with pytest.raises(ValueError, match="whole number of months"):
        cycles(START, None, 0, at(2027, 1, 1))


def test_prorate_rounds_to_the_nearest_minor_unit_and_a_credit_mirrors_a_charge() -> None:
    assert prorate(2400, 743_400, 2_592_000) == 688  # 688.33
    assert prorate(900, 1, 2) == 450
    assert prorate(3, 1, 2) == 2  # 1.5: a half rounds away from zero
    assert prorate(-3, 1, 2) == -2


def test_a_usage_charge_with_a_decimal_increment_price_rounds_the_line() -> None:
    plan = SupportPlan(
        id="support-odd",
        version=1,
        name="Odd rate",
        pricing=Pricing(Money("EUR", 0), Interval.MONTH),
        terms=PerHour(hourly_rate=Money("EUR", 9001), monthly_cap_minutes=600),
        coverage=Coverage((SupportScope.USAGE,), CoverageHours.ALWAYS),
    )
    # 90.01 EUR an hour: a 15-minute increment is 9001 x 15 / 60 = 2250.25 cents.
    # 40 minutes → 3 increments (rounded up) = 6750.75 → 6751.
    assert usage_charge(plan, 40) == (3, 6751)
    assert usage_charge(plan, 0) == (0, 0)
