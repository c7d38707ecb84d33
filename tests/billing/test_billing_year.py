"""A year of billing, end to end (issue 10, "Shown by"): a dozen customers from November
2026 to the invoices of February 2028, through Dockyard's use cases, the real outbox, the
worker's billing steps and Stripe's webhooks, against the strict Stripe double; then
every month reconciles to the cent.

The cast (plans/catalog/*.yaml), one line each:

- Ada: Server S v1 through Checkout in November 2026, moved to v2 by the catalog
  migration of 2027-01-01, upgraded to Server M in April, downgraded back in September.
- Ben: Server M started by an operator (no Checkout; the setup fee is an invoice item),
  downgraded to Server S from June, cancelled in November (ends 1 December).
- Cleo: Support 20 h through Checkout: a trial with time past its hours, unused hours
  rolled over and used, later ones expiring, a late entry and a correction; cancels in
  June (end_of_term: the service runs to the commitment's end in August).
- Dan: Support 10 h, yearly, started by an operator: hours expire each month, each
  month's overage invoiced when the month closes; a correction and a late entry.
- Eve: Support 10 h, cancelled within its first (partial) cycle: the fee policy.
- Finn: Application Starter through Checkout (a trial), upgraded to Application Business
  (6-month commitment), cancelled in May: pay_remaining.
- Gus: Pay-as-you-go support with his own cap of 5 h a month: entries past it wait for
  his approval (approved, rejected), one approved after its month closed, a late entry,
  a correction past the cap.
- Hana: Server L (yearly, 12-month commitment) through Checkout, cancelled in August
  (end_of_term: ends with the paid year, March 2028).
- Ivy: Server M; her card is declined in March (past due, suspended by dunning, paid a
  week later: active again) and in September (paid by a retry three days later).
- Jon: signs up while Stripe answers 500 and 429 through the night June ends: Checkout
  fails and is tried again, the outbox retries his subscription and time (and Gus's time,
  first sent in June and retried after Stripe invoiced June, is billed in July).
- Kim: Support 20 h started by an operator (a trial), rollover; an operator ends it at
  once in July (invoiced at once: invoice_now).
- Lea: Server M through Checkout (the setup fee a one-time line of the session), and
  pay-as-you-go support by the outbox: a late entry and a correction of a closed month.

Not in the scenario, because Dockyard (or the double) does not support it yet:

- a dunning that runs to its end: the subscription is cancelled, but its invoice stays
  open at Stripe (nothing voids it or marks it uncollectible), so the reconciliation
  rightly reports it unpaid past due: not a clean month;
- services (Developer Service by the hour, the training package): they no longer ask
  Stripe for a subscription (tests/billing/support_time/test_closed_periods.py), but a
  year of them is not played here;
- a change between support plans (the double does not model a metered price changed
  mid-cycle) or between a monthly and a yearly plan (nor does the reconciliation: Stripe
  resets the anchor);
- a customer's own monthly cap: no use case sets it, so the test writes the column.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.context import BillingContext
from billing.errors import StripeFailure
from billing.models import EntryState, OutboxState, SubscriptionState
from billing.periods import Period
from billing.reconcile.result import Reconciliation
from tests.fixtures.billing_year import Year, at, months
from tests.fixtures.clock import MovableClock
from tests.fixtures.stripe_double.billing_engine import StripeBilling
from tests.fixtures.stripe_double.fake import FakeStripe
from tests.fixtures.stripe_double.wiring import mocked_stripe, stripe_ctx

FIRST, LAST = "2026-11", "2028-02"  # the months reconciled
OUTAGE = (at(2027, 6, 30, 20), at(2027, 7, 1, 8))  # Stripe answers 500 and 429


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(at(2026, 11, 15, 8))


@pytest.fixture
def fake(clock: MovableClock) -> Iterator[FakeStripe]:
    yield from mocked_stripe(clock)


@pytest.fixture
def ctx(engine: AsyncEngine, clock: MovableClock) -> BillingContext:
    return stripe_ctx(engine, clock)


@dataclass
class Cast:
    """Customer ids by name, and their subscriptions by "name:plan"."""

    customers: dict[str, str]
    subscriptions: dict[str, str]


async def the_first_half(y: Year, cast: Cast) -> None:
    c, s = cast.customers, cast.subscriptions
    await y.sync_plans()

    await y.until(at(2026, 11, 16, 10))
    c["ada"] = await y.customer("Ada")
    s["ada:server"] = await y.buy(c["ada"], "server-s", minutes=6)

    await y.until(at(2026, 12, 14, 10))
    c["ben"] = await y.customer("Ben")
    s["ben:server"] = await y.subscribe(c["ben"], "server-m")

    await y.until(at(2027, 1, 4, 9))
    c["dan"] = await y.customer("Dan")
    s["dan:support"] = await y.subscribe(c["dan"], "support-10h")
    await y.until(at(2027, 1, 5, 11))
    c["cleo"] = await y.customer("Cleo")
    s["cleo:support"] = await y.buy(c["cleo"], "support-20h", minutes=4)
    await y.until(at(2027, 1, 11, 14))
    c["gus"] = await y.customer("Gus")
    s["gus:support"] = await y.subscribe(c["gus"], "support-payg")
    await y.set_cap(s["gus:support"], 300)
    await y.until(at(2027, 1, 12, 10))
    await y.log(c["dan"], 480)
    await y.log(c["cleo"], 600)  # in the trial: 20 h included
    await y.log(c["gus"], 200)
    await y.until(at(2027, 1, 20, 10))
    c["ivy"] = await y.customer("Ivy")
    s["ivy:server"] = await y.subscribe(c["ivy"], "server-m")
    await y.log(c["cleo"], 500)
    await y.log(c["dan"], 240)  # 720 of 600 minutes: 120 over
    over = await y.log(c["gus"], 150)  # 200 + 150 > 300
    assert over.state == EntryState.PENDING_APPROVAL
    await y.until(at(2027, 1, 22, 18))
    await y.ledger.approve(over.id, by="gus@example.com")
    await y.tick()
    await y.until(at(2027, 1, 28, 10))
    await y.log(c["cleo"], 300)  # 1400 of 1200 in the trial: 200 on the first paid invoice
    late_gus = await y.log(c["gus"], 60, note="Router")  # over the cap: waits
    assert late_gus.state == EntryState.PENDING_APPROVAL

    # February: January has closed (Stripe's invoices, or the hour of grace).
    await y.until(at(2027, 2, 2, 9))
    approved = await y.ledger.approve(late_gus.id, by="gus@example.com")  # after its month
    assert approved.billed_period == "2027-02"
    await y.tick()
    late = await y.log(c["gus"], 45, worked_at=at(2027, 1, 30, 15), note="Forgot to log")
    assert (late.period, late.billed_period) == ("2027-01", "2027-02")
    await y.until(at(2027, 2, 3, 10))
    c["finn"] = await y.customer("Finn")
    s["finn:app"] = await y.buy(c["finn"], "app-starter", minutes=10)
    await y.until(at(2027, 2, 10, 10))
    feb_cleo = await y.log(c["cleo"], 480)
    await y.log(c["dan"], 300)  # 300 of 600: the rest expires
    await y.until(at(2027, 2, 15, 10))
    c["hana"] = await y.customer("Hana")
    s["hana:server"] = await y.buy(c["hana"], "server-l", minutes=3)
    await y.until(at(2027, 2, 24, 10))
    await y.log(c["cleo"], 420)  # 900 of 1200 in February: 300 roll over
    y.stripe.decline(await y.stripe_customer(c["ivy"]))  # her March renewal fails

    await y.until(at(2027, 3, 3, 11))
    await y.log(c["cleo"], 120, worked_at=at(2027, 2, 26, 16), note="Late")  # billed in March
    fix = await y.ledger.correct(feb_cleo.id, -60, "counted the lunch break", "Eve")
    assert fix.billed_period == "2027-03"
    await y.tick()
    await y.until(at(2027, 3, 8, 10))
    c["eve"] = await y.customer("Eve")
    s["eve:support"] = await y.subscribe(c["eve"], "support-10h")
    await y.until(at(2027, 3, 12, 10))
    await y.log(c["eve"], 720)
    await y.log(c["cleo"], 800)  # with the next, 1200 included and the 300 rolled in
    await y.log(c["cleo"], 700)
    await y.until(at(2027, 3, 15, 10))
    await y.subscriptions.change_plan(s["finn:app"], "app-business")  # after the trial
    await y.tick()
    await y.until(at(2027, 3, 16, 9))
    assert (await y.subscriptions.get(s["ivy:server"])).state == SubscriptionState.SUSPENDED
    await y.until(at(2027, 3, 22, 10))
    eve = await y.subscriptions.cancel(s["eve:support"])  # within its first cycle: the fee
    assert eve.cancel_at == at(2027, 4, 1, 0)
    await y.tick()
    [declined] = [i for i in y.stripe.invoices if i["status"] == "open"]
    y.stripe.settle(declined["id"])  # Ivy pays with another card
    await y.tick()
    assert (await y.subscriptions.get(s["ivy:server"])).state == SubscriptionState.ACTIVE

    await y.until(at(2027, 4, 6, 10))
    c["kim"] = await y.customer("Kim")
    s["kim:support"] = await y.subscribe(c["kim"], "support-20h")
    await y.until(at(2027, 4, 12, 10))
    await y.subscriptions.change_plan(s["ada:server"], "server-m")  # an upgrade, prorated
    await y.tick()
    await y.log(c["cleo"], 600)  # 600 unused roll over (the most kept)
    gus_april = await y.log(c["gus"], 240)
    rejected = await y.log(c["gus"], 120)  # 360 of his 300: waits, and he declines it
    await y.ledger.reject(rejected.id, by="gus@example.com")
    more = await y.ledger.correct(gus_april.id, 90, "the call ran on", "Eve")  # 330: waits
    assert more.state == EntryState.PENDING_APPROVAL
    await y.until(at(2027, 5, 4, 10))
    approved_late = await y.ledger.approve(more.id, by="gus@example.com")  # April has closed
    assert approved_late.billed_period == "2027-05"
    await y.tick()
    await y.log(c["kim"], 900)  # in the trial, within its hours
    await y.until(at(2027, 5, 10, 10))
    await y.subscriptions.change_plan(s["ben:server"], "server-s")  # from 1 June
    await y.log(c["cleo"], 1200)
    await y.until(at(2027, 5, 20, 10))
    await y.subscriptions.cancel(s["finn:app"])  # the commitment runs to September
    await y.tick()
    await y.until(at(2027, 5, 28, 10))
    await y.log(c["kim"], 600)


async def the_second_half(y: Year, cast: Cast) -> None:
    c, s = cast.customers, cast.subscriptions
    await y.until(at(2027, 6, 10, 10))
    await y.subscriptions.cancel(s["cleo:support"])  # end_of_term: runs to 5 August
    await y.tick()
    await y.log(c["cleo"], 700)
    await y.log(c["kim"], 900)
    await y.log(c["kim"], 600)

    # Stripe has a bad night across the month's end: it answers 500 and 429 to everything.
    await y.until(OUTAGE[0])
    failing = lambda _: OUTAGE[0] <= y.clock() < OUTAGE[1]  # noqa: E731
    for number in range(400):
        y.fake.fail(1, 429 if number % 4 == 3 else 500, failing)
    await y.until(at(2027, 6, 30, 21))
    c["jon"] = await y.customer("Jon")
    jon_server = await y.order(c["jon"], "server-s")
    with pytest.raises(StripeFailure):  # the portal says: try again in a moment
        await y.checkout(jon_server, paying_for=timedelta(minutes=5))
    s["jon:support"] = await y.subscribe(c["jon"], "support-payg")  # queued, retried
    await y.log(c["jon"], 95)
    await y.until(at(2027, 6, 30, 23, 30))
    gus_june = await y.log(c["gus"], 50)  # its first attempt fails, stamped in June
    for hour in range(1, 10):  # the worker ticks on; Stripe invoices June at midnight
        await y.until(at(2027, 7, 1, hour - 1, 15))
        await y.tick()
    y.fake.faults.clear()
    s["jon:server"] = await y.checkout(jon_server, paying_for=timedelta(minutes=5))
    await y.log(c["jon"], 50)
    # Retried after June was invoiced: billed in July, not lost on no invoice.
    assert (await y.ledger.entry(gus_june.id)).billed_period == "2027-07"

    await y.until(at(2027, 7, 5, 10))
    await y.log(c["cleo"], 800)
    await y.log(c["kim"], 700)
    await y.until(at(2027, 7, 14, 10))
    await y.subscriptions.cancel(s["kim:support"], immediately=True)
    await y.tick()
    await y.until(at(2027, 8, 3, 10))
    await y.log(c["cleo"], 300)
    await y.until(at(2027, 8, 10, 10))
    await y.subscriptions.cancel(s["hana:server"])  # end_of_term: to March 2028
    await y.tick()
    y.stripe.decline(await y.stripe_customer(c["ivy"]))  # her September renewal fails

    await y.until(at(2027, 9, 4, 10))
    [declined] = [i for i in y.stripe.invoices if i["status"] == "open"]
    y.stripe.settle(declined["id"])  # Stripe's retry succeeds
    await y.tick()
    await y.until(at(2027, 9, 20, 10))
    await y.subscriptions.change_plan(s["ada:server"], "server-s")  # from 1 October
    await y.tick()

    await y.until(at(2027, 10, 4, 10))
    c["lea"] = await y.customer("Lea")
    s["lea:server"] = await y.buy(c["lea"], "server-m", minutes=8)
    s["lea:support"] = await y.subscribe(c["lea"], "support-payg")
    await y.until(at(2027, 10, 20, 10))
    lea_october = await y.log(c["lea"], 130)
    await y.log(c["dan"], 660)
    await y.until(at(2027, 11, 2, 10))
    await y.log(c["lea"], 40, worked_at=at(2027, 10, 29, 17), note="Late")
    await y.ledger.correct(lea_october.id, -30, "a duplicate call", "Eve")
    await y.tick()
    dan_october = await y.ledger.entries(c["dan"], Period(2027, 10))
    await y.ledger.correct(dan_october[0].id, 45, "the report took longer", "Eve")
    await y.tick()
    await y.until(at(2027, 11, 5, 10))
    await y.subscriptions.cancel(s["ben:server"])  # no commitment: ends 1 December
    await y.tick()
    await y.until(at(2027, 12, 9, 10))
    await y.log(c["lea"], 75)
    await y.log(c["dan"], 200)
    late = await y.log(c["dan"], 90, worked_at=at(2027, 11, 30, 15), note="Late")
    assert (late.period, late.billed_period) == ("2027-11", "2027-12")
    await y.until(at(2028, 2, 2, 9))


async def what_happened(y: Year, cast: Cast, results: dict[str, Reconciliation]) -> None:
    """The year went as the cast list says: what a clean reconciliation alone cannot show."""
    c, s = cast.customers, cast.subscriptions
    held = {name: await y.subscriptions.get(sid) for name, sid in s.items()}
    invoices = {name: y.stripe.invoices_of(await y.stripe_customer(cid)) for name, cid in c.items()}
    lines = {
        (month, line.key): (line.expected, line.invoiced)
        for month, result in results.items()
        for line in result.lines
    }
    # Ada: the migration (9.00 for 9.00), the upgrade and the downgrade, each prorated.
    assert (held["ada:server"].plan_id, held["ada:server"].plan_version) == ("server-s", 2)
    updates = [i["total"] for i in invoices["ada"] if i["billing_reason"] == "subscription_update"]
    assert updates == [0, 929, -1500]
    ended = {name: sub.ended_at for name, sub in held.items() if sub.ended_at is not None}
    assert ended == {
        "ben:server": at(2027, 12, 1, 0),  # no commitment: when the paid month ran out
        "cleo:support": at(2027, 8, 5, 11),  # end_of_term: 6 months after the trial's end
        "eve:support": at(2027, 4, 1, 0),  # fee: when the paid (partial) cycle ran out
        "finn:app": at(2027, 6, 1, 0),  # pay_remaining: likewise
        "kim:support": at(2027, 7, 14, 10),  # an operator's decision: at once
    }
    assert held["hana:server"].cancel_at == at(2028, 3, 1, 0)  # end_of_term: the paid year
    # Cleo: 300 of February's 1200 minutes roll into March, which used 1635 (1620 in
    # 15-minute steps): 135 over. The 600 kept from April and May expire in June and July.
    cleo = [await y.ledger.summary(c["cleo"], Period(2027, m)) for m in (2, 3, 6, 7)]
    rolled = [(p.used_minutes, p.rolled_in_minutes, p.rolled_out_minutes) for p in cleo[:2]]
    assert rolled == [(900, 0, 300), (1635, 300, 0)]
    assert [cleo[1].overage_minutes, cleo[2].expired_minutes, cleo[3].expired_minutes] == [
        135,
        495,
        390,
    ]
    # Dan: 10 h a month, use it or lose it. A yearly plan has no metered price: a month's
    # overage is invoiced when the month closes, on an invoice of its own, in 15-minute
    # increments at 21.25 (January's 120 minutes on 1 February, not in January 2028).
    assert (await y.ledger.summary(c["dan"], Period(2027, 2))).expired_minutes == 300
    dan = s["dan:support"]
    assert lines[("2027-01", f"usage:{dan}:2027-01")] == (17000, 17000)
    assert lines[("2027-10", f"usage:{dan}:2027-10")] == (8500, 8500)
    assert lines[("2027-11", f"usage:{dan}:2027-11")] == (6375, 6375)  # October corrected
    usage_invoices = {
        i["metadata"]["dockyard_reference"]: (i["total"], i["status"])
        for i in invoices["dan"]
        if i["metadata"].get("dockyard_reference", "").startswith("usage:")
        # made by the worker's closing step, in the first hours of the next month
        and i["created"] < (Period.parse(i["metadata"]["dockyard_reference"][-7:]).end
                            + timedelta(hours=2)).timestamp()
    }  # fmt: skip
    assert usage_invoices == {
        f"usage:{dan}:2027-01": (17000, "paid"),
        f"usage:{dan}:2027-10": (8500, "paid"),
        f"usage:{dan}:2027-11": (6375, "paid"),
    }
    # Early cancellations, as the ledger worked them out and Stripe invoiced them: Eve's fee
    # (1400.00, under the remaining year), Finn's remaining commitment (June to August at
    # 79.00, and 1 to 15 September 10:00, 14.42 days: 7900 x 1,245,600 / 2,592,000 = 3796).
    assert lines[("2027-03", f"item:cancel-{s['eve:support']}")] == (140000, 140000)
    assert lines[("2027-05", f"item:cancel-{s['finn:app']}")] == (27496, 27496)
    assert lines[("2027-10", f"item:setup:{s['lea:server']}")] == (1500, 1500)  # Checkout's
    assert await y.ledger.awaiting_approval(c["gus"]) == []
    # Ivy's two declined renewals, each paid at a second attempt.
    assert [i["attempt_count"] for i in invoices["ivy"]].count(2) == 2
    # Kim's final invoice, at once (invoice_now).
    assert invoices["kim"][-1]["created"] == int(at(2027, 7, 14, 10).timestamp())
    # The night Stripe answered 500 and 429, and the outbox retried.
    assert {call.status for call in y.fake.calls} >= {429, 500}
    assert sum(report.retrying for report in y.drains) > 0


async def test_a_year_of_billing_reconciles_to_the_cent(
    ctx: BillingContext, clock: MovableClock, fake: FakeStripe
) -> None:
    y = Year(ctx, clock, StripeBilling(fake, clock))
    cast = Cast({}, {})
    await the_first_half(y, cast)
    await the_second_half(y, cast)

    results = {month: await y.reconcile(month) for month in months(FIRST, LAST)}
    names = {customer: name for name, customer in cast.customers.items()}
    found = [
        f"{month} {finding.kind} {names.get(finding.customer_id or '')}: {finding.expected}"
        f" expected, {finding.actual} found; {finding.detail} {finding.objects}"
        for month, result in results.items()
        for finding in result.findings
    ]
    assert not found, "\n".join(found)
    for month, result in results.items():
        totals = result.totals["EUR"]
        assert (totals.difference, totals.invoiced, totals.paid) == (
            0,
            totals.expected,
            totals.expected,
        ), month
    # Every line Stripe invoiced, to the cent, month by month of its service period, is
    # what the ledger expected: nothing invoiced outside the months reconciled.
    assert y.invoiced_by_month() == {
        month: result.totals["EUR"].expected for month, result in results.items()
    }
    assert y.stripe.unbilled_meter_events() == []
    assert await y.outbox(OutboxState.DEAD) == []
    assert await y.outbox(OutboxState.PENDING) == []
    assert await y.outbox(OutboxState.RETRYING) == []
    assert await y.webhook_backlog() == (0, 0)
    # Every invoice reached Dockyard through its webhooks, as Stripe last described it.
    assert await y.recorded_invoices() == {
        invoice["id"]: (invoice["status"], invoice["total"]) for invoice in y.stripe.invoices
    }
    await what_happened(y, cast, results)
