"""Subscriptions through time: trials, periods, commitments, plan changes, cancellation.

The clock moves across month ends; every Stripe-bound change is checked in the outbox
(kind, key, payload). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.context import BillingContext
from billing.customers import Customers
from billing.errors import CurrencyMismatch, InvalidTransition, UnknownCustomer
from billing.models import Customer, OutboxMessage, Subscription
from billing.periods import add_months, monthly_price
from billing.subscriptions.cancellation import cancellation_terms
from billing.subscriptions.lifecycle import Subscriptions
from plans import UnknownPlan
from plans.model import Commitment, EarlyCancellation
from tests.fixtures.billing import sample_catalog
from tests.fixtures.billing_subscriptions import (
    START,
    FakeRuntime,
    at,
    cli_root,
    epoch,
    new_customer,
    offline_context,
    outbox,
    stripe_context,
)
from tests.fixtures.clock import MovableClock

# START is 2026-11-22 09:30 UTC.
TRIAL_END = at(2026, 12, 22, 9, 30)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(START)


@pytest.fixture
def ctx(engine: AsyncEngine, clock: MovableClock) -> BillingContext:
    return offline_context(engine, clock)


@pytest.fixture
async def customer(ctx: BillingContext) -> Customer:
    return await new_customer(ctx)


@pytest.fixture
def subs(ctx: BillingContext) -> Subscriptions:
    return Subscriptions(ctx)


# -- calendar and money helpers (pure) --------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (at(2026, 11, 22, 9, 30), 1, at(2026, 12, 22, 9, 30)),
        (at(2026, 11, 22), 6, at(2027, 5, 22)),
        (at(2026, 11, 22), 12, at(2027, 11, 22)),
        (at(2027, 1, 31), 1, at(2027, 2, 28)),  # no 31 February: the last day
        (at(2028, 1, 31), 1, at(2028, 2, 29)),
        (at(2026, 12, 15), 14, at(2028, 2, 15)),
    ],
)
def test_add_months(start: datetime, months: int, expected: datetime) -> None:
    assert add_months(start, months) == expected


def test_the_monthly_price_spreads_a_yearly_fee_over_12_months() -> None:
    assert monthly_price(sample_catalog().get("app-business")) == 7900
    assert monthly_price(sample_catalog().get("server-l")) == 6400  # 768.00 a year


async def early_cancellation_items(ctx: BillingContext) -> list[OutboxMessage]:
    """Invoice items other than setup fees (app-business has one)."""
    items = await outbox(ctx, "invoice_item")
    return [item for item in items if not item.payload["entry_id"].startswith("setup:")]


# -- subscribing ------------------------------------------------------------------------


async def test_offline_a_trial_starts_at_once_and_create_waits_in_the_outbox(
    subs: Subscriptions, customer: Customer
) -> None:
    subscription = await subs.subscribe(customer.id, "app-starter", stripe_checkout=True)

    assert re.fullmatch(r"s[0-9a-f]{12}", subscription.id)
    assert (subscription.plan_id, subscription.plan_version) == ("app-starter", 1)
    assert subscription.state == "trialing"
    assert subscription.started_at == START
    assert subscription.trial_ends_at == TRIAL_END  # one month free
    assert subscription.commitment_ends_at is None
    assert (subscription.period_start, subscription.period_end) == (
        at(2026, 11, 1),
        at(2026, 12, 1),
    )
    (message,) = await outbox(subs.ctx, "subscription.create")
    assert message.idempotency_key == f"subscription.create:{subscription.id}"
    assert message.state == "pending"
    assert message.payload == {
        "subscription_id": subscription.id,
        "customer_id": customer.id,
        "plan_id": "app-starter",
        "plan_version": 1,
        "trial_end": epoch(TRIAL_END),
    }


async def test_a_plan_without_trial_is_active_at_once(
    subs: Subscriptions, customer: Customer
) -> None:
    subscription = await subs.subscribe(customer.id, "support-flat", stripe_checkout=False)

    assert subscription.state == "active"
    assert subscription.trial_ends_at is None
    assert subscription.commitment_ends_at == at(2027, 11, 22, 9, 30)
    (message,) = await outbox(subs.ctx, "subscription.create")
    assert message.payload["trial_end"] is None


async def test_a_setup_fee_goes_on_the_first_invoice_once(
    subs: Subscriptions, customer: Customer
) -> None:
    subscription = await subs.subscribe(customer.id, "app-business", stripe_checkout=False)
    await subs.subscribe(customer.id, "app-starter", stripe_checkout=False)  # no setup fee

    (message,) = await outbox(subs.ctx, "invoice_item")
    assert message.idempotency_key == f"invoice_item:setup:{subscription.id}"
    assert message.payload == {
        "customer_id": customer.id,
        "entry_id": f"setup:{subscription.id}",
        "amount_minor": 4900,
        "currency": "EUR",
        "description": "Setup fee: Application Business",
        "period": "2026-11",
    }


async def test_with_stripe_checkout_it_waits_pending_for_the_webhook(
    engine: AsyncEngine, clock: MovableClock
) -> None:
    ctx = stripe_context(engine, clock)
    customer = await new_customer(ctx)
    subs = Subscriptions(ctx)

    pending = await subs.subscribe(customer.id, "app-starter", stripe_checkout=True)
    assert pending.state == "pending"
    assert await outbox(ctx, "subscription.create") == []  # Checkout creates it in Stripe

    # An operator's subscription (no checkout) starts at once and is created by the worker.
    direct = await subs.subscribe(customer.id, "app-starter", stripe_checkout=False)
    assert direct.state == "trialing"
    (message,) = await outbox(ctx, "subscription.create")
    assert message.payload["subscription_id"] == direct.id


async def test_without_a_version_the_newest_available_today_is_taken(
    subs: Subscriptions, customer: Customer, clock: MovableClock
) -> None:
    # server-s version 2 is offered from 2026-12-01.
    assert (await subs.subscribe(customer.id, "server-s", stripe_checkout=False)).plan_version == 1
    clock.now = at(2026, 12, 5)
    assert (await subs.subscribe(customer.id, "server-s", stripe_checkout=False)).plan_version == 2
    pinned = await subs.subscribe(customer.id, "server-s", 1, stripe_checkout=False)
    assert pinned.plan_version == 1
    assert [s.id for s in await subs.for_customer(customer.id)] == [
        s.id for s in await subs.list(customer.id)
    ]
    assert len(await subs.for_customer(customer.id)) == 3


async def test_subscribing_refuses_wrong_currency_unknown_plan_and_customer(
    subs: Subscriptions, ctx: BillingContext
) -> None:
    dollars = await Customers(ctx).create("us@example.com", "US Inc", currency="USD")

    with pytest.raises(CurrencyMismatch, match="priced in EUR but the customer pays in USD"):
        await subs.subscribe(dollars.id, "app-starter", stripe_checkout=False)
    with pytest.raises(UnknownPlan, match="'app-huge' is not in the catalog"):
        await subs.subscribe(dollars.id, "app-huge", stripe_checkout=False)
    with pytest.raises(UnknownCustomer):
        await subs.subscribe("c000000000000", "app-starter", stripe_checkout=False)
    with pytest.raises(UnknownCustomer):
        await subs.for_customer("c000000000000")
    assert await outbox(ctx, "subscription.create") == []


# -- time passing -----------------------------------------------------------------------


async def test_the_trial_is_the_first_month_free_then_it_turns_active(
    subs: Subscriptions, customer: Customer
) -> None:
    subscription = await subs.subscribe(customer.id, "app-starter", stripe_checkout=False)

    changes = await subs.roll_periods(at(2026, 12, 1))
    assert [c.what for c in changes] == ["period 2026-12"]
    rolled = await subs.get(subscription.id)
    assert (rolled.state, rolled.period_start, rolled.period_end) == (
        "trialing",
        at(2026, 12, 1),
        at(2027, 1, 1),
    )

    assert await subs.roll_periods(at(2026, 12, 22, 9, 29)) == []
    changes = await subs.roll_periods(TRIAL_END)
    assert [(c.what, c.at) for c in changes] == [("trial ended", TRIAL_END)]
    assert (await subs.get(subscription.id)).state == "active"
    assert await subs.roll_periods(TRIAL_END) == []  # idempotent


async def test_a_late_roll_catches_up_month_by_month_in_order(
    subs: Subscriptions, customer: Customer
) -> None:
    subscription = await subs.subscribe(customer.id, "app-starter", stripe_checkout=False)

    changes = await subs.roll_periods(at(2027, 3, 15))

    assert [c.what for c in changes] == [
        "period 2026-12",
        "trial ended",
        "period 2027-01",
        "period 2027-02",
        "period 2027-03",
    ]
    rolled = await subs.get(subscription.id)
    assert (rolled.state, rolled.period_start, rolled.period_end) == (
        "active",
        at(2027, 3, 1),
        at(2027, 4, 1),
    )


# -- cancelling -------------------------------------------------------------------------


async def test_outside_a_commitment_cancelling_ends_at_the_period_end(
    subs: Subscriptions, customer: Customer, clock: MovableClock
) -> None:
    subscription = await subs.subscribe(customer.id, "server-m", stripe_checkout=False)
    clock.now = at(2027, 2, 10)  # the worker has not rolled yet: still the current month

    cancelled = await subs.cancel(subscription.id)

    assert cancelled.cancel_at == at(2027, 3, 1)
    assert cancelled.state == "active"
    (update,) = await outbox(subs.ctx, "subscription.update")
    assert update.idempotency_key == f"subscription.update:{subscription.id}:1"
    assert update.payload == {
        "customer_id": customer.id,
        "number": 1,
        "subscription_id": subscription.id,
        "plan_id": "server-m",
        "plan_version": 1,
        "from_plan_id": "server-m",  # a cancellation changes no plan
        "from_plan_version": 1,
        "proration_behavior": "none",
        "cancel_at": epoch(at(2027, 3, 1)),
        "changed_at": epoch(at(2027, 2, 10)),
    }
    # Cancelling again changes nothing and queues nothing.
    await subs.cancel(subscription.id)
    assert len(await outbox(subs.ctx, "subscription.update")) == 1

    await subs.roll_periods(at(2027, 2, 28, 23, 59))
    assert (await subs.get(subscription.id)).state == "active"
    await subs.roll_periods(at(2027, 3, 1))
    ended = await subs.get(subscription.id)
    assert (ended.state, ended.ended_at) == ("cancelled", at(2027, 3, 1))
    with pytest.raises(InvalidTransition, match="already cancelled"):
        await subs.cancel(subscription.id)


async def test_a_commitment_starts_when_the_trial_ends(
    subs: Subscriptions, customer: Customer, clock: MovableClock
) -> None:
    # support-20h: one month free (to 2026-12-22 09:30), then 6 months committed, end_of_term.
    subscription = await subs.subscribe(customer.id, "support-20h", stripe_checkout=False)
    commitment_end = at(2027, 6, 22, 9, 30)
    assert subscription.commitment_ends_at == commitment_end
    clock.now = at(2027, 1, 10)
    await subs.roll_periods(clock.now)

    cancelled = await subs.cancel(subscription.id)

    assert cancelled.cancel_at == commitment_end
    (update,) = await outbox(subs.ctx, "subscription.update")
    assert update.payload["cancel_at"] == epoch(commitment_end)
    assert await outbox(subs.ctx, "invoice_item") == []
    await subs.roll_periods(at(2027, 6, 22, 9, 29))
    still = await subs.get(subscription.id)
    assert (still.state, still.period_start) == ("active", at(2027, 6, 1))
    changes = await subs.roll_periods(at(2027, 7, 3))
    assert [c.what for c in changes] == ["cancelled"]
    ended = await subs.get(subscription.id)
    assert (ended.state, ended.ended_at) == ("cancelled", commitment_end)


async def test_cancelling_during_the_trial_ends_it_with_the_trial_and_owes_nothing(
    subs: Subscriptions, customer: Customer, clock: MovableClock
) -> None:
    # support-20h's 6-month commitment (end_of_term) would only start on 2026-12-22 09:30.
    subscription = await subs.subscribe(customer.id, "support-20h", stripe_checkout=False)
    clock.now = at(2026, 12, 5)
    await subs.roll_periods(clock.now)

    cancelled = await subs.cancel(subscription.id)

    assert cancelled.cancel_at == TRIAL_END
    assert await outbox(subs.ctx, "invoice_item") == []
    (update,) = await outbox(subs.ctx, "subscription.update")
    assert update.payload["cancel_at"] == epoch(TRIAL_END)
    changes = await subs.roll_periods(TRIAL_END)
    assert [c.what for c in changes] == ["cancelled"]
    ended = await subs.get(subscription.id)
    assert (ended.state, ended.ended_at) == ("cancelled", TRIAL_END)


async def test_six_month_pay_remaining_ends_at_the_period_end_and_invoices_the_rest(
    subs: Subscriptions, customer: Customer, clock: MovableClock
) -> None:
    # app-business: 79.00 a month, 6 months, pay_remaining.
    subscription = await subs.subscribe(customer.id, "app-business", stripe_checkout=False)
    clock.now = at(2027, 1, 10)

    cancelled = await subs.cancel(subscription.id)

    assert cancelled.cancel_at == at(2027, 2, 1)
    (item,) = await early_cancellation_items(subs.ctx)
    assert item.idempotency_key == f"invoice_item:cancel-{subscription.id}"
    # February to April in full, then 1 May to 22 May 09:30 (21 days 9.5 hours of 31 days).
    assert item.payload == {
        "customer_id": customer.id,
        "entry_id": f"cancel-{subscription.id}",
        "amount_minor": 29152,
        "currency": "EUR",
        "description": "Application Business: remaining commitment 2027-02-01 to 2027-05-22",
        "period": "2027-01",
    }
    (update,) = await outbox(subs.ctx, "subscription.update")
    assert update.payload["cancel_at"] == epoch(at(2027, 2, 1))
    await subs.roll_periods(at(2027, 2, 1))
    assert (await subs.get(subscription.id)).ended_at == at(2027, 2, 1)


async def test_a_yearly_plan_runs_to_the_end_of_its_paid_year(
    subs: Subscriptions, customer: Customer, clock: MovableClock
) -> None:
    # Both yearly, 12 months committed from 2026-11-22 09:30. Stripe invoiced 22-30 November
    # (prorated) and then the year from 2026-12-01: paid through 2027-12-01.
    server = await subs.subscribe(customer.id, "server-l", stripe_checkout=False)  # end_of_term
    support = await subs.subscribe(customer.id, "support-10h", stripe_checkout=False)  # fee
    clock.now = at(2027, 3, 3)

    assert (await subs.cancel(server.id)).cancel_at == at(2027, 12, 1)
    assert (await subs.cancel(support.id)).cancel_at == at(2027, 12, 1)

    # The year paid covers the commitment: a fee on top would cost more than staying.
    assert await early_cancellation_items(subs.ctx) == []
    updates = await outbox(subs.ctx, "subscription.update")
    assert [(u.idempotency_key, u.payload["cancel_at"]) for u in updates] == [
        (f"subscription.update:{server.id}:1", epoch(at(2027, 12, 1))),
        (f"subscription.update:{support.id}:1", epoch(at(2027, 12, 1))),
    ]
    await subs.roll_periods(at(2027, 11, 30))
    assert (await subs.get(support.id)).state == "active"
    await subs.roll_periods(at(2027, 12, 1))
    assert (await subs.get(support.id)).ended_at == at(2027, 12, 1)


async def test_a_yearly_fee_is_charged_before_the_year_is_invoiced(
    subs: Subscriptions, customer: Customer, clock: MovableClock
) -> None:
    support = await subs.subscribe(customer.id, "support-10h", stripe_checkout=False)
    clock.now = at(2026, 11, 25)  # only 22-30 November is invoiced

    assert (await subs.cancel(support.id)).cancel_at == at(2026, 12, 1)

    (item,) = await early_cancellation_items(subs.ctx)
    assert item.payload["amount_minor"] == 140000  # the plan's fee: less than the year
    assert item.payload["currency"] == "EUR"
    assert item.payload["description"] == "Support Contract 10 h: early cancellation fee"
    assert item.payload["customer_id"] == customer.id


def test_yearly_pay_remaining_charges_only_the_committed_time_after_the_paid_year() -> None:
    # 768.00 a year, 24 months committed from 2026-11-22 09:30 (to 2028-11-22 09:30).
    server_l = sample_catalog().get("server-l")
    commitment = Commitment(24, EarlyCancellation.PAY_REMAINING)
    plan = replace(server_l, pricing=replace(server_l.pricing, commitment=commitment))
    subscription = Subscription(
        id="s000000000001",
        customer_id="c000001",
        plan_id=plan.id,
        plan_version=plan.version,
        state="active",
        started_at=START,
        commitment_ends_at=at(2028, 11, 22, 9, 30),
        period_start=at(2027, 3, 1),
        period_end=at(2027, 4, 1),
        created_at=START,
    )

    terms = cancellation_terms(subscription, plan, at(2027, 3, 3))

    assert terms.ends_at == at(2027, 12, 1)  # the year invoiced on 2026-12-01 runs out
    assert terms.policy is EarlyCancellation.PAY_REMAINING
    # 2027-12-01 to 2028-11-22 09:30 of the (leap) year to 2028-12-01, as Stripe prorates it.
    assert terms.charge_minor == round(76800 * Fraction(357 * 48 + 19, 366 * 48))
    assert terms.charge_description == ("Server L: remaining commitment 2027-12-01 to 2028-11-22")
    after_the_year = cancellation_terms(subscription, plan, at(2028, 1, 10))
    assert (after_the_year.ends_at, after_the_year.charge_minor) == (at(2028, 12, 1), 0)


async def test_after_the_commitment_cancelling_ends_at_the_paid_through_date_without_charges(
    subs: Subscriptions, customer: Customer, clock: MovableClock
) -> None:
    yearly = await subs.subscribe(customer.id, "support-10h", stripe_checkout=False)
    monthly = await subs.subscribe(customer.id, "support-flat", stripe_checkout=False)
    clock.now = at(2027, 12, 5)  # the 12 months ended on 2027-11-22

    # The second year was invoiced on 2027-12-01; a month runs to the next 1st.
    assert (await subs.cancel(yearly.id)).cancel_at == at(2028, 12, 1)
    assert (await subs.cancel(monthly.id)).cancel_at == at(2028, 1, 1)
    assert await outbox(subs.ctx, "invoice_item") == []


async def test_cancelling_immediately_ends_now_and_still_charges_the_policy(
    subs: Subscriptions, customer: Customer, clock: MovableClock
) -> None:
    business = await subs.subscribe(customer.id, "app-business", stripe_checkout=False)
    starter = await subs.subscribe(customer.id, "app-starter", stripe_checkout=False)
    clock.now = at(2027, 1, 10, 12)

    for subscription in (business, starter):
        ended = await subs.cancel(subscription.id, immediately=True)
        assert (ended.state, ended.ended_at) == ("cancelled", clock.now)

    cancels = await outbox(subs.ctx, "subscription.cancel")
    assert [(m.idempotency_key, m.payload) for m in cancels] == [
        (
            f"subscription.cancel:{business.id}",
            {"customer_id": customer.id, "subscription_id": business.id},
        ),
        (
            f"subscription.cancel:{starter.id}",
            {"customer_id": customer.id, "subscription_id": starter.id},
        ),
    ]
    (item,) = await early_cancellation_items(subs.ctx)
    assert item.payload["entry_id"] == f"cancel-{business.id}"
    assert item.payload["amount_minor"] == 29152


async def test_a_pending_checkout_is_cancelled_locally_only(
    engine: AsyncEngine, clock: MovableClock
) -> None:
    ctx = stripe_context(engine, clock)
    customer = await new_customer(ctx)
    pending = await Subscriptions(ctx).subscribe(customer.id, "app-starter", stripe_checkout=True)

    ended = await Subscriptions(ctx).cancel(pending.id)

    assert (ended.state, ended.ended_at) == ("cancelled", START)
    assert [m.kind for m in await outbox(ctx)] == ["customer.create"]


# -- changing plans ---------------------------------------------------------------------


async def test_an_upgrade_applies_now_prorated_and_a_downgrade_at_the_period_end(
    subs: Subscriptions, customer: Customer, clock: MovableClock
) -> None:
    subscription = await subs.subscribe(customer.id, "server-s", stripe_checkout=False)
    clock.now = at(2026, 11, 25)

    upgraded = await subs.change_plan(subscription.id, "server-m")  # 9.00 → 24.00

    assert (upgraded.plan_id, upgraded.plan_version, upgraded.next_plan_id) == ("server-m", 1, None)
    (update,) = await outbox(subs.ctx, "subscription.update")
    assert update.idempotency_key == f"subscription.update:{subscription.id}:1"
    assert update.payload == {
        "customer_id": customer.id,
        "number": 1,
        "subscription_id": subscription.id,
        "plan_id": "server-m",
        "plan_version": 1,
        "from_plan_id": "server-s",
        "from_plan_version": 1,
        "proration_behavior": "always_invoice",
        "cancel_at": None,
        "changed_at": epoch(at(2026, 11, 25)),  # Stripe prorates from here, however late
    }

    clock.now = at(2026, 11, 26)
    downgraded = await subs.change_plan(subscription.id, "server-s")
    assert (downgraded.plan_id, downgraded.next_plan_id, downgraded.next_plan_version) == (
        "server-m",
        "server-s",
        1,
    )
    assert len(await outbox(subs.ctx, "subscription.update")) == 1  # nothing until it applies

    assert await subs.roll_periods(at(2026, 11, 30, 23, 59)) == []
    changes = await subs.roll_periods(at(2026, 12, 1))
    assert [c.what for c in changes] == ["period 2026-12", "downgraded to server-s version 1"]
    switched = await subs.get(subscription.id)
    assert (switched.plan_id, switched.plan_version, switched.next_plan_id) == ("server-s", 1, None)
    second = (await outbox(subs.ctx, "subscription.update"))[1]
    assert second.idempotency_key == f"subscription.update:{subscription.id}:2"
    assert second.payload["plan_id"] == "server-s"
    # Stripe invoiced the new period at the old price at the boundary: credited from there.
    assert second.payload["proration_behavior"] == "always_invoice"
    assert second.payload["changed_at"] == epoch(at(2026, 12, 1))


async def test_an_upgrade_replaces_a_scheduled_downgrade(
    subs: Subscriptions, customer: Customer
) -> None:
    subscription = await subs.subscribe(customer.id, "server-m", stripe_checkout=False)
    await subs.change_plan(subscription.id, "server-s")

    upgraded = await subs.change_plan(subscription.id, "server-l")  # 64.00 a month

    assert (upgraded.plan_id, upgraded.next_plan_id) == ("server-l", None)
    assert upgraded.commitment_ends_at == at(2027, 11, 22, 9, 30)  # server-l's 12 months
    await subs.roll_periods(at(2026, 12, 1))
    assert (await subs.get(subscription.id)).plan_id == "server-l"


async def test_a_downgrade_during_a_commitment_waits_for_its_end(
    subs: Subscriptions, customer: Customer
) -> None:
    subscription = await subs.subscribe(customer.id, "support-flat", stripe_checkout=False)
    await subs.change_plan(subscription.id, "support-payg")  # 390.00 → 0.00 a month

    await subs.roll_periods(at(2027, 11, 30))
    held = await subs.get(subscription.id)
    assert (held.plan_id, held.next_plan_id) == ("support-flat", "support-payg")

    await subs.roll_periods(at(2027, 12, 1))  # first period end after 2027-11-22
    assert (await subs.get(subscription.id)).plan_id == "support-payg"


async def test_plan_changes_that_make_no_sense_are_refused(
    subs: Subscriptions, customer: Customer
) -> None:
    subscription = await subs.subscribe(customer.id, "server-m", stripe_checkout=False)

    with pytest.raises(InvalidTransition, match="already on server-m version 1"):
        await subs.change_plan(subscription.id, "server-m")
    with pytest.raises(InvalidTransition, match="subscribe to it separately"):
        await subs.change_plan(subscription.id, "support-flat")
    await subs.cancel(subscription.id)
    with pytest.raises(InvalidTransition, match="cancelled from 2026-12-01"):
        await subs.change_plan(subscription.id, "server-l")
    await subs.cancel(subscription.id, immediately=True)
    with pytest.raises(InvalidTransition, match="is cancelled; cannot change its plan"):
        await subs.change_plan(subscription.id, "server-l")


# -- manual suspension ------------------------------------------------------------------


async def test_an_operator_suspends_and_resumes(subs: Subscriptions, customer: Customer) -> None:
    subscription = await subs.subscribe(customer.id, "server-m", stripe_checkout=False)

    with pytest.raises(InvalidTransition, match="not suspended by an operator"):
        await subs.resume(subscription.id)
    suspended = await subs.suspend(subscription.id)
    assert (suspended.state, suspended.suspension_reason, suspended.suspended_since) == (
        "suspended",
        "manual",
        START,
    )
    resumed = await subs.resume(subscription.id)
    assert (resumed.state, resumed.suspension_reason, resumed.suspended_since) == (
        "active",
        None,
        None,
    )


# -- dockyard subscriptions -------------------------------------------------------------


def test_the_subscriptions_commands(tmp_path: Path) -> None:
    clock = MovableClock(START)
    root = cli_root(FakeRuntime(tmp_path / "cli.sqlite3", clock))

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(root, list(args))
        return result.exit_code, result.output

    _, out = run("customers", "create", "ann@example.com", "--name", "Ann")
    customer_id = out.split()[0]

    code, out = run("subscriptions", "subscribe", customer_id, "server-s")
    assert code == 0, out
    sub_id = out.split()[0]
    assert re.fullmatch(r"s[0-9a-f]{12}", sub_id)
    assert "server-s@1" in out
    assert "active" in out
    run("subscriptions", "subscribe", customer_id, "app-starter", "--version", "1")

    code, out = run("subscriptions", "list", "--customer", customer_id)
    assert (code, out.count("\n")) == (0, 2)
    assert "trialing" in out

    code, out = run("subscriptions", "change", sub_id, "server-m")
    assert (code, "server-m@1" in out) == (0, True)
    code, out = run("subscriptions", "change", sub_id, "server-s")
    assert (code, "then server-s@1" in out) == (0, True)

    code, out = run("subscriptions", "cancel", sub_id)
    assert (code, "ends 2026-12-01" in out) == (0, True)
    code, out = run("subscriptions", "show", sub_id)
    assert code == 0
    assert "2026-11-01 to 2026-12-01" in out
    assert "cancel at  2026-12-01" in out
    code, out = run("subscriptions", "cancel", sub_id, "--now")
    assert (code, "cancelled" in out) == (0, True)

    code, out = run("subscriptions", "change", sub_id, "server-l")
    assert code == 1
    assert out == f"Error: subscription {sub_id} is cancelled; cannot change its plan\n"
    code, out = run("subscriptions", "subscribe", customer_id, "app-huge")
    assert (code, out) == (1, "Error: plan 'app-huge' is not in the catalog\n")
    code, out = run("subscriptions", "show", "s000000000000")
    assert (code, out) == (1, "Error: no subscription 's000000000000'\n")
    assert run("subscriptions", "list", "--customer", "c000000000000")[0] == 1


async def test_a_cancellation_can_be_withdrawn_until_it_takes_effect(
    subs: Subscriptions, customer: Customer, clock: MovableClock
) -> None:
    """Issue 11: a customer who cancelled could not change their mind."""
    subscription = await subs.subscribe(customer.id, "server-m", stripe_checkout=False)
    clock.now = at(2027, 2, 10)
    await subs.cancel(subscription.id)

    kept = await subs.keep(subscription.id)

    assert (kept.cancel_at, kept.state) == (None, "active")
    _, withdrawal = await outbox(subs.ctx, "subscription.update")
    assert withdrawal.idempotency_key == f"subscription.update:{subscription.id}:2"
    assert withdrawal.payload["cancel_at"] is None  # Stripe's cancel_at is cleared
    with pytest.raises(InvalidTransition, match="no cancellation waiting"):
        await subs.keep(subscription.id)
    await subs.cancel(subscription.id)
    clock.now = at(2027, 3, 1, 1)  # it took effect
    with pytest.raises(InvalidTransition, match="no cancellation waiting"):
        await subs.keep(subscription.id)


async def test_a_cancellation_that_charged_for_leaving_early_is_not_withdrawn_silently(
    subs: Subscriptions, customer: Customer, clock: MovableClock
) -> None:
    business = await subs.subscribe(customer.id, "app-business", stripe_checkout=False)
    clock.now = at(2027, 1, 10, 12)
    cancelled = await subs.cancel(business.id)
    assert cancelled.cancel_at is not None

    with pytest.raises(InvalidTransition, match="already charged: contact support"):
        await subs.keep(business.id)
