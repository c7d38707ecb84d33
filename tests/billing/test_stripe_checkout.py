"""Checkout Sessions for sign-up, and how Stripe's errors are judged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import stripe
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.checkout import create_checkout_session
from billing.errors import StripeFailure
from billing.settings import StripeSettings
from billing.stripe_client import StripeNotConfigured, classify, make_client
from tests.fixtures.billing import make_customer, make_subscription
from tests.fixtures.billing_stripe import client_for, mocked_stripe, stripe_ctx
from tests.fixtures.clock import MovableClock
from tests.fixtures.stripe import FakeStripe, price


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    yield from mocked_stripe()


async def test_checkout_session_parameters(engine: AsyncEngine, fake: FakeStripe) -> None:
    clock = MovableClock()
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

    assert url == "https://checkout.stripe.test/c/cs_0001"
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
        "customer_email": customer.email,
    }
    assert call.idempotency_key == f"checkout:{sub.id}"


async def test_checkout_without_a_synced_price_says_what_to_do(
    engine: AsyncEngine, fake: FakeStripe
) -> None:
    clock = MovableClock()
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
