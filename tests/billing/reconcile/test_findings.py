"""Each kind of finding through the whole reconciliation: the ledger's rows, Stripe's
invoices served page by page by the fake Stripe in current shapes, the meter's summaries.

One November (reconciled on 20 December) reconciles clean; each case plants exactly one
difference on top of it and must find that one, and nothing else.

The world (plans/catalog/*.yaml; minor units, EUR):

- A: Server M (24.00/month) and End-user Support Flat Rate (390.00/month), both since
  October; 90 minutes of agreed extra work on 12 November at 95.00/h = 142.50, an invoice
  item that went on the support contract's 1 December invoice.
- B: Pay-as-you-go Support (0.00/month, 95.00/h in 15-minute increments) since October:
  180 and 250 → 255 minutes in November, sent as meter events, billed on 1 December as
  435 / 15 = 29 increments of 23.75.
- C: Support Contract 10 h (8400.00/year; 10 h a month, then 85.00/h in 15-minute
  increments) since October: 480 and 190 → 195 minutes in November, 75 past the 600
  included. A yearly plan has no metered price (it would bill a year's minutes at the
  year's end): when November closes, an hour into December, the worker invoices them,
  5 increments of 21.25, on an invoice of their own that Stripe charges.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.context import BillingContext
from billing.models import OutboxMessage, Subscription, SubscriptionState
from billing.reconcile.findings import Finding, FindingKind
from billing.reconcile.result import Reconciliation
from billing.reconcile.run import reconcile_month
from billing.reconcile.stripe.retry import Retry
from billing.support_time.closing import PeriodClosing
from billing.support_time.ledger import Ledger
from tests.fixtures.billing import make_customer, make_subscription
from tests.fixtures.billing_subscriptions import epoch
from tests.fixtures.clock import MovableClock
from tests.fixtures.stripe_double.fake import (
    FakeStripe,
    Json,
    add_months,
    customer,
    invoice_item,
    invoice_item_line,
    invoice_with_lines,
    meter,
    price,
    subscription_line,
    usage_line,
)
from tests.fixtures.stripe_double.invoicing import finalize_invoice, pay
from tests.fixtures.stripe_double.wiring import client_for, mocked_stripe, sender, stripe_ctx

SERVER_M, FLAT_RATE = 2400, 39_000
EXTRA_WORK = 14_250  # 90 min at 95.00/h
PAYG_INCREMENT = 2375  # 15 min at 95.00/h
B_MINUTES, B_INCREMENTS = 435, 29
B_USAGE = B_INCREMENTS * PAYG_INCREMENT  # 68875
C_INCREMENTS = 5  # 75 / 15
C_USAGE = C_INCREMENTS * 2125  # 10625
NOVEMBER_TOTAL = SERVER_M + FLAT_RATE + EXTRA_WORK + B_USAGE + C_USAGE  # 135150

# Stripe's subscriptions: (monthly fee, fee price).
FEES = {
    "sub_a_server": (SERVER_M, "price_server_m"),
    "sub_a_support": (FLAT_RATE, "price_flat"),
    "sub_b": (0, "price_payg"),
}
REFERENCE = "dockyard_reference"  # on the invoices Dockyard asks Stripe for
FAST = Retry(attempts=2, base_delay=0, max_delay=0)


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


OCT, NOV, DEC = epoch(at(10, 1)), epoch(at(11, 1)), epoch(at(12, 1))


@dataclass
class Draft:
    """An invoice before it is put in the fake Stripe, so a case can edit it first."""

    customer: str
    subscription: str | None
    created: int
    lines: list[Json]
    status: str = "paid"
    currency: str = "eur"


@dataclass
class World:
    ctx: BillingContext
    clock: MovableClock
    fake: FakeStripe
    a: str
    a_server: str
    a_support: str
    extra_work: str  # A's support entry billed as an invoice item
    b: str
    b_support: str
    c: str
    c_support: str
    invoices: dict[str, Draft] = field(default_factory=dict)

    def replace_line(self, invoice: str, line: Json) -> None:
        lines = self.invoices[invoice].lines
        lines[[each["id"] for each in lines].index(line["id"])] = line

    def publish(self) -> None:
        for id, draft in self.invoices.items():
            self.fake.add(
                invoice_with_lines(
                    id,
                    draft.customer,
                    draft.subscription,
                    draft.lines,
                    created=draft.created,
                    status=draft.status,
                    currency=draft.currency,
                )
            )

    async def work(
        self, customer: str, minutes: int, moment: datetime, *, extra_work: bool = False
    ) -> str:
        """Time logged when it was done, and the worker's next drain of the outbox."""
        self.clock.now = moment
        entry = await Ledger(self.ctx).record(
            customer, minutes, "Shop checkout", "Eve", extra_work=extra_work
        )
        report = await sender(self.ctx).drain()
        assert (report.retrying, report.dead, report.waiting) == (0, 0, 0), report
        return entry.id


def server_fee(amount: int = SERVER_M, currency: str = "eur") -> Json:
    """A's Server M fee for November (a case may bill it otherwise)."""
    return subscription_line(
        "il_a_nov_server",
        "sub_a_server",
        amount=amount,
        period=(NOV, DEC),
        price="price_server_m",
        currency=currency,
    )


def b_usage(increments: int = B_INCREMENTS, start: int = NOV) -> Json:
    """B's metered support time of the month from ``start``, billed at its end."""
    return usage_line(
        f"il_b_usage_{start}",
        "sub_b",
        increments=increments,
        unit_amount=PAYG_INCREMENT,
        period=(start, add_months(start, 1)),
        price="price_payg_minutes",
    )


def fee(subscription: str, start: int) -> Json:
    """A subscription's fee for the month from ``start``, billed in advance."""
    amount, price = FEES[subscription]
    period = (start, add_months(start, 1))
    return subscription_line(
        f"il_{subscription}_{start}", subscription, amount=amount, period=period, price=price
    )


def stripe_account(fake: FakeStripe) -> None:
    """The customers, the support meter and the prices `dockyard plans sync` made."""
    for id, name in (("cus_a", "Ann"), ("cus_b", "Bob"), ("cus_c", "Cy")):
        fake.add(customer(id, f"{name.lower()}@example.com", name))
    fake.add(meter("mtr_support"))
    for id, key, amount, interval in (
        ("price_server_m", "server-m:v1", SERVER_M, "month"),
        ("price_flat", "support-flat:v1", FLAT_RATE, "month"),
        ("price_payg", "support-payg:v1", 0, "month"),
        ("price_10h", "support-10h:v1", 840_000, "year"),
    ):
        fake.add(price(id, f"dockyard:{key}", amount, recurring={"interval": interval}))
    metered = {"interval": "month", "usage_type": "metered", "meter": "mtr_support"}
    obj = price(
        "price_payg_minutes", "dockyard:support-payg:v1:minutes", PAYG_INCREMENT, recurring=metered
    )
    fake.add({**obj, "transform_quantity": {"divide_by": 15, "round": "up"}})


async def base_world(ctx: BillingContext, clock: MovableClock, fake: FakeStripe) -> World:
    october = at(10, 1)
    async with ctx.sessions() as session, session.begin():
        a = await make_customer(session, october, stripe_customer_id="cus_a")
        a_server = await make_subscription(
            session, a, "server-m", october, stripe_subscription_id="sub_a_server"
        )
        a_support = await make_subscription(
            session, a, "support-flat", october, stripe_subscription_id="sub_a_support"
        )
        b = await make_customer(session, october, stripe_customer_id="cus_b")
        b_support = await make_subscription(
            session, b, "support-payg", october, stripe_subscription_id="sub_b"
        )
        c = await make_customer(session, october, stripe_customer_id="cus_c")
        c_support = await make_subscription(
            session, c, "support-10h", october, stripe_subscription_id="sub_c"
        )
    stripe_account(fake)
    world = World(
        ctx, clock, fake, a.id, a_server.id, a_support.id, "", b.id, b_support.id, c.id,
        c_support.id,
    )  # fmt: skip

    world.extra_work = await world.work(a.id, 90, at(11, 12, 10), extra_work=True)
    await world.work(b.id, 180, at(11, 5, 11))
    await world.work(c.id, 480, at(11, 10, 10))
    await world.work(b.id, 250, at(11, 17, 9))
    await world.work(c.id, 190, at(11, 24, 14))
    # November closes an hour into December; C's overage goes out on its own invoice,
    # which Stripe finalises and charges.
    clock.now = at(12, 1, 1)
    await PeriodClosing(ctx).close_due()
    report = await sender(ctx).drain()
    assert (report.sent, report.retrying, report.dead) == (2, 0, 0), report
    [c_usage] = [o for o in fake.objects.values() if o.get("metadata", {}).get(REFERENCE)]
    finalize_invoice(fake, c_usage["id"])
    pay(fake, c_usage, epoch(at(12, 1, 2)))
    clock.now = at(12, 20)

    item = await outbox_row(ctx, f"invoice_item:{world.extra_work}")
    extra = invoice_item_line(
        "il_a_extra",
        amount=EXTRA_WORK,
        period=(NOV, DEC),
        entry_id=world.extra_work,
        customer_id=a.id,
        dockyard_period="2026-11",
        invoice_item=item.stripe_id,
        description=str(item.payload["description"]),
    )
    world.invoices = {
        "in_a_nov_server": Draft("cus_a", "sub_a_server", NOV, [server_fee()]),
        "in_a_nov_support": Draft("cus_a", "sub_a_support", NOV, [fee("sub_a_support", NOV)]),
        "in_a_dec_server": Draft("cus_a", "sub_a_server", DEC, [fee("sub_a_server", DEC)]),
        # Stripe put the waiting item on A's next cycle invoice.
        "in_a_dec_support": Draft(
            "cus_a", "sub_a_support", DEC, [fee("sub_a_support", DEC), extra]
        ),
        # Stripe lists every metered item, at 0 when unused (October's here).
        "in_b_nov": Draft("cus_b", "sub_b", NOV, [b_usage(0, OCT), fee("sub_b", NOV)]),
        "in_b_dec": Draft("cus_b", "sub_b", DEC, [b_usage(), fee("sub_b", DEC)]),
        # C's yearly fee was invoiced on 1 October, before November's invoices.
    }
    return world


async def outbox_row(ctx: BillingContext, key: str) -> OutboxMessage:
    async with ctx.sessions() as session:
        row = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
        )
    assert row is not None, key
    return row


async def reconciled(world: World) -> Reconciliation:
    world.publish()
    return await reconcile_month(world.ctx, client_for(world.ctx), "2026-11", retry=FAST)


@pytest.fixture
def fake_stripe(clock: MovableClock) -> Iterator[FakeStripe]:
    yield from mocked_stripe(clock)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(at(10, 1))


@pytest.fixture
def ctx(engine: AsyncEngine, clock: MovableClock) -> BillingContext:
    return stripe_ctx(engine, clock)


@pytest.fixture
async def world(ctx: BillingContext, clock: MovableClock, fake_stripe: FakeStripe) -> World:
    return await base_world(ctx, clock, fake_stripe)


async def test_the_base_month_reconciles_clean_to_the_cent(world: World) -> None:
    result = await reconciled(world)

    assert result.findings == []
    assert result.invoices_read == 7
    totals = result.totals["EUR"]
    assert (totals.expected, totals.invoiced, totals.paid) == (NOVEMBER_TOTAL,) * 3
    a, b = result.by_customer[(world.a, "EUR")], result.by_customer[(world.b, "EUR")]
    assert (a.expected, a.invoiced) == (SERVER_M + FLAT_RATE + EXTRA_WORK,) * 2
    assert (b.expected, b.invoiced) == (B_USAGE,) * 2
    assert {
        line.key: (line.expected, line.invoiced, line.expected_quantity, line.invoiced_quantity)
        for line in result.lines
        if line.status == "ok"
    } == {
        f"fee:{world.a_server}:2026-11": (SERVER_M, SERVER_M, 1, 1),
        f"fee:{world.a_support}:2026-11": (FLAT_RATE, FLAT_RATE, 1, 1),
        f"item:{world.extra_work}": (EXTRA_WORK, EXTRA_WORK, 1, 1),
        f"fee:{world.b_support}:2026-11": (0, 0, 1, 1),
        f"usage:{world.b_support}:2026-11": (B_USAGE, B_USAGE, B_INCREMENTS, B_INCREMENTS),
        f"usage:{world.c_support}:2026-11": (C_USAGE, C_USAGE, C_INCREMENTS, C_INCREMENTS),
    }
    assert len(result.lines) == 6
    # Stripe was read as the reconciliation reads it: the invoice list, and the meter of
    # each customer with metered support (C's yearly plan sends nothing to the meter).
    paths = [call.path for call in world.fake.calls if call.method == "GET"]
    assert "/v1/invoices" in paths
    assert [
        call.form["customer"] for call in world.fake.calls if call.path.endswith("/event_summaries")
    ] == ["cus_b"]


# -- one planted difference per kind -----------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """The one finding a plant must produce; ``objects`` must all be among its objects."""

    customer: str | None
    expected: int | None
    actual: int | None
    objects: tuple[str, ...]


Plant = Callable[[World], Awaitable[Expect]]


async def stripe_never_invoiced_b(w: World) -> Expect:
    # Neither the 0.00 fee on 1 November nor the usage on 1 December: nothing of B's
    # November reached an invoice. (Dropping only A's 1 November invoices would leave A
    # invoiced for November by the item on 1 December: that is missing lines.)
    del w.invoices["in_b_nov"], w.invoices["in_b_dec"]
    return Expect(w.b, B_USAGE, None, (f"usage:{w.b_support}:2026-11",))


async def the_extra_work_line_left_out(w: World) -> Expect:
    w.invoices["in_a_dec_support"].lines.pop()
    return Expect(w.a, EXTRA_WORK, None, (f"item:{w.extra_work}",))


async def an_invoice_of_a_stranger(w: World) -> Expect:
    w.fake.add(customer("cus_stranger", "who@example.com", "Who"))
    line = subscription_line("il_stranger", "sub_stranger", amount=5000, period=(NOV, DEC))
    w.invoices["in_stranger"] = Draft("cus_stranger", "sub_stranger", NOV, [line])
    return Expect(None, None, 5000, ("in_stranger", "cus_stranger"))


async def a_charge_typed_into_the_dashboard(w: World) -> Expect:
    # An invoice item made by hand on 20 November, without our metadata (the reader asks
    # Stripe for the item itself and finds none either); it went on the 1 December invoice.
    w.fake.add(invoice_item("ii_by_hand", "cus_a", 1000))
    moment = epoch(at(11, 20, 15))
    line = invoice_item_line(
        "il_by_hand",
        amount=1000,
        period=(moment, moment),
        invoice_item="ii_by_hand",
        description="Consulting",
    )
    w.invoices["in_a_dec_support"].lines.append(line)
    return Expect(w.a, None, 1000, ("in_a_dec_support", "il_by_hand"))


async def a_price_edited_in_stripe(w: World) -> Expect:
    w.replace_line("in_a_nov_server", server_fee(2500))
    return Expect(w.a, SERVER_M, 2500, (f"fee:{w.a_server}:2026-11", "in_a_nov_server"))


async def one_increment_too_many(w: World) -> Expect:
    w.replace_line("in_b_dec", b_usage(B_INCREMENTS + 1))
    return Expect(w.b, B_INCREMENTS, B_INCREMENTS + 1, (f"usage:{w.b_support}:2026-11", "in_b_dec"))


async def minutes_still_in_the_outbox(w: World) -> Expect:
    # D's 20 November hour is still in the outbox: the worker has not sent its meter event
    # (pending). D's subscription is not in Stripe (no line is expected of it), so the
    # waiting event is the only consequence. (B's would also be missing from the
    # 1 December invoice: a quantity mismatch besides.)
    w.fake.add(customer("cus_d", "dee@example.com", "Dee"))
    async with w.ctx.sessions() as session, session.begin():
        d = await make_customer(session, at(11, 2), stripe_customer_id="cus_d")
        await make_subscription(session, d, "support-payg", at(11, 2))
    entry = await Ledger(w.ctx).record(d.id, 60, "Backup restore", "Eve", worked_at=at(11, 20))
    waiting = await outbox_row(w.ctx, f"meter:{entry.id}")
    assert waiting.state == "pending"
    return Expect(d.id, 60, 0, (f"outbox:{waiting.id}",))


async def an_event_resent_by_hand(w: World) -> Expect:
    # B's 17 November event (255 min) sent again on 5 December under another identifier,
    # so the meter keeps both. It came after the 1 December invoice was finalized, so
    # Stripe did not bill it: the meter is the only place it shows.
    [first] = [e for e in w.fake.meter_events if e["payload"]["value"] == "255"]
    w.fake.add_meter_event({**first, "identifier": "resent-by-hand", "created": epoch(at(12, 5))})
    return Expect(w.b, B_MINUTES, B_MINUTES + 255, (f"meter:{w.b}:2026-11",))


async def billed_in_dollars(w: World) -> Expect:
    w.invoices["in_a_nov_server"].currency = "usd"
    w.replace_line("in_a_nov_server", server_fee(currency="usd"))
    return Expect(w.a, SERVER_M, SERVER_M, (f"fee:{w.a_server}:2026-11", "in_a_nov_server"))


async def still_open_weeks_later(w: World) -> Expect:
    w.invoices["in_a_nov_server"].status = "open"  # charged automatically, the card failed
    return Expect(w.a, SERVER_M, 0, ("in_a_nov_server",))


async def paid_after_dunning_suspended_it(w: World) -> Expect:
    # Dunning suspended Server M; A paid, but the invoice.paid webhook was never applied.
    async with w.ctx.sessions() as session, session.begin():
        await session.execute(
            update(Subscription)
            .where(Subscription.id == w.a_server)
            .values(
                state=SubscriptionState.SUSPENDED.value,
                suspension_reason="billing",
                suspended_since=at(11, 9),
            )
        )
    return Expect(w.a, None, SERVER_M, ("in_a_nov_server", w.a_server))


PLANTS: list[tuple[FindingKind, Plant]] = [
    (FindingKind.MISSING_INVOICE, stripe_never_invoiced_b),
    (FindingKind.MISSING_LINE, the_extra_work_line_left_out),
    (FindingKind.UNEXPECTED_INVOICE, an_invoice_of_a_stranger),
    (FindingKind.UNEXPECTED_LINE, a_charge_typed_into_the_dashboard),
    (FindingKind.AMOUNT_MISMATCH, a_price_edited_in_stripe),
    (FindingKind.QUANTITY_MISMATCH, one_increment_too_many),
    (FindingKind.USAGE_NOT_SENT, minutes_still_in_the_outbox),
    (FindingKind.USAGE_SENT_TWICE, an_event_resent_by_hand),
    (FindingKind.CURRENCY_MISMATCH, billed_in_dollars),
    (FindingKind.UNPAID_PAST_DUE, still_open_weeks_later),
    (FindingKind.PAID_BUT_SUSPENDED, paid_after_dunning_suspended_it),
]


def test_every_kind_of_finding_is_planted() -> None:
    assert sorted(kind for kind, _ in PLANTS) == sorted(FindingKind)


@pytest.mark.parametrize(("kind", "plant"), PLANTS, ids=[kind.value for kind, _ in PLANTS])
async def test_a_planted_difference_is_the_only_finding(
    world: World, kind: FindingKind, plant: Plant
) -> None:
    expect = await plant(world)

    result = await reconciled(world)

    assert [finding.kind for finding in result.findings] == [kind]
    [finding] = result.findings
    assert summary(finding) == (expect.customer, expect.expected, expect.actual)
    assert set(expect.objects) <= set(finding.objects), finding.objects


def summary(finding: Finding) -> tuple[str | None, int | None, int | None]:
    return finding.customer_id, finding.expected, finding.actual
