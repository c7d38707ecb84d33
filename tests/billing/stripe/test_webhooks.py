"""Webhooks: signatures over the raw body, storage by event id, handling by refetching."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.errors import WebhookRejected
from billing.models import Subscription, WebhookEvent
from billing.stripe.webhooks import handle_pending, receive
from tests.fixtures.billing import make_customer, make_subscription
from tests.fixtures.clock import MovableClock
from tests.fixtures.stripe_double.fake import (
    FakeStripe,
    checkout_session,
    event,
    invoice,
    price,
    sign,
    subscription,
)
from tests.fixtures.stripe_double.wiring import client_for, mocked_stripe, stripe_ctx


@pytest.fixture
def fake(clock: MovableClock) -> Iterator[FakeStripe]:
    yield from mocked_stripe(clock)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


def _raw(obj: dict[str, object]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


async def _events(engine: AsyncEngine, clock: MovableClock) -> list[WebhookEvent]:
    async with stripe_ctx(engine, clock).sessions() as session:
        return list(await session.scalars(select(WebhookEvent)))


async def test_a_signed_event_is_stored_once(engine: AsyncEngine, clock: MovableClock) -> None:
    ctx = stripe_ctx(engine, clock)
    raw = _raw(event("evt_1", "invoice.paid", invoice("in_1", "cus_1", "sub_1")))

    first = await receive(ctx, raw, sign(raw))
    replay = await receive(ctx, raw, sign(raw))

    assert (first.event_id, first.type, first.duplicate) == ("evt_1", "invoice.paid", False)
    assert replay.duplicate
    [stored] = await _events(engine, clock)
    assert stored.id == "evt_1"
    assert stored.payload["data"]["object"]["id"] == "in_1"
    assert stored.handled_at is None


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (None, "missing Stripe-Signature"),
        ("garbage", "bad signature"),
        ("forged", "bad signature"),
        ("stale", "bad signature"),
        ("tampered", "bad signature"),
    ],
)
async def test_bad_signatures_are_rejected_and_nothing_is_stored(
    engine: AsyncEngine, clock: MovableClock, signature: str | None, reason: str
) -> None:
    ctx = stripe_ctx(engine, clock)
    raw = _raw(event("evt_2", "invoice.paid", invoice("in_1", "cus_1", "sub_1")))
    header = {
        None: None,
        "garbage": "t=1,v1=00",
        "forged": sign(raw, secret="whsec_someone_else"),
        "stale": sign(raw, timestamp=int(time.time()) - 301),
        # Signed, then the body changed (even re-encoded JSON is another body).
        "tampered": sign(_raw({"id": "evt_2"})),
    }[signature]

    with pytest.raises(WebhookRejected, match=reason):
        await receive(ctx, raw, header)

    assert await _events(engine, clock) == []


async def test_checkout_completed_activates_from_refetched_objects(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    ctx = stripe_ctx(engine, clock)
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, clock())
        ours = await make_subscription(session, customer, "server-s", clock(), state="pending")
    fee = price("price_s", "dockyard:server-s:v1", 900, recurring={"interval": "month"})
    fake.add(
        subscription("sub_9", "cus_9", status="trialing", prices=[fee], trial_end=1_796_083_200)
    )
    fake.add(checkout_session("cs_1", client_reference_id=ours.id, customer="cus_9",
                              subscription="sub_9"))  # fmt: skip
    # The payload is stale (still open, no subscription): only the refetch knows better.
    stale = checkout_session("cs_1", client_reference_id=ours.id, customer=None,
                             subscription=None, status="open")  # fmt: skip
    raw = _raw(event("evt_cs", "checkout.session.completed", stale))
    await receive(ctx, raw, sign(raw))

    assert await handle_pending(ctx, client_for(ctx)) == 1

    gets = [c.path for c in fake.calls if c.method == "GET"]
    assert gets == ["/v1/checkout/sessions/cs_1", "/v1/subscriptions/sub_9"]
    async with ctx.sessions() as session:
        stored = await session.get(Subscription, ours.id)
        assert stored is not None
        assert (stored.state, stored.stripe_subscription_id) == ("trialing", "sub_9")
    [handled] = await _events(engine, clock)
    assert handled.handled_at is not None
    assert handled.error is None
    assert await handle_pending(ctx, client_for(ctx)) == 0  # handled once


async def test_refetched_state_wins_over_the_payload(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    ctx = stripe_ctx(engine, clock)
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, clock(), stripe_customer_id="cus_1")
        ours = await make_subscription(session, customer, "server-s", clock(),
                                       stripe_subscription_id="sub_1")  # fmt: skip
    # Delivered late: the payment failed, but the invoice has been paid since.
    fake.add(invoice("in_1", "cus_1", "sub_1", status="paid"))
    raw = _raw(event("evt_f", "invoice.payment_failed",
                     invoice("in_1", "cus_1", "sub_1", status="open")))  # fmt: skip
    await receive(ctx, raw, sign(raw))

    assert await handle_pending(ctx, client_for(ctx)) == 1

    async with ctx.sessions() as session:
        stored = await session.get(Subscription, ours.id)
        assert stored is not None
        assert (stored.state, stored.past_due_since) == ("active", None)


async def test_payment_failed_then_deleted_are_mirrored(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    ctx = stripe_ctx(engine, clock)
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, clock(), stripe_customer_id="cus_1")
        ours = await make_subscription(session, customer, "server-s", clock(),
                                       stripe_subscription_id="sub_1")  # fmt: skip
    fake.add(invoice("in_1", "cus_1", "sub_1", status="open"))
    raw = _raw(
        event("evt_f", "invoice.payment_failed", invoice("in_1", "cus_1", "sub_1", status="open"))
    )
    await receive(ctx, raw, sign(raw))
    await handle_pending(ctx, client_for(ctx))
    async with ctx.sessions() as session:
        stored = await session.get(Subscription, ours.id)
        assert stored is not None
        assert stored.state == "past_due"

    fake.add(subscription("sub_1", "cus_1", status="canceled", ended_at=1_795_000_000))
    # The payload says active; Stripe now says canceled.
    raw = _raw(event("evt_u", "customer.subscription.updated", subscription("sub_1", "cus_1")))
    await receive(ctx, raw, sign(raw))
    await handle_pending(ctx, client_for(ctx))
    async with ctx.sessions() as session:
        stored = await session.get(Subscription, ours.id)
        assert stored is not None
        assert stored.state == "cancelled"
        assert stored.ended_at is not None


async def test_a_paid_proration_invoice_does_not_end_dunning_while_the_renewal_is_open(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    ctx = stripe_ctx(engine, clock)
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, clock(), stripe_customer_id="cus_1")
        ours = await make_subscription(session, customer, "server-s", clock(),
                                       stripe_subscription_id="sub_1")  # fmt: skip

    async def deliver(event_id: str, kind: str, invoice_id: str, status: str) -> str:
        fake.add(invoice(invoice_id, "cus_1", "sub_1", status=status))
        raw = _raw(event(event_id, kind, invoice(invoice_id, "cus_1", "sub_1", status=status)))
        await receive(ctx, raw, sign(raw))
        assert await handle_pending(ctx, client_for(ctx)) == 1
        async with ctx.sessions() as session:
            stored = await session.get(Subscription, ours.id)
            assert stored is not None
            return stored.state

    assert await deliver("evt_1", "invoice.payment_failed", "in_renewal", "open") == "past_due"
    # An upgrade's proration invoice is paid; the renewal is still owed.
    assert await deliver("evt_2", "invoice.paid", "in_proration", "paid") == "past_due"
    assert await deliver("evt_3", "invoice.paid", "in_renewal", "paid") == "active"


async def test_a_failing_handler_keeps_the_error_and_retries(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    ctx = stripe_ctx(engine, clock)
    raw = _raw(event("evt_x", "invoice.paid", invoice("in_x", "cus_1", "sub_1")))
    await receive(ctx, raw, sign(raw))
    fake.fail(1, 500)

    assert await handle_pending(ctx, client_for(ctx)) == 0
    [failed] = await _events(engine, clock)
    assert failed.handled_at is None
    assert failed.error is not None
    assert "APIError" in failed.error

    fake.add(invoice("in_x", "cus_1", "sub_1"))
    assert await handle_pending(ctx, client_for(ctx)) == 1
    [done] = await _events(engine, clock)
    assert done.handled_at is not None
    assert done.error is None


async def test_meter_error_reports_are_kept_for_operators(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    ctx = stripe_ctx(engine, clock)
    report = {
        "object": "billing.meter_event_error_report",  # v1 snapshot-style payload
        "id": "mtr_err_1",
        "summary": "1 invalid event: no customer cus_gone",
    }
    raw = _raw(event("evt_m", "v1.billing.meter.error_report_triggered", report))
    await receive(ctx, raw, sign(raw))

    assert await handle_pending(ctx, client_for(ctx)) == 1

    [stored] = await _events(engine, clock)
    assert stored.handled_at is not None
    assert stored.error is not None
    assert "no customer cus_gone" in stored.error
    assert fake.calls == []
