"""End to end: two customers' November and December through Dockyard's real use cases,
the outbox drained into a fake Stripe, the invoices Stripe would send issued by an
independent model of its billing (tests/fixtures/stripe_double/billing_engine.py), and the
reconciliation of both months, clean to the cent, against figures worked out by hand.

The cast, and why these plans (plans/catalog/*.yaml):

- Ann: Server S (9.00/month, no trial, no setup fee), upgraded mid-November to Server M
  (24.00/month), prorated and invoiced at once; and Support Contract 20 h (1500.00/month,
  overage 80.00/h in 15-minute increments), the only plan whose unused hours roll over.
  Its one-month trial cannot be avoided, so the scenario keeps it simple: November's
  hours stay within the bank (nothing billable during the trial), the unused ones roll
  into December, and December's work (all after the trial ended) goes just past the bank.
- Bob: Pay-as-you-go Support (0.00/month, 95.00/h in 15-minute increments, 30 minutes at
  least, a 10 h monthly cap needing approval), with an entry over the cap he approves;
  and Server M from the start, for its 15.00 setup fee (an invoice item).

The support plans sit with two customers because Stripe's meter counts per customer: one
customer with two metered support plans would have the same minutes billed on both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.context import BillingContext
from billing.customers import Customers
from billing.models import EntryState
from billing.periods import Period
from billing.reconcile.findings import FindingKind
from billing.reconcile.result import Reconciliation
from billing.reconcile.run import reconcile_month
from billing.stripe.catalog import apply, plan_sync
from billing.subscriptions.lifecycle import Subscriptions
from billing.support_time.ledger import Ledger
from tests.fixtures.billing import sample_catalog
from tests.fixtures.clock import MovableClock
from tests.fixtures.stripe_double.billing_engine import StripeBilling, epoch
from tests.fixtures.stripe_double.fake import FakeStripe, Json
from tests.fixtures.stripe_double.wiring import client_for, mocked_stripe, sender, stripe_ctx

# -- the figures, by hand (minor units, EUR; seconds are Stripe's proration unit) ----------
NOVEMBER, DECEMBER = 30 * 86_400, 31 * 86_400  # 2_592_000 s and 2_678_400 s

# Ann's Server S from 2 Nov 09:00 to the anchor on 1 Dec: 28 d 15 h = 2_473_200 s.
# 900 x 2_473_200 / 2_592_000 = 858.75 → 859.
ANN_SERVER_NOVEMBER = 859
# The upgrade on 16 Nov 12:00 leaves 14 d 12 h = 1_252_800 s (0.48333 of November):
# credit 900 x 0.48333 = 435.00, charge 2400 x 0.48333 = 1160.00; net 725.
UPGRADE_CREDIT, UPGRADE_CHARGE = 435, 1160
ANN_PRORATION = UPGRADE_CHARGE - UPGRADE_CREDIT
# Support 20 h: the trial from 2 Nov 09:00 to 2 Dec 09:00 costs 0; then 2 Dec 09:00 to
# 1 Jan, 29 d 15 h = 2_559_600 s of December: 150000 x 2_559_600 / 2_678_400 = 143346.77
# → 143347.
ANN_SUPPORT_DECEMBER = 143_347
# November: 190 → 195, 240, 140 → 150, 120 rounded to 15 minutes = 705 of 1200 minutes;
# 495 unused roll over (under the 600 maximum). December: 480, 470 → 480, 360, 305 → 315,
# 120 = 1755 used: 495 rolled over + 1200 included, 60 over. 60 / 15 = 4 increments of
# 80.00 x 15/60 = 20.00 → 8000. (Without the rollover: 555 over, 37 increments, 74000.)
ANN_OVERAGE_INCREMENTS, ANN_OVERAGE = 4, 8000
SERVER_M = 2400
# Bob's Server M from 2 Nov 10:00: 28 d 14 h = 2_469_600 s:
# 2400 x 2_469_600 / 2_592_000 = 2286.67 → 2287; the setup fee 1500.
BOB_SERVER_NOVEMBER, BOB_SETUP = 2287, 1500
# Bob's support: 180, 20 → 30 (the minimum), 250 → 255, 120 = 585 minutes; 90 more
# would make 675 > 600 (the cap), so that entry waits until Bob approves it. 675 / 15 =
# 45 increments of 95.00 x 15/60 = 23.75 → 45 x 2375 = 106875.
BOB_INCREMENTS, BOB_USAGE = 45, 106_875

ANN_NOVEMBER = ANN_SERVER_NOVEMBER + ANN_PRORATION  # + the trial's 0
BOB_NOVEMBER = BOB_SERVER_NOVEMBER + BOB_SETUP + BOB_USAGE  # + a 0.00 fee
ANN_DECEMBER = SERVER_M + ANN_SUPPORT_DECEMBER + ANN_OVERAGE
BOB_DECEMBER = SERVER_M  # + a 0.00 fee; no support time


def at(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@dataclass(frozen=True)
class Cast:
    ann: str
    ann_server: str
    ann_support: str
    bob: str
    bob_server: str
    bob_support: str


class Scenario:
    """Dockyard's use cases, its worker's billing steps and Stripe, on one clock.

    During an ``outage`` [from, until) the outbox cannot reach Stripe: what is queued then
    is sent at the first tick after it.
    """

    def __init__(
        self,
        ctx: BillingContext,
        clock: MovableClock,
        stripe: StripeBilling,
        *,
        outage: tuple[datetime, datetime] | None = None,
    ) -> None:
        self.ctx = ctx
        self.clock = clock
        self.stripe = stripe
        self.outage = outage
        self.ledger = Ledger(ctx)
        self.subscriptions = Subscriptions(ctx)

    async def tick(self, moment: datetime) -> None:
        """The clock moves on; portal.worker's billing steps run (its webhook step has
        nothing to do: this Stripe sends no events) and Stripe acts on what it got."""
        self.clock.now = moment
        await self.subscriptions.roll_periods(moment)
        if self.outage is None or not self.outage[0] <= moment < self.outage[1]:
            report = await self.stripe.drain(sender(self.ctx))
            assert (report.retrying, report.dead, report.waiting) == (0, 0, 0), report
        self.stripe.bill()

    async def sync_plans(self) -> None:
        self.clock.now = at(11, 2, 8)
        client = client_for(self.ctx)
        apply(client, plan_sync(client, sample_catalog()))  # `dockyard plans sync`
        self.stripe.observe()

    async def support(self, customer: str, moment: datetime, minutes: int) -> str:
        self.clock.now = moment
        entry = await self.ledger.record(customer, minutes, "Helped with the shop", "Eve")
        await self.tick(moment)
        return entry.id

    async def november(self) -> Cast:
        """Sign-ups on 2 November, a month of support, an upgrade, and the month's end."""
        await self.sync_plans()

        self.clock.now = at(11, 2, 9)
        customers = Customers(self.ctx)
        ann = (await customers.create("ann@example.com", "Ann Example", "Example GmbH")).id
        ann_server = await self.subscribe(ann, "server-s")
        ann_support = await self.subscribe(ann, "support-20h")
        await self.tick(at(11, 2, 9))

        self.clock.now = at(11, 2, 10)
        bob = (await customers.create("bob@example.com", "Bob Example", "Bob's Shop")).id
        bob_server = await self.subscribe(bob, "server-m")
        bob_support = await self.subscribe(bob, "support-payg")
        await self.tick(at(11, 2, 10))

        await self.support(ann, at(11, 4, 14), 190)
        await self.support(bob, at(11, 5, 11), 180)
        await self.support(bob, at(11, 10, 15), 20)
        await self.support(ann, at(11, 12, 10), 240)

        self.clock.now = at(11, 16, 12)
        await self.subscriptions.change_plan(ann_server, "server-m")
        await self.tick(at(11, 16, 12))

        await self.support(bob, at(11, 17, 9), 250)
        await self.support(ann, at(11, 19, 16), 140)
        await self.support(bob, at(11, 24, 13), 120)
        await self.support(ann, at(11, 26, 11), 120)
        over_cap = await self.support(bob, at(11, 27, 10), 90)
        assert (await self.ledger.entry(over_cap)).state == EntryState.PENDING_APPROVAL.value
        self.clock.now = at(11, 28, 18)
        approved = await self.ledger.approve(over_cap, by="bob@example.com")
        assert approved.billable_minutes == 90
        await self.tick(at(11, 28, 18))

        await self.tick(at(12, 1, 1, 30))  # the month's end: cycle invoices finalized
        await self.tick(at(12, 2, 10, 30))  # Ann's trial ended at 09:00
        return Cast(ann, ann_server, ann_support, bob, bob_server, bob_support)

    async def december(self, cast: Cast) -> None:
        for day, minutes in ((3, 480), (9, 470), (15, 360), (21, 305), (28, 120)):
            await self.support(cast.ann, at(12, day, 10), minutes)
        await self.tick(at(1, 1, 1, 30, year=2027))

    async def subscribe(self, customer: str, plan: str) -> str:
        return (await self.subscriptions.subscribe(customer, plan, stripe_checkout=False)).id

    async def reconcile(self, period: str) -> Reconciliation:
        return await reconcile_month(self.ctx, client_for(self.ctx), period)


@pytest.fixture
def fake(clock: MovableClock) -> Iterator[FakeStripe]:
    yield from mocked_stripe(clock)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(at(11, 2, 8))


@pytest.fixture
def ctx(engine: AsyncEngine, clock: MovableClock) -> BillingContext:
    return stripe_ctx(engine, clock)


def totals(result: Reconciliation, customer: str | None = None) -> tuple[int, int, int]:
    found = result.totals["EUR"] if customer is None else result.by_customer[(customer, "EUR")]
    return found.expected, found.invoiced, found.paid


async def stripe_ids(ctx: BillingContext, cast: Cast) -> dict[str, str]:
    """Stripe's customer and subscription ids by ours."""
    found: dict[str, str] = {}
    for customer in (cast.ann, cast.bob):
        found[customer] = str((await Customers(ctx).get(customer)).stripe_customer_id)
        for held in await Subscriptions(ctx).for_customer(customer):
            found[held.id] = str(held.stripe_subscription_id)
    return found


def compared(result: Reconciliation) -> dict[str, tuple[int, int, int, int]]:
    """Each line key: expected and invoiced amount, expected and invoiced quantity."""
    return {
        line.key: (line.expected, line.invoiced, line.expected_quantity, line.invoiced_quantity)
        for line in result.lines
        if line.status == "ok"
    }


def invoiced(stripe: StripeBilling, stripe_customer: str) -> list[tuple[str, int]]:
    return [(obj["billing_reason"], obj["total"]) for obj in stripe.invoices_of(stripe_customer)]


async def test_two_months_of_billing_reconcile_clean(
    ctx: BillingContext, clock: MovableClock, fake: FakeStripe
) -> None:
    stripe = StripeBilling(fake, clock)
    scenario = Scenario(ctx, clock, stripe)
    cast = await scenario.november()
    ids = await stripe_ids(ctx, cast)

    # Stripe's side, checked against the hand figures before Dockyard's is.
    assert invoiced(stripe, ids[cast.ann]) == [
        ("subscription_create", ANN_SERVER_NOVEMBER),
        ("subscription_create", 0),  # the support trial
        ("subscription_update", ANN_PRORATION),
        ("subscription_cycle", SERVER_M),  # 1 December
        ("subscription_cycle", ANN_SUPPORT_DECEMBER),  # 2 December: the trial's end
    ]
    assert invoiced(stripe, ids[cast.bob]) == [
        ("subscription_create", BOB_SERVER_NOVEMBER),
        ("subscription_create", 0),
        ("subscription_cycle", SERVER_M + BOB_SETUP),  # the item waited for this one
        ("subscription_cycle", BOB_USAGE),
    ]

    november = await scenario.reconcile("2026-11")

    assert november.findings == []
    assert totals(november) == (ANN_NOVEMBER + BOB_NOVEMBER,) * 3
    assert totals(november, cast.ann) == (ANN_NOVEMBER,) * 3
    assert totals(november, cast.bob) == (BOB_NOVEMBER,) * 3
    lines = compared(november)
    # The credit and the charge line net to one proration (the quantity counts both lines).
    assert lines[f"proration:{cast.ann_server}:2026-11"] == (ANN_PRORATION,) * 2 + (1, 2)
    assert lines[f"item:setup:{cast.bob_server}"] == (BOB_SETUP, BOB_SETUP, 1, 1)
    assert lines[f"usage:{cast.bob_support}:2026-11"] == (BOB_USAGE,) * 2 + (BOB_INCREMENTS,) * 2
    # Ann's trial: a 0.00 fee, and no support time billed (Stripe shows it at quantity 0).
    assert lines[f"fee:{cast.ann_support}:2026-11"] == (0, 0, 1, 1)
    assert lines[f"usage:{cast.ann_support}:2026-11"] == (0, 0, 0, 0)

    await scenario.december(cast)
    rollover = await Ledger(ctx).summary(cast.ann, Period(2026, 12))
    assert (rollover.rolled_in_minutes, rollover.overage_minutes) == (495, 60)
    assert invoiced(stripe, ids[cast.ann])[-2:] == [
        ("subscription_cycle", SERVER_M),  # 1 January
        ("subscription_cycle", 150_000 + ANN_OVERAGE),
    ]

    december = await scenario.reconcile("2026-12")

    assert december.findings == []
    assert totals(december) == (ANN_DECEMBER + BOB_DECEMBER,) * 3
    assert totals(december, cast.ann) == (ANN_DECEMBER,) * 3
    lines = compared(december)
    assert lines[f"fee:{cast.ann_support}:2026-12"] == (ANN_SUPPORT_DECEMBER,) * 2 + (1, 1)
    assert lines[f"usage:{cast.ann_support}:2026-12"] == (
        (ANN_OVERAGE,) * 2 + (ANN_OVERAGE_INCREMENTS,) * 2
    )


def without_usage(lines: list[Json]) -> list[Json]:
    """Stripe's mistake: the invoice leaves out the metered support time it counted."""
    return [line for line in lines if not line["description"].endswith("support increments")]


async def test_a_usage_line_stripe_left_out_is_the_only_finding(
    ctx: BillingContext, clock: MovableClock, fake: FakeStripe
) -> None:
    stripe = StripeBilling(fake, clock, edit=without_usage)
    cast = await Scenario(ctx, clock, stripe).november()

    november = await reconcile_month(ctx, client_for(ctx), "2026-11")

    assert [finding.kind for finding in november.findings] == [FindingKind.MISSING_LINE]
    [missing] = november.findings
    assert missing.customer_id == cast.bob
    assert missing.objects == (f"usage:{cast.bob_support}:2026-11",)
    assert (missing.expected, missing.actual) == (BOB_USAGE, None)
    assert totals(november) == (
        ANN_NOVEMBER + BOB_NOVEMBER,
        ANN_NOVEMBER + BOB_NOVEMBER - BOB_USAGE,
        ANN_NOVEMBER + BOB_NOVEMBER - BOB_USAGE,
    )


async def test_an_upgrade_the_outbox_sends_late_is_prorated_from_when_it_was_made(
    ctx: BillingContext, clock: MovableClock, fake: FakeStripe
) -> None:
    # Stripe is out of reach from the upgrade (16 Nov 12:00) to the next morning: the
    # update arrives on 17 Nov at 09:00, and Stripe prorates from the upgrade all the same.
    stripe = StripeBilling(fake, clock)
    scenario = Scenario(ctx, clock, stripe, outage=(at(11, 16, 12), at(11, 17, 9)))
    cast = await scenario.november()
    ids = await stripe_ids(ctx, cast)
    [update] = [
        obj
        for obj in stripe.invoices_of(ids[cast.ann])
        if obj["billing_reason"] == "subscription_update"
    ]
    assert (update["created"], update["total"]) == (epoch(at(11, 17, 9)), ANN_PRORATION)

    november = await scenario.reconcile("2026-11")

    assert november.findings == []
    assert compared(november)[f"proration:{cast.ann_server}:2026-11"] == (
        (ANN_PRORATION,) * 2 + (1, 2)
    )


async def test_an_upgrade_held_across_the_month_end_is_prorated_from_the_new_period(
    ctx: BillingContext, clock: MovableClock, fake: FakeStripe
) -> None:
    """Stripe takes a proration_date within its current period only, so an upgrade made
    on 30 Nov at 20:00 and sent on 1 Dec at 02:00 is prorated from 1 December: December
    is billed on the new plan in full (the old fee invoiced at midnight and the
    proration), while November's last 4 hours on it are never billed, and November's
    reconciliation says so."""
    stripe = StripeBilling(fake, clock)
    scenario = Scenario(ctx, clock, stripe, outage=(at(11, 30, 20), at(12, 1, 2)))
    await scenario.sync_plans()
    clock.now = at(11, 2, 9)
    dan = (await Customers(ctx).create("dan@example.com", "Dan Example", "Dan's Deli")).id
    server = await scenario.subscribe(dan, "server-s")
    await scenario.tick(at(11, 2, 9))
    clock.now = at(11, 30, 20)
    await scenario.subscriptions.change_plan(server, "server-m")
    await scenario.tick(at(11, 30, 20))
    await scenario.tick(at(12, 1, 2))
    await scenario.tick(at(12, 5))
    # Stripe: the December fee on Server S at midnight, then the whole of December
    # prorated: credit 900, charge 2400.
    stripe_dan = str((await Customers(ctx).get(dan)).stripe_customer_id)
    assert invoiced(stripe, stripe_dan) == [
        ("subscription_create", ANN_SERVER_NOVEMBER),  # from 2 Nov 09:00, as Ann's
        ("subscription_cycle", 900),
        ("subscription_update", SERVER_M - 900),
    ]

    november = await scenario.reconcile("2026-11")
    december = await scenario.reconcile("2026-12")

    # 4 h = 14_400 s of November: credit 900 x 14_400 / 2_592_000 = 5.00 → 5, charge
    # 2400 x 14_400 / 2_592_000 = 13.33 → 13; net 8, missing.
    [missing] = november.findings
    assert (missing.kind, missing.objects) == (
        FindingKind.MISSING_LINE,
        (f"proration:{server}:2026-11",),
    )
    assert (missing.expected, missing.actual) == (8, None)
    # December adds up, on other lines than Dockyard expects: both are shown.
    assert sorted(finding.kind for finding in december.findings) == sorted(
        [FindingKind.AMOUNT_MISMATCH, FindingKind.UNEXPECTED_LINE]
    )
    assert totals(december) == (SERVER_M,) * 3


async def test_a_setup_fee_sent_after_midnight_counts_in_its_month(
    ctx: BillingContext, clock: MovableClock, fake: FakeStripe
) -> None:
    """Cy has tried Application Starter since 15 November (a month's trial, to 15 Dec
    10:00), and signs up for Server M at 23:59 on 30 November; the outbox gets through at
    00:01, after Stripe made the December invoices. The setup fee waits for Cy's next
    cycle invoice, at the trial's end, and still counts in November."""
    stripe = StripeBilling(fake, clock)
    scenario = Scenario(ctx, clock, stripe)
    await scenario.sync_plans()
    clock.now = at(11, 15, 10)
    cy = (await Customers(ctx).create("cy@example.com", "Cy Example", "Cy's Cafe")).id
    await scenario.subscribe(cy, "app-starter")
    await scenario.tick(at(11, 15, 10))
    clock.now = at(11, 30, 23, 59)
    server = await scenario.subscribe(cy, "server-m")  # queues the 15.00 setup fee
    await scenario.tick(at(12, 1, 0, 1))
    setup = f"item:setup:{server}"

    # Before the trial's end Stripe has not invoiced the item: it is not missing yet.
    await scenario.tick(at(12, 15, 9))
    early = await scenario.reconcile("2026-11")
    assert early.findings == []
    assert setup not in {line.key for line in early.lines}

    await scenario.tick(at(12, 16))
    # Server M from 00:01 to the anchor on 1 Jan: 2400 x 2_678_340 / 2_678_400 = 2399.95
    # → 2400. Application Starter from 15 Dec 10:00: 16 d 14 h = 1_432_800 s,
    # 2900 x 1_432_800 / 2_678_400 = 1551.34 → 1551; the item goes with it.
    stripe_cy = str((await Customers(ctx).get(cy)).stripe_customer_id)
    assert invoiced(stripe, stripe_cy) == [
        ("subscription_create", 0),  # the trial
        ("subscription_create", SERVER_M),
        ("subscription_cycle", 1551 + BOB_SETUP),
    ]

    november = await scenario.reconcile("2026-11")
    december = await scenario.reconcile("2026-12")

    assert november.findings == []
    assert compared(november)[setup] == (BOB_SETUP, BOB_SETUP, 1, 1)
    # Dockyard's November fee for Server M, 60 s of it, rounds to 0.00.
    assert totals(november) == (BOB_SETUP,) * 3
    assert december.findings == []
    assert totals(december) == (SERVER_M + 1551,) * 3
