"""Reading Stripe's side of a reconciliation: invoices page by page in current shapes,
each line keyed by our ids, credit notes and meter summaries, and a read that resumes
after Stripe stopped answering."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import stripe
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.errors import CheckpointMismatch
from billing.periods import Period
from billing.reconcile.lines import ActualInvoice, LineKind, line_key
from billing.reconcile.stripe.checkpoint import Checkpoint, checkpoint_file
from billing.reconcile.stripe.ids import CustomerIndex
from billing.reconcile.stripe.meter import find_meter_id, meter_summaries
from billing.reconcile.stripe.reader import StripeReadInterrupted, stream_invoices
from billing.reconcile.stripe.retry import Retry
from billing.repository.stripe_links import StripeLink
from billing.stripe.client import make_client
from portal.database import create_session_factory
from tests.fixtures.billing import make_customer, make_subscription
from tests.fixtures.stripe_double.fake import (
    Call,
    FakeStripe,
    add_months,
    credit_note,
    invoice,
    invoice_item,
    invoice_item_line,
    invoice_with_lines,
    meter,
    price,
    proration_lines,
    stripe_settings,
    subscription_line,
    usage_line,
)
from tests.fixtures.stripe_double.wiring import mocked_stripe

NOV = 1_793_491_200  # 2026-11-01 UTC
DEC = 1_796_083_200  # 2026-12-01 UTC
JAN = add_months(DEC, 1)
START, END = datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
METERED = frozenset({"price_min"})

# Ours: customer c1 (cus_1) with subscription s1 (sub_1); c2 (cus_2) with s2 (sub_2);
# c3 never reached Stripe; s4 of c1 has no Stripe id stored (a lost webhook).
INDEX = CustomerIndex.of(
    [
        StripeLink("c1", "cus_1", "s1", "sub_1"),
        StripeLink("c1", "cus_1", "s4", None),
        StripeLink("c2", "cus_2", "s2", "sub_2"),
        StripeLink("c3", None, None, None),
    ]
)


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    yield from mocked_stripe()


@pytest.fixture
def client() -> stripe.StripeClient:
    return make_client(stripe_settings())


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


async def read(
    client: stripe.StripeClient,
    sleeps: Sleeps,
    *,
    customer: str | None = None,
    checkpoint: Checkpoint | None = None,
    on_page: Callable[[int], None] | None = None,
    metered_prices: frozenset[str] | None = METERED,
) -> list[ActualInvoice]:
    stream = stream_invoices(
        client, START, END, customers=INDEX, customer=customer, checkpoint=checkpoint,
        on_page=on_page, metered_prices=metered_prices, retry=Retry(sleep=sleeps),
    )  # fmt: skip
    return [found async for found in stream]


def fee_invoices(fake: FakeStripe, count: int, *, created: int = DEC) -> list[str]:
    ids = [f"in_{n:04d}" for n in range(count)]
    for n, invoice_id in enumerate(ids):
        fake.add(invoice(invoice_id, "cus_1", "sub_1", created=created + n))
    return ids


def invoice_pages(fake: FakeStripe) -> list[Call]:
    return [c for c in fake.calls if c.path == "/v1/invoices"]


async def test_every_invoice_of_several_pages_is_read_once(
    fake: FakeStripe, client: stripe.StripeClient, sleeps: Sleeps
) -> None:
    ids = fee_invoices(fake, 250)
    fake.add(invoice("in_november", "cus_1", "sub_1", created=DEC - 1))  # outside the window
    fake.add(invoice("in_january", "cus_1", "sub_1", created=JAN))
    pages: list[int] = []

    found = await read(client, sleeps, on_page=pages.append)

    assert [i.id for i in found] == list(reversed(ids))  # newest first, each once
    assert pages == [100, 200, 250]
    calls = invoice_pages(fake)
    assert [c.form.get("starting_after") for c in calls] == [None, "in_0150", "in_0050"]
    assert {c.form["limit"] for c in calls} == {"100"}
    assert calls[0].form["created[gte]"] == str(DEC)
    assert calls[0].form["created[lt]"] == str(JAN)
    first = found[-1]
    assert (first.customer_id, first.stripe_customer_id, first.subscription_id) == (
        "c1",
        "cus_1",
        "s1",
    )
    assert (first.status, first.currency, first.total, first.amount_paid) == (
        "paid",
        "EUR",
        900,
        900,
    )
    assert first.created == START
    assert [line.key for line in first.lines] == [line_key(LineKind.FEE, "s1", "2026-12")]


async def test_a_page_is_fetched_only_when_the_caller_gets_to_it(
    fake: FakeStripe, client: stripe.StripeClient, sleeps: Sleeps
) -> None:
    fee_invoices(fake, 150)
    stream = stream_invoices(client, START, END, customers=INDEX, metered_prices=METERED)

    taken = [await anext(stream) for _ in range(100)]
    assert len(invoice_pages(fake)) == 1  # one page in memory, never the account
    taken.append(await anext(stream))
    assert len(invoice_pages(fake)) == 2
    assert len({i.id for i in taken}) == 101
    await stream.aclose()


async def test_an_invoice_with_more_than_ten_lines_reads_them_all(
    fake: FakeStripe, client: stripe.StripeClient, sleeps: Sleeps
) -> None:
    lines = [
        subscription_line(f"il_{n:02d}", "sub_1", amount=100 + n, period=(DEC, JAN))
        for n in range(25)
    ]
    fake.add(invoice_with_lines("in_long", "cus_1", "sub_1", lines))

    (found,) = await read(client, sleeps)

    assert [line.line_id for line in found.lines] == [f"il_{n:02d}" for n in range(25)]
    assert sum(line.amount for line in found.lines) == found.total
    (page,) = [c for c in fake.calls if c.path == "/v1/invoices/in_long/lines"]
    assert (page.form["starting_after"], page.form["limit"]) == ("il_09", "100")


async def test_each_kind_of_line_is_keyed_by_our_ids(
    fake: FakeStripe, client: stripe.StripeClient, sleeps: Sleeps
) -> None:
    fake.add(invoice_item("ii_bare", "cus_1", 1500, {"dockyard_entry_id": "se_extra"}))
    lines = [
        subscription_line("il_fee", "sub_1", amount=2900, period=(DEC, JAN)),
        usage_line("il_usage", "sub_1", increments=6, unit_amount=2125, period=(NOV, DEC)),
        *proration_lines("il_up", "sub_1", credit=1450, charge=2450,
                         period=(NOV + 86400 * 15, DEC)),
        *proration_lines("il_up2", "sub_2", credit=10, charge=20, period=(DEC, JAN),
                         via_invoice_item=True),
        invoice_item_line("il_setup", amount=4900, period=(NOV, NOV), entry_id="setup:s1",
                          customer_id="c1", dockyard_period="2026-11"),
        invoice_item_line("il_bare", amount=1500, period=(NOV, NOV), invoice_item="ii_bare"),
        invoice_item_line("il_manual", amount=700, period=(NOV, NOV), invoice_item="ii_gone"),
        subscription_line("il_theirs", "sub_other", amount=100, period=(DEC, JAN)),
        subscription_line("il_lost", "sub_lost", amount=2900, period=(DEC, JAN),
                          metadata={"dockyard_subscription_id": "s4"}),
        subscription_line("il_typed", "sub_typed", amount=2900, period=(DEC, JAN),
                          metadata={"dockyard_subscription_id": "s_nobody"}),
    ]  # fmt: skip
    fake.add(invoice_with_lines("in_kinds", "cus_1", "sub_1", lines))

    (found,) = await read(client, sleeps)

    by_id = {line.line_id: line for line in found.lines}
    assert {line_id: (line.kind, line.key) for line_id, line in by_id.items()} == {
        "il_fee": (LineKind.FEE, "fee:s1:2026-12"),
        "il_usage": (LineKind.USAGE, "usage:s1:2026-11"),
        "il_up_credit": (LineKind.PRORATION, "proration:s1:2026-11"),
        "il_up_charge": (LineKind.PRORATION, "proration:s1:2026-11"),
        "il_up2_credit": (LineKind.PRORATION, "proration:s2:2026-12"),
        "il_up2_charge": (LineKind.PRORATION, "proration:s2:2026-12"),
        "il_setup": (LineKind.ITEM, "item:setup:s1"),
        "il_bare": (LineKind.ITEM, "item:se_extra"),  # from the invoice item itself
        "il_manual": (LineKind.ITEM, None),  # no such invoice item: nothing names it
        "il_theirs": (LineKind.FEE, None),  # a subscription Dockyard does not know
        "il_lost": (LineKind.FEE, "fee:s4:2026-12"),  # by the subscription's metadata
        "il_typed": (LineKind.FEE, None),  # metadata naming no subscription of ours
    }
    usage = by_id["il_usage"]
    assert (usage.quantity, usage.amount, usage.price_id, usage.subscription_id) == (
        6,
        12750,
        "price_min",
        "s1",
    )
    assert (by_id["il_up_credit"].amount, by_id["il_up_charge"].amount) == (-1450, 2450)
    assert usage.period_start == datetime(2026, 11, 1, tzinfo=UTC)
    assert usage.period_end == START
    assert by_id["il_setup"].currency == "EUR"
    assert by_id["il_setup"].description == "Setup fee"
    item_fetches = [c.path for c in fake.calls if c.path.startswith("/v1/invoiceitems/")]
    assert item_fetches == ["/v1/invoiceitems/ii_bare", "/v1/invoiceitems/ii_gone"]


async def test_metered_prices_are_read_from_stripe_when_not_given(
    fake: FakeStripe, client: stripe.StripeClient, sleeps: Sleeps
) -> None:
    fake.add(
        price(
            "price_min",
            "dockyard:support-payg:v1:minutes",
            2125,
            recurring={"interval": "month", "usage_type": "metered", "meter": "mtr_1"},
        )
    )
    fake.add(price("price_fee", "dockyard:support-payg:v1", 2900,
                   recurring={"interval": "month", "usage_type": "licensed"}))  # fmt: skip
    lines = [
        subscription_line("il_fee", "sub_1", amount=2900, period=(DEC, JAN)),
        usage_line("il_usage", "sub_1", increments=2, unit_amount=2125, period=(NOV, DEC)),
    ]
    fake.add(invoice_with_lines("in_1", "cus_1", "sub_1", lines))

    (found,) = await read(client, sleeps, metered_prices=None)

    assert [line.kind for line in found.lines] == [LineKind.FEE, LineKind.USAGE]
    assert [c.path for c in fake.calls] == ["/v1/prices", "/v1/invoices"]


async def test_customers_are_ours_by_stripe_link_else_by_known_metadata(
    fake: FakeStripe, client: stripe.StripeClient, sleeps: Sleeps
) -> None:
    fake.add(invoice("in_stranger", "cus_stranger", None, created=DEC + 1))
    fake.add(
        invoice(
            "in_typed",
            "cus_stranger",
            None,
            created=DEC + 2,
            metadata={"dockyard_customer_id": "c_nobody"},
        )
    )
    fake.add(
        invoice(
            "in_by_metadata",
            "cus_new",
            None,
            created=DEC + 3,
            metadata={"dockyard_customer_id": "c3"},
        )
    )
    fake.add(invoice("in_by_subscription", "cus_new", "sub_2", created=DEC + 4))  # fmt: skip
    fake.add(invoice("in_expanded", {"id": "cus_2", "object": "customer"}, None, created=DEC + 5))

    found = {i.id: i for i in await read(client, sleeps)}

    assert {k: (i.customer_id, i.stripe_customer_id) for k, i in found.items()} == {
        "in_stranger": (None, "cus_stranger"),
        "in_typed": (None, "cus_stranger"),
        "in_by_metadata": ("c3", "cus_new"),
        "in_by_subscription": ("c2", "cus_new"),
        "in_expanded": ("c2", "cus_2"),
    }
    assert found["in_by_subscription"].subscription_id == "s2"


async def test_one_customers_invoices(
    fake: FakeStripe, client: stripe.StripeClient, sleeps: Sleeps
) -> None:
    fake.add(invoice("in_c1", "cus_1", "sub_1", created=DEC + 1))
    fake.add(invoice("in_c2", "cus_2", "sub_2", created=DEC + 2))

    found = await read(client, sleeps, customer="c2")

    assert [i.id for i in found] == ["in_c2"]
    assert invoice_pages(fake)[0].form["customer"] == "cus_2"


async def test_credit_notes_are_read_only_for_invoices_that_have_some(
    fake: FakeStripe, client: stripe.StripeClient, sleeps: Sleeps
) -> None:
    fee_invoices(fake, 3)
    line = subscription_line("il_c", "sub_1", amount=2900, period=(DEC, JAN))
    fake.add(invoice_with_lines("in_credited", "cus_1", "sub_1", [line], credited=500,
                                created=DEC + 10))  # fmt: skip
    fake.add(credit_note("cn_1", "in_credited", 300))
    fake.add(credit_note("cn_2", "in_credited", 200))
    fake.add(credit_note("cn_void", "in_credited", 900, status="void"))
    fake.add(credit_note("cn_other", "in_0001", 100))  # not reached: in_0001 says it has none

    found = {i.id: i for i in await read(client, sleeps)}

    assert (found["in_credited"].credited, set(found["in_credited"].credit_notes)) == (
        500,
        {"cn_1", "cn_2"},
    )
    assert found["in_0001"].credited == 0
    notes = [c for c in fake.calls if c.path == "/v1/credit_notes"]
    assert [c.form["invoice"] for c in notes] == ["in_credited"]


@pytest.mark.parametrize("fault", [httpx.ConnectError, 503])
async def test_a_failed_page_is_retried_and_read_on_without_duplicates(
    fake: FakeStripe,
    client: stripe.StripeClient,
    sleeps: Sleeps,
    fault: int | type[Exception],
) -> None:
    ids = fee_invoices(fake, 250)
    fake.fail(2, fault, when=lambda c: c.path == "/v1/invoices" and "starting_after" in c.form)

    found = await read(client, sleeps)

    assert sorted(i.id for i in found) == ids
    assert sleeps.delays == [0.5, 1.0]
    assert [c.form.get("starting_after") for c in invoice_pages(fake)] == [
        None, "in_0150", "in_0150", "in_0150", "in_0050",
    ]  # fmt: skip


async def test_a_read_that_keeps_failing_says_where_it_stopped_and_resumes_there(
    fake: FakeStripe, client: stripe.StripeClient, sleeps: Sleeps, tmp_path: Path
) -> None:
    ids = fee_invoices(fake, 250)
    path = checkpoint_file(tmp_path / "var", "2026-12")
    fake.fail(4, httpx.ConnectError, when=lambda c: c.form.get("starting_after") == "in_0150")
    first: list[ActualInvoice] = []

    async def read_until_stopped() -> None:
        stream = stream_invoices(
            client, START, END, customers=INDEX, checkpoint=Checkpoint.at(path),
            metered_prices=METERED, retry=Retry(sleep=sleeps),
        )  # fmt: skip
        async for found in stream:
            first.append(found)

    with pytest.raises(StripeReadInterrupted) as stopped:
        await read_until_stopped()

    message = str(stopped.value)
    assert "after invoice in_0150 (100 read)" in message
    assert "Stripe unreachable" in message
    assert str(path) in message
    assert not stopped.value.permanent
    assert len(sleeps.delays) == 3  # four tries in all
    assert path.exists()

    rest = await read(client, sleeps, checkpoint=Checkpoint.at(path))  # a new process

    assert [i.id for i in first + rest] == list(reversed(ids))
    assert Checkpoint.at(path).complete
    assert await read(client, sleeps, checkpoint=Checkpoint.at(path)) == []  # all read


async def test_a_failure_inside_an_invoice_resumes_with_that_invoice(
    fake: FakeStripe, client: stripe.StripeClient, sleeps: Sleeps
) -> None:
    fee_invoices(fake, 2)
    lines = [subscription_line(f"il_{n}", "sub_1", amount=10, period=(DEC, JAN)) for n in range(12)]
    fake.add(invoice_with_lines("in_long", "cus_1", "sub_1", lines, created=DEC - 1 + 86400))
    fake.fail(4, 500, when=lambda c: c.path == "/v1/invoices/in_long/lines")
    checkpoint = Checkpoint()

    with pytest.raises(StripeReadInterrupted, match="while reading invoice in_long"):
        await read(client, sleeps, checkpoint=checkpoint)
    assert (checkpoint.after, checkpoint.read) == (None, 0)  # in_long is the newest

    found = await read(client, sleeps, checkpoint=checkpoint)
    assert [i.id for i in found] == ["in_long", "in_0001", "in_0000"]
    assert len(found[0].lines) == 12


async def test_an_invoice_in_an_unknown_shape_is_a_clear_error(
    fake: FakeStripe, client: stripe.StripeClient, sleeps: Sleeps
) -> None:
    fee_invoices(fake, 2)
    broken = invoice("in_broken", "cus_1", "sub_1", created=DEC - 1 + 86400)
    del broken["lines"]["data"][0]["period"]
    fake.add(broken)

    with pytest.raises(StripeReadInterrupted) as stopped:
        await read(client, sleeps)

    assert stopped.value.permanent
    assert "while reading invoice in_broken: the invoice is not in the shape" in str(stopped.value)
    assert "'period'" in str(stopped.value)


async def test_a_refusal_is_not_retried(
    fake: FakeStripe, client: stripe.StripeClient, sleeps: Sleeps
) -> None:
    fee_invoices(fake, 1)
    fake.fail(1, 401)

    with pytest.raises(StripeReadInterrupted, match=r"before the first invoice.*refused \(401\)"):
        await read(client, sleeps)
    assert sleeps.delays == []


async def test_a_checkpoint_serves_one_window(client: stripe.StripeClient, sleeps: Sleeps) -> None:
    checkpoint = Checkpoint(window="invoices created 2026-11-01T00:00:00+00:00 to x")

    with pytest.raises(CheckpointMismatch, match="delete it to start that read"):
        await read(client, sleeps, checkpoint=checkpoint)


async def test_meter_summaries_per_customer_with_a_stripe_id(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    fake.add(meter("mtr_1"))
    for identifier, customer, value, at in [
        ("a", "cus_1", 30, NOV + 60),
        ("b", "cus_1", 45, DEC - 60),
        ("b", "cus_1", 45, DEC - 60),  # the same event sent twice: Stripe keeps one
        ("c", "cus_1", 10, DEC),  # December's
        ("d", "cus_2", 5, NOV - 1),  # October's
    ]:
        fake.add_meter_event({"event_name": "dockyard_support_minutes", "identifier": identifier,
                              "payload": {"stripe_customer_id": customer, "value": str(value)},
                              "timestamp": at})  # fmt: skip

    assert await find_meter_id(client) == "mtr_1"
    summaries = await meter_summaries(client, "mtr_1", INDEX, Period(2026, 11))

    assert [(s.customer_id, s.period, s.minutes) for s in summaries] == [
        ("c1", "2026-11", 75),
        ("c2", "2026-11", 0),
    ]  # c3 has no Stripe customer: nothing asked
    calls = [c for c in fake.calls if c.path.endswith("/event_summaries")]
    assert calls[0].form == {"customer": "cus_1", "start_time": str(NOV), "end_time": str(DEC),
                             "limit": "100"}  # fmt: skip
    assert "value_grouping_window" not in calls[0].form
    only = await meter_summaries(client, "mtr_1", INDEX, Period(2026, 11), only={"c2"})
    assert [s.customer_id for s in only] == ["c2"]


async def test_the_index_comes_from_the_database(engine: AsyncEngine) -> None:
    now = datetime(2026, 11, 3, tzinfo=UTC)
    sessions = create_session_factory(engine)
    async with sessions() as session, session.begin():
        linked = await make_customer(session, now, stripe_customer_id="cus_A")
        await make_subscription(session, linked, "app-starter", now, id="sA",
                                stripe_subscription_id="sub_A")  # fmt: skip
        await make_subscription(session, linked, "app-starter", now, id="sB")
        offline = await make_customer(session, now)
    async with sessions() as session:
        index = await CustomerIndex.load(session)

    assert index.customer("cus_A") == linked.id
    assert index.subscription("sub_A") == "sA"
    assert index.owner("sB") == linked.id
    assert index.stripe_customer(linked.id) == "cus_A"
    assert index.stripe_customer(offline.id) is None
    assert index.customer("cus_x", {"dockyard_customer_id": offline.id}) == offline.id
