"""A whole reconciliation against a fake Stripe: a clean month, a planted difference, and
a read that Stripe interrupts and a second run resumes without reading twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.context import BillingContext
from billing.outbox import OutboxKind
from billing.reconcile.findings import FindingKind
from billing.reconcile.run import reconcile_month
from billing.reconcile.stripe.reader import StripeReadInterrupted
from billing.reconcile.stripe.retry import Retry
from tests.fixtures.billing import make_customer, make_subscription, outbox_row
from tests.fixtures.clock import MovableClock
from tests.fixtures.reconcile import SERVER_M, monthly_fee_invoices
from tests.fixtures.stripe_double.fake import (
    FakeStripe,
    add_months,
    customer,
    invoice_item_line,
    invoice_with_lines,
    subscription_line,
)
from tests.fixtures.stripe_double.wiring import client_for, mocked_stripe, stripe_ctx

NOV = 1_793_491_200  # 2026-11-01 UTC
DEC = 1_796_083_200  # 2026-12-01 UTC
JAN = add_months(DEC, 1)
FAST = Retry(attempts=2, base_delay=0, max_delay=0)


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    yield from mocked_stripe()


async def a_customer_on_server_m(ctx: BillingContext) -> tuple[str, str]:
    """A customer on Server M since October, known to Stripe as cus_r1 / sub_r1."""
    october = datetime(2026, 10, 1, tzinfo=UTC)
    async with ctx.sessions() as session, session.begin():
        holder = await make_customer(session, october, stripe_customer_id="cus_r1")
        held = await make_subscription(
            session, holder, "server-m", october, stripe_subscription_id="sub_r1"
        )
        return holder.id, held.id


def stripe_invoices(fake: FakeStripe, november_amount: int = SERVER_M) -> None:
    """What Stripe issued: November's fee on 1 November, December's on 1 December."""
    monthly_fee_invoices(fake, "r1", ((NOV, november_amount), (DEC, SERVER_M)))


@pytest.fixture
def ctx(engine: AsyncEngine) -> BillingContext:
    return stripe_ctx(engine, MovableClock(datetime(2026, 12, 20, tzinfo=UTC)))


async def test_a_clean_month_has_no_findings(ctx: BillingContext, fake_stripe: FakeStripe) -> None:
    await a_customer_on_server_m(ctx)
    stripe_invoices(fake_stripe)

    result = await reconcile_month(ctx, client_for(ctx), "2026-11", retry=FAST)

    assert result.findings == []
    totals = result.totals["EUR"]
    assert (totals.expected, totals.invoiced, totals.paid) == (SERVER_M, SERVER_M, SERVER_M)
    assert result.invoices_read == 2


async def test_a_price_stripe_got_wrong_is_the_only_finding(
    ctx: BillingContext, fake_stripe: FakeStripe
) -> None:
    holder, held = await a_customer_on_server_m(ctx)
    stripe_invoices(fake_stripe, november_amount=2500)

    result = await reconcile_month(ctx, client_for(ctx), "2026-11", retry=FAST)

    assert [f.kind for f in result.findings] == [FindingKind.AMOUNT_MISMATCH]
    finding = result.findings[0]
    assert (finding.customer_id, finding.expected, finding.actual) == (holder, SERVER_M, 2500)
    assert f"fee:{held}:2026-11" in finding.objects
    assert "in_r10" in finding.objects


async def test_an_interrupted_read_resumes_where_it_stopped(
    ctx: BillingContext, fake_stripe: FakeStripe, tmp_path: Path
) -> None:
    await a_customer_on_server_m(ctx)
    stripe_invoices(fake_stripe)
    # 150 invoices of a stranger in December: two pages of Stripe's list.
    fake_stripe.add(customer("cus_x", "x@example.com", "X"))
    for n in range(150):
        line = subscription_line(f"il_x{n}", "sub_x", amount=100, period=(DEC, JAN))
        fake_stripe.add(invoice_with_lines(f"in_x{n:03d}", "cus_x", "sub_x", [line], created=DEC))

    def second_page(call: object) -> bool:
        form = getattr(call, "form", {})
        return getattr(call, "path", "") == "/v1/invoices" and "starting_after" in form

    fake_stripe.fail(5, httpx.ConnectError, when=second_page)
    state = tmp_path / "state"
    with pytest.raises(StripeReadInterrupted) as stopped:
        await reconcile_month(ctx, client_for(ctx), "2026-11", state_dir=state, retry=FAST)
    assert "Run it again" in str(stopped.value)
    first_run_pages = sum(1 for c in fake_stripe.calls if c.path == "/v1/invoices")

    fake_stripe.faults.clear()
    result = await reconcile_month(ctx, client_for(ctx), "2026-11", state_dir=state, retry=FAST)

    assert result.findings == []
    assert result.invoices_read == 152  # each invoice once: the first page came from the spool
    listed = [c for c in fake_stripe.calls if c.path == "/v1/invoices"][first_run_pages:]
    assert all("starting_after" in c.form for c in listed)  # page 1 was not read again
    assert list(state.rglob("*")) == [state / "reconcile"]  # state removed when done


async def test_an_item_that_waited_for_a_later_invoice_is_still_found(
    engine: AsyncEngine, fake_stripe: FakeStripe
) -> None:
    """A November setup fee that reached Stripe just after the 1 December invoice was
    made goes on the 1 January invoice: the read must go on that far."""
    ctx = stripe_ctx(engine, MovableClock(datetime(2027, 1, 10, tzinfo=UTC)))
    holder, _ = await a_customer_on_server_m(ctx)
    queued, sent = (
        datetime(2026, 11, 30, 23, 59, tzinfo=UTC),
        datetime(2026, 12, 1, 0, 1, tzinfo=UTC),
    )
    async with ctx.sessions() as session, session.begin():
        message = await outbox_row(
            session,
            kind=OutboxKind.INVOICE_ITEM,
            key="invoice_item:setup:late",
            payload={
                "customer_id": holder,
                "entry_id": "setup:late",
                "amount_minor": 1500,
                "currency": "EUR",
                "description": "Setup fee: Server M",
                "period": "2026-11",
            },
            now=queued,
        )
        message.state, message.sent_at = "sent", sent
    stripe_invoices(fake_stripe)
    item = invoice_item_line(
        "il_late", amount=1500, period=(NOV, DEC), entry_id="setup:late", customer_id=holder
    )
    january = subscription_line(
        "il_jan", "sub_r1", amount=SERVER_M, period=(JAN, add_months(JAN, 1))
    )
    fake_stripe.add(invoice_with_lines("in_jan", "cus_r1", "sub_r1", [january, item], created=JAN))

    result = await reconcile_month(ctx, client_for(ctx), "2026-11", retry=FAST)

    assert result.findings == []
    assert result.totals["EUR"].invoiced == SERVER_M + 1500
