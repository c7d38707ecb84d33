"""Checkout Sessions for sign-up, and how Stripe's errors are judged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import stripe
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.customers import Customers
from billing.errors import StripeFailure, StripeNotConfigured
from billing.settings import StripeSettings
from billing.stripe.checkout import create_checkout_session
from billing.stripe.client import classify, make_client
from tests.fixtures.billing import make_customer, make_subscription
from tests.fixtures.clock import MovableClock
from tests.fixtures.stripe_double.fake import FakeStripe, price
from tests.fixtures.stripe_double.wiring import client_for, mocked_stripe, rows, sender, stripe_ctx


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    yield from mocked_stripe()


async def test_checkout_session_parameters(engine: AsyncEngine, fake: FakeStripe) -> None:
    clock = MovableClock()
    fake.clock = clock  # Stripe's "now" too
    ctx = stripe_ctx(engine, clock)
    fake.add(price("price_fee", "dockyard:support-20h:v1", 150000, recurring={"interval": "month"}))
    fake.add(price("price_min", "dockyard:support-20h:v1:minutes", 2000,
                   recurring={"interval": "month", "usage_type": "metered"}))  # fmt: skip
    trial_end = clock() + timedelta(days=30)
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, clock())
        sub = await make_subscription(session, customer, "support-20h", clock(),
                                      state="pending", trial_ends_at=trial_end)  # fmt: skip

    url = await create_checkout_session(
        ctx, client_for(ctx), customer, sub, "https://dock.test/ok", "https://dock.test/no"
    )

    # The customer is made in Stripe first (one per customer: see the test below).
    assert url == "https://checkout.stripe.test/c/cs_0002"
    [made] = fake.posts("/v1/customers")
    assert made.idempotency_key == f"customer.create:{customer.id}"
    [call] = fake.posts("/v1/checkout/sessions")
    metadata = {
        "dockyard_subscription_id": sub.id,
        "dockyard_customer_id": customer.id,
        "dockyard_plan_id": "support-20h",
        "dockyard_plan_version": "1",
    }
    assert call.form == {
        "mode": "subscription",
        "line_items[0][price]": "price_fee",
        "line_items[0][quantity]": "1",
        "line_items[1][price]": "price_min",
        "success_url": "https://dock.test/ok",
        "cancel_url": "https://dock.test/no",
        "client_reference_id": sub.id,
        **{f"metadata[{k}]": v for k, v in metadata.items()},
        **{f"subscription_data[metadata][{k}]": v for k, v in metadata.items()},
        "subscription_data[billing_cycle_anchor_config][day_of_month]": "1",
        "subscription_data[trial_end]": str(int(trial_end.timestamp())),
        "customer": "cus_0001",
    }
    assert call.idempotency_key == f"checkout:{sub.id}:202611220130"  # opened at 01:30


async def test_a_trial_runs_from_when_checkout_opens_not_from_the_order(
    engine: AsyncEngine, fake: FakeStripe
) -> None:
    """Issue 10, item 12: Checkout's ``trial_end`` was fixed at order time, so a customer
    who paid days later lost those days of their trial (or Stripe refused a trial ending
    within 48 hours)."""
    clock = MovableClock()
    ctx = stripe_ctx(engine, clock)
    fake.add(price("price_fee", "dockyard:support-20h:v1", 150000, recurring={"interval": "month"}))
    fake.add(price("price_min", "dockyard:support-20h:v1:minutes", 2000,
                   recurring={"interval": "month", "usage_type": "metered"}))  # fmt: skip
    ordered = clock()
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, clock(), stripe_customer_id="cus_1")
        sub = await make_subscription(session, customer, "support-20h", clock(), state="pending",
                                      trial_ends_at=ordered + timedelta(days=30))  # fmt: skip
    clock.advance(days=29)  # back from holiday: the order's trial would end tomorrow

    await create_checkout_session(ctx, client_for(ctx), customer, sub, "u", "v")

    [call] = fake.posts("/v1/checkout/sessions")
    opened = clock().replace(second=0, microsecond=0)
    assert call.form["subscription_data[trial_end]"] == str(
        int(datetime(2027, 1, opened.day, opened.hour, opened.minute, tzinfo=UTC).timestamp())
    )


async def test_checkout_charges_the_setup_fee_as_a_one_time_line(
    engine: AsyncEngine, fake: FakeStripe
) -> None:
    """Issue 10, item 1: an order through Checkout used to lose the plan's setup fee."""
    clock = MovableClock()
    fake.clock = clock  # Stripe's "now" too
    ctx = stripe_ctx(engine, clock)
    fake.add(price("price_m", "dockyard:server-m:v1", 1900, recurring={"interval": "month"}))
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, clock(), stripe_customer_id="cus_1")
        sub = await make_subscription(session, customer, "server-m", clock(), state="pending")

    await create_checkout_session(ctx, client_for(ctx), customer, sub, "u", "v")

    [call] = fake.posts("/v1/checkout/sessions")
    plan = ctx.catalog().get("server-m", 1)
    assert plan.pricing.setup_fee is not None
    assert {k: v for k, v in call.form.items() if k.startswith("line_items[1]")} == {
        "line_items[1][price_data][currency]": "eur",
        "line_items[1][price_data][unit_amount]": str(plan.pricing.setup_fee.minor),
        "line_items[1][price_data][product_data][name]": f"Setup fee: {plan.name}",
        "line_items[1][quantity]": "1",
    }
    # Not queued a second time through the outbox.
    assert [r for r in await rows(ctx) if r.kind == "invoice_item"] == []


async def test_checkout_and_the_outbox_make_one_stripe_customer(
    engine: AsyncEngine, fake: FakeStripe
) -> None:
    """Issue 10, item 6: Checkout opened before the outbox created the customer made a
    second Stripe customer (``customer_email``), so usage went to one without a
    subscription."""
    clock = MovableClock()
    fake.clock = clock  # Stripe's "now" too
    ctx = stripe_ctx(engine, clock)
    fake.add(price("price_s", "dockyard:server-s:v2", 900, recurring={"interval": "month"}))
    customer = await Customers(ctx).create("ann@example.com", "Ann", currency="EUR")
    async with ctx.sessions() as session, session.begin():
        sub = await make_subscription(session, customer, "server-s", clock(), state="pending")

    await create_checkout_session(ctx, client_for(ctx), customer, sub, "u", "v")
    report = await sender(ctx).drain()  # the queued customer.create goes out afterwards

    assert (report.sent, report.dead) == (1, 0)
    customers = [o for o in fake.objects.values() if o["object"] == "customer"]
    assert [c["id"] for c in customers] == ["cus_0001"]
    [session_call] = fake.posts("/v1/checkout/sessions")
    assert session_call.form["customer"] == "cus_0001"
    assert "customer_email" not in session_call.form
    [row] = await rows(ctx)
    assert (row.kind, row.state, row.stripe_id) == ("customer.create", "sent", "cus_0001")


async def test_checkout_without_a_synced_price_says_what_to_do(
    engine: AsyncEngine, fake: FakeStripe
) -> None:
    clock = MovableClock()
    fake.clock = clock  # Stripe's "now" too
    ctx = stripe_ctx(engine, clock)
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, clock(), stripe_customer_id="cus_1")
        sub = await make_subscription(session, customer, "server-s", clock(), state="pending")

    with pytest.raises(StripeFailure, match="dockyard plans sync"):
        await create_checkout_session(ctx, client_for(ctx), customer, sub, "u", "v")
    assert fake.posts() == []


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (stripe.RateLimitError("slow down", http_status=429), False),
        (stripe.APIError("boom", http_status=500), False),
        (stripe.APIError("bad gateway", http_status=502), False),
        (stripe.APIConnectionError("timed out"), False),  # type: ignore[no-untyped-call]
        (stripe.CardError("declined", None, "card_declined", http_status=402), True),  # type: ignore[no-untyped-call]
        (stripe.InvalidRequestError("No such price", "price", http_status=400), True),  # type: ignore[no-untyped-call]
        (stripe.AuthenticationError("Invalid API Key", http_status=401), True),
        (stripe.IdempotencyError("Keys for idempotent requests...", http_status=400), True),
    ],
)
def test_classify(error: stripe.StripeError, permanent: bool) -> None:
    failure = classify(error)
    assert failure.permanent is permanent
    assert str(error.user_message) in str(failure)


def test_make_client_needs_a_key_and_pins_the_version() -> None:
    with pytest.raises(StripeNotConfigured, match="DOCKYARD_STRIPE_SECRET_KEY"):
        make_client(StripeSettings())
    client = make_client(StripeSettings(secret_key="sk_test_x", api_version="2026-10-28.endive"))
    assert client._requestor._options.stripe_version == "2026-10-28.endive"
    assert client._requestor._options.max_network_retries == 0
