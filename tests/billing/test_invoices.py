"""Invoices: recorded from Stripe's invoice events (refetched), listed for the portal."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.context import BillingContext
from billing.errors import UnknownCustomer
from billing.invoices import InvoiceNotFound, Invoices
from billing.models import Customer, Invoice, Subscription, WebhookEvent
from billing.stripe.webhooks import handle_pending, receive
from tests.fixtures.billing import make_customer, make_subscription
from tests.fixtures.clock import MovableClock
from tests.fixtures.stripe_double.fake import FakeStripe, add_months, customer, event, invoice, sign
from tests.fixtures.stripe_double.wiring import client_for, mocked_stripe, stripe_ctx

DEC_1 = 1_796_083_200  # 2026-12-01 00:00 UTC
NOV_1 = 1_793_491_200


def utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@pytest.fixture
def fake(clock: MovableClock) -> Iterator[FakeStripe]:
    yield from mocked_stripe(clock)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(datetime(2026, 12, 1, 1, 0, tzinfo=UTC))


@pytest.fixture
def ctx(engine: AsyncEngine, clock: MovableClock) -> BillingContext:
    return stripe_ctx(engine, clock)


async def linked_customer(
    ctx: BillingContext, stripe_customer: str | None = "cus_1", stripe_subscription: str = "sub_1"
) -> tuple[Customer, Subscription]:
    """A customer linked to ``stripe_customer``, with a subscription linked to Stripe's."""
    async with ctx.sessions() as session, session.begin():
        ours = await make_customer(session, ctx.clock(), stripe_customer_id=stripe_customer)
        subscription = await make_subscription(
            session, ours, "server-s", ctx.clock(), stripe_subscription_id=stripe_subscription
        )
    return ours, subscription


async def deliver(ctx: BillingContext, event_id: str, type: str, payload: dict[str, Any]) -> int:
    """Receive a signed event carrying ``payload`` and handle what is pending."""
    raw = json.dumps(event(event_id, type, payload), separators=(",", ":")).encode()
    received = await receive(ctx, raw, sign(raw))
    assert not received.duplicate
    return await handle_pending(ctx, client_for(ctx))


async def stored(ctx: BillingContext) -> list[Invoice]:
    async with ctx.sessions() as session:
        return list(await session.scalars(select(Invoice).order_by(Invoice.id)))


async def event_errors(ctx: BillingContext) -> list[str | None]:
    async with ctx.sessions() as session:
        return [e.error for e in await session.scalars(select(WebhookEvent))]


def refetches(fake: FakeStripe, invoice_id: str) -> list[dict[str, str]]:
    return [c.form for c in fake.calls if c.method == "GET" and c.path.endswith(invoice_id)]


async def test_a_finalized_invoice_is_stored_with_its_hosted_page_and_amounts(
    ctx: BillingContext, fake: FakeStripe
) -> None:
    ours, subscription = await linked_customer(ctx)
    fake.add(
        invoice("in_1", "cus_1", "sub_1", status="open", amount=2_900, due_date=DEC_1 + 864_000)
    )
    # The payload is an older copy (still a draft): only the refetch counts.
    draft = invoice("in_1", "cus_1", "sub_1", status="draft", amount=100)

    assert await deliver(ctx, "evt_1", "invoice.finalized", draft) == 1

    assert refetches(fake, "in_1") == [{"expand[0]": "customer"}]
    [row] = await stored(ctx)
    assert (row.id, row.customer_id, row.subscription_id) == ("in_1", ours.id, subscription.id)
    assert (row.status, row.number, row.currency) == ("open", "DOCKYARD-1", "EUR")
    assert (row.total, row.amount_due, row.amount_paid, row.amount_remaining) == (
        2_900,
        2_900,
        0,
        2_900,
    )
    assert row.hosted_invoice_url == "https://invoice.stripe.test/i/acct_dockyard/test_in_1"
    assert row.invoice_pdf == "https://pay.stripe.test/invoice/acct_dockyard/test_in_1/pdf?s=ap"
    assert (row.period_start, row.period_end) == (utc(NOV_1), utc(DEC_1))  # Stripe's lookback
    assert (row.created_at, row.due_date, row.paid_at) == (utc(DEC_1), utc(DEC_1 + 864_000), None)
    assert row.updated_at == ctx.clock()
    assert await event_errors(ctx) == [None]


async def test_paid_later_updates_the_same_row_and_still_ends_dunning(
    ctx: BillingContext, fake: FakeStripe, clock: MovableClock
) -> None:
    _, subscription = await linked_customer(ctx)
    fake.add(invoice("in_1", "cus_1", "sub_1", status="open"))
    await deliver(ctx, "evt_fail", "invoice.payment_failed", invoice("in_1", "cus_1", "sub_1"))
    async with ctx.sessions() as session:
        failed = await session.get_one(Subscription, subscription.id)
        assert failed.state == "past_due"  # dunning as before, from the same refetch
    assert len(refetches(fake, "in_1")) == 1

    clock.advance(days=2)
    fake.add(invoice("in_1", "cus_1", "sub_1", status="paid"))
    await deliver(ctx, "evt_paid", "invoice.paid", invoice("in_1", "cus_1", "sub_1"))

    assert len(refetches(fake, "in_1")) == 2  # one per event
    [row] = await stored(ctx)
    assert (row.status, row.amount_paid, row.amount_remaining) == ("paid", 900, 0)
    assert row.paid_at == utc(DEC_1 + 3600)
    assert row.updated_at == clock()
    async with ctx.sessions() as session:
        restored = await session.get_one(Subscription, subscription.id)
        assert (restored.state, restored.past_due_since) == ("active", None)
    # Another event for the same invoice: still one row (recording is idempotent).
    await deliver(ctx, "evt_paid_again", "invoice.paid", invoice("in_1", "cus_1", "sub_1"))
    assert len(await stored(ctx)) == 1
    assert await event_errors(ctx) == [None, None, None]


@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        ("invoice.voided", "void"),
        ("invoice.marked_uncollectible", "uncollectible"),
        ("invoice.updated", "draft"),
    ],
)
async def test_other_invoice_events_record_what_stripe_says_now(
    ctx: BillingContext, fake: FakeStripe, event_type: str, status: str
) -> None:
    await linked_customer(ctx)
    served = fake.add(invoice("in_2", "cus_1", "sub_1", status=status, amount=4_200))

    assert await deliver(ctx, "evt_2", event_type, invoice("in_2", "cus_1", "sub_1")) == 1

    [row] = await stored(ctx)
    assert (row.status, row.amount_due, row.amount_paid, row.amount_remaining) == (
        status,
        4_200,
        0,
        served["amount_remaining"],
    )
    if status == "draft":  # not finalized: no number, no hosted page yet
        assert (row.number, row.hosted_invoice_url, row.invoice_pdf) == (None, None, None)
    else:
        assert row.hosted_invoice_url is not None


async def test_an_invoice_of_a_customer_we_do_not_know_is_skipped_and_logged(
    ctx: BillingContext, fake: FakeStripe, caplog: pytest.LogCaptureFixture
) -> None:
    await linked_customer(ctx)
    fake.add(invoice("in_3", "cus_stranger", "sub_stranger", status="open"))

    with caplog.at_level(logging.WARNING, logger="billing.invoices"):
        handled = await deliver(ctx, "evt_3", "invoice.finalized", invoice("in_3", "cus_x", None))

    assert handled == 1
    assert await stored(ctx) == []
    assert await event_errors(ctx) == [None]  # handled, not failed
    assert "cus_stranger" in caplog.text


async def test_metadata_names_the_customer_before_the_stripe_link_is_stored(
    ctx: BillingContext, fake: FakeStripe
) -> None:
    by_invoice, _ = await linked_customer(ctx, stripe_customer=None, stripe_subscription="sub_a")
    by_customer, _ = await linked_customer(ctx, stripe_customer=None, stripe_subscription="sub_b")
    fake.add(invoice("in_a", "cus_a", "sub_a", metadata={"dockyard_customer_id": by_invoice.id}))
    # Only the Stripe customer carries our id: the refetch expands it.
    fake.add(customer("cus_b", "b@example.test", "B", {"dockyard_customer_id": by_customer.id}))
    fake.add(invoice("in_b", "cus_b", "sub_b"))

    await deliver(ctx, "evt_a", "invoice.paid", invoice("in_a", "cus_a", "sub_a"))
    await deliver(ctx, "evt_b", "invoice.paid", invoice("in_b", "cus_b", "sub_b"))

    rows = await stored(ctx)
    assert [(r.id, r.customer_id) for r in rows] == [
        ("in_a", by_invoice.id),
        ("in_b", by_customer.id),
    ]
    assert all(r.subscription_id is not None for r in rows)


async def test_metadata_cannot_claim_a_customer_linked_to_another_stripe_customer(
    ctx: BillingContext, fake: FakeStripe
) -> None:
    ours, _ = await linked_customer(ctx, stripe_customer="cus_1")
    fake.add(invoice("in_4", "cus_other", None, metadata={"dockyard_customer_id": ours.id}))

    assert await deliver(ctx, "evt_4", "invoice.finalized", invoice("in_4", "cus_o", None)) == 1

    assert await stored(ctx) == []


async def test_an_older_copy_never_moves_an_invoice_back(
    ctx: BillingContext, fake: FakeStripe
) -> None:
    await linked_customer(ctx)
    client = client_for(ctx)
    fake.add(invoice("in_5", "cus_1", "sub_1", status="paid"))
    paid = await client.v1.invoices.retrieve_async("in_5")
    fake.add(invoice("in_5", "cus_1", "sub_1", status="open"))
    older = await client.v1.invoices.retrieve_async("in_5")

    async with ctx.sessions() as session, session.begin():
        await Invoices(ctx).record(session, paid)
    async with ctx.sessions() as session, session.begin():
        kept = await Invoices(ctx).record(session, older)
        assert kept is not None
        assert kept.status == "paid"

    [row] = await stored(ctx)
    assert (row.status, row.amount_paid) == ("paid", 900)


async def test_a_malformed_invoice_is_skipped_without_an_error(
    ctx: BillingContext, fake: FakeStripe, caplog: pytest.LogCaptureFixture
) -> None:
    await linked_customer(ctx)
    broken = invoice("in_6", "cus_1", "sub_1")
    broken["status"] = "someday"
    del broken["total"]
    fake.add(broken)

    with caplog.at_level(logging.WARNING, logger="billing.invoices"):
        assert await deliver(ctx, "evt_6", "invoice.updated", broken) == 1

    assert await stored(ctx) == []
    assert "in_6 is malformed" in caplog.text


async def test_for_customer_lists_newest_first_and_get_refuses_another_customers(
    ctx: BillingContext, fake: FakeStripe
) -> None:
    ann, _ = await linked_customer(ctx, "cus_ann", "sub_ann")
    bob, _ = await linked_customer(ctx, "cus_bob", "sub_bob")
    for invoice_id, owner, created in [
        ("in_oct", "cus_ann", add_months(NOV_1, -1)),
        ("in_dec", "cus_ann", DEC_1),
        ("in_nov", "cus_ann", NOV_1),
        ("in_bob", "cus_bob", DEC_1),
    ]:
        fake.add(invoice(invoice_id, owner, owner.replace("cus", "sub"), created=created))
        await deliver(ctx, f"evt_{invoice_id}", "invoice.paid", invoice(invoice_id, owner, None))
    invoices = Invoices(ctx)

    assert [i.id for i in await invoices.for_customer(ann.id)] == ["in_dec", "in_nov", "in_oct"]
    assert [i.id for i in await invoices.for_customer(bob.id)] == ["in_bob"]
    assert (await invoices.get("in_nov", customer_id=ann.id)).hosted_invoice_url is not None
    assert (await invoices.get("in_bob")).customer_id == bob.id  # no customer: finance's view
    with pytest.raises(InvoiceNotFound, match="in_bob") as refused:
        await invoices.get("in_bob", customer_id=ann.id)
    with pytest.raises(InvoiceNotFound) as missing:
        await invoices.get("in_nothing", customer_id=ann.id)
    assert str(refused.value) == "no invoice 'in_bob'"  # reads as "missing", not "not yours"
    assert str(missing.value) == "no invoice 'in_nothing'"
    with pytest.raises(UnknownCustomer):
        await invoices.for_customer("c_nobody")
