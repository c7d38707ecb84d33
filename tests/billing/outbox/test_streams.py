"""A customer's outbox messages are one ordered stream, and a retry is byte for byte the
first attempt (issue 10, items 2 and 11)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.outbox import MeterEvent, SubscriptionUpdate, enqueue
from tests.fixtures.billing import make_customer, make_subscription
from tests.fixtures.clock import MovableClock
from tests.fixtures.stripe_double.fake import FakeStripe, price, subscription
from tests.fixtures.stripe_double.wiring import mocked_stripe, rows, sender, stripe_ctx

NOVEMBER = (1_793_491_200, 1_796_083_200)  # 2026-11-01 → 2026-12-01
CANCEL_AT = 1_796_083_200


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def fake(clock: MovableClock) -> Iterator[FakeStripe]:
    yield from mocked_stripe(clock)


def _server_prices(fake: FakeStripe) -> dict[str, object]:
    small = fake.add(price("price_s", "dockyard:server-s:v1", 900, recurring={"interval": "month"}))
    fake.add(price("price_m", "dockyard:server-m:v1", 1900, recurring={"interval": "month"}))
    return small


async def test_a_retried_upgrade_never_lands_after_a_later_cancellation(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    """The upgrade fails once; the cancellation written after it waits, so Stripe ends up
    with the cancellation, as the ledger does (the old sender resent the upgrade last,
    clearing ``cancel_at``: Stripe billed on)."""
    ctx = stripe_ctx(engine, clock)
    fake.add(subscription("sub_1", "cus_known", prices=[_server_prices(fake)], period=NOVEMBER))
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, clock(), stripe_customer_id="cus_known")
        sub = await make_subscription(
            session, customer, "server-s", clock(), stripe_subscription_id="sub_1"
        )
        for number, plan, cancel_at in ((1, "server-m", None), (2, "server-m", CANCEL_AT)):
            await enqueue(
                session,
                SubscriptionUpdate(
                    customer_id=customer.id,
                    subscription_id=sub.id,
                    number=number,
                    plan_id=plan,
                    plan_version=1,
                    proration_behavior="always_invoice" if number == 1 else "none",
                    cancel_at=cancel_at,
                    changed_at=int(clock().timestamp()),
                ),
                now=clock(),
            )
    fake.fail(1, 500, lambda call: call.method == "POST" and call.path == "/v1/subscriptions/sub_1")

    first = await sender(ctx).drain()
    assert (first.sent, first.retrying) == (0, 1)
    # The cancellation waits behind the failed upgrade instead of overtaking it.
    assert [c.form.get("cancel_at") for c in fake.posts("/v1/subscriptions/sub_1")] == [""]

    clock.advance(hours=2)
    second = await sender(ctx).drain()

    assert (second.sent, second.dead) == (2, 0)
    sent = fake.posts("/v1/subscriptions/sub_1")
    assert [c.form.get("cancel_at") for c in sent] == ["", "", str(CANCEL_AT)]
    assert [r.state for r in await rows(ctx)] == ["sent", "sent"]


async def test_a_dead_message_lets_its_customer_stream_go_on(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    ctx = stripe_ctx(engine, clock)
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, clock(), stripe_customer_id="cus_known")
        for entry in ("e1", "e2"):
            await enqueue(
                session,
                MeterEvent(
                    customer_id=customer.id,
                    entry_id=entry,
                    minutes=15,
                    timestamp=int(clock().timestamp()),
                ),
                now=clock(),
            )
    fake.fail(1, 400, lambda call: call.path == "/v1/billing/meter_events")

    report = await sender(ctx).drain()

    assert (report.sent, report.dead) == (1, 1)
    assert [(r.idempotency_key, r.state) for r in await rows(ctx)] == [
        ("meter:e1", "dead"),
        ("meter:e2", "sent"),
    ]


async def test_a_retry_sends_the_first_attempts_request_byte_for_byte(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    """A plan change times out; by the retry a new price was synced. Rebuilt, the request
    would name another price under the same key, which Stripe refuses (400
    idempotency_error) if it carried out the first: the row went dead."""
    ctx = stripe_ctx(engine, clock)
    fake.add(subscription("sub_1", "cus_known", prices=[_server_prices(fake)], period=NOVEMBER))
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, clock(), stripe_customer_id="cus_known")
        sub = await make_subscription(
            session, customer, "server-s", clock(), stripe_subscription_id="sub_1"
        )
        await enqueue(
            session,
            SubscriptionUpdate(
                customer_id=customer.id,
                subscription_id=sub.id,
                number=1,
                plan_id="server-m",
                plan_version=1,
                proration_behavior="always_invoice",
                changed_at=int(clock().timestamp()),
            ),
            now=clock(),
        )
    fake.fail(
        1,
        httpx.ReadTimeout,
        lambda call: call.method == "POST" and call.path == "/v1/subscriptions/sub_1",
    )

    assert (await sender(ctx).drain()).retrying == 1
    # Meanwhile server-m got a new price.
    fake.objects["price_m"]["active"] = False
    fake.add(price("price_m2", "dockyard:server-m:v1", 1900, recurring={"interval": "month"}))
    clock.advance(hours=1)

    report = await sender(ctx).drain()

    assert (report.sent, report.dead) == (1, 0)
    first, retry = fake.posts("/v1/subscriptions/sub_1")
    assert retry.form == first.form
    assert retry.idempotency_key == first.idempotency_key
    assert first.form["items[0][price]"] == "price_m"
    [row] = await rows(ctx)
    assert row.request is not None
    assert row.request["params"]["items"][0]["price"] == "price_m"


async def test_an_operator_retry_of_a_dead_message_resends_it_unchanged(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    from billing.outbox.admin import retry_dead

    ctx = stripe_ctx(engine, clock)
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, clock(), stripe_customer_id="cus_known")
        await enqueue(
            session,
            MeterEvent(
                customer_id=customer.id,
                entry_id="e1",
                minutes=15,
                timestamp=int(clock().timestamp()),
            ),
            now=clock(),
        )
    fake.fail(50, 503)
    assert (await sender(ctx, max_attempts=1).drain()).dead == 1
    fake.faults.clear()
    clock.advance(hours=3)  # a rebuilt meter event would be stamped now
    [dead] = await rows(ctx)
    await retry_dead(ctx, dead.id)

    assert (await sender(ctx).drain()).sent == 1
    first, again = fake.posts("/v1/billing/meter_events")
    assert again.form == first.form
    assert again.form["timestamp"] == str(int((clock() - timedelta(hours=3)).timestamp()))


async def test_a_meter_event_is_stamped_where_stripe_still_bills_it(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    """Issue 10, item 4: usage stamped before Stripe's subscription existed, beyond the
    meter's 35-day window, or in a period Stripe has closed was lost (refused, or counted
    on no invoice). The sender stamps it now instead, in the open period."""
    from billing.models import ClosedPeriod

    ctx = stripe_ctx(engine, clock)
    clock.now = datetime(2026, 11, 20, 12, 5, tzinfo=UTC)
    linked = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, clock(), stripe_customer_id="cus_known")
        sub = await make_subscription(
            session,
            customer,
            "support-payg",
            clock(),
            stripe_subscription_id="sub_1",
            stripe_linked_at=linked,
        )
        session.add(
            ClosedPeriod(
                subscription_id=sub.id,
                period="2026-10",
                customer_id=customer.id,
                plan_id="support-payg",
                plan_version=1,
                summary={},
                billable_minutes=0,
                closed_at=clock(),
                closed_by="test",
            )
        )
        wanted = {
            "before-stripe": datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
            "too-old": datetime(2026, 10, 1, 9, 0, tzinfo=UTC),
            "closed-month": datetime(2026, 10, 30, 9, 0, tzinfo=UTC),
            "on-time": datetime(2026, 11, 20, 12, 1, tzinfo=UTC),
        }
        for entry, moment in wanted.items():
            await enqueue(
                session,
                MeterEvent(
                    customer_id=customer.id,
                    entry_id=entry,
                    subscription_id=sub.id,
                    minutes=15,
                    timestamp=int(moment.timestamp()),
                ),
                now=clock(),
            )

    report = await sender(ctx).drain()

    assert (report.sent, report.dead) == (4, 0)
    stamps = {c.form["identifier"]: int(c.form["timestamp"]) for c in
              fake.posts("/v1/billing/meter_events")}  # fmt: skip
    now = int(clock().timestamp())
    assert stamps == {
        "meter:before-stripe": now,
        "meter:too-old": now,
        "meter:closed-month": now,
        "meter:on-time": int(wanted["on-time"].timestamp()),
    }
