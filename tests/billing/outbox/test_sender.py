"""The outbox sender against a fake Stripe over HTTP: exact parameters, retries, claims."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.models import OutboxState
from billing.outbox import (
    CustomerCreate,
    InvoiceItem,
    MeterEvent,
    SubscriptionCancel,
    SubscriptionCreate,
    SubscriptionUpdate,
    enqueue,
)
from billing.outbox.sender import OutboxSender
from billing.support_time.closing import PeriodClosing
from billing.support_time.ledger import Ledger
from tests.fixtures.billing import make_customer, make_subscription
from tests.fixtures.clock import MovableClock
from tests.fixtures.stripe_double.fake import FakeStripe, price, subscription
from tests.fixtures.stripe_double.wiring import mocked_stripe, rows, sender, stripe_ctx

CHANGED_AT = 1_794_000_000  # 2026-11-06 21:20 UTC, in the subscription's November period


@pytest.fixture
def fake(clock: MovableClock) -> Iterator[FakeStripe]:
    yield from mocked_stripe(clock)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


def _prices(fake: FakeStripe) -> None:
    fake.add(price("price_fee", "dockyard:support-20h:v1", 150000, recurring={"interval": "month"}))
    fake.add(
        price(
            "price_min",
            "dockyard:support-20h:v1:minutes",
            2000,
            recurring={"interval": "month", "usage_type": "metered"},
        )
    )


async def test_customer_create_sends_our_ids_and_stores_stripes(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    ctx = stripe_ctx(engine, clock)
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, clock(), name="Ann Example", company="ACME")
        payload = {"customer_id": customer.id, "email": customer.email, "name": "Ann Example",
                   "company": "ACME"}  # fmt: skip
        await enqueue(session, CustomerCreate(**payload), now=clock())

    report = await sender(ctx).drain()

    assert (report.sent, report.dead, report.retrying) == (1, 0, 0), [
        r.last_error for r in await rows(ctx)
    ]
    [call] = fake.posts("/v1/customers")
    assert call.form == {
        "email": customer.email,
        "name": "Ann Example",
        "metadata[dockyard_customer_id]": customer.id,
        "metadata[dockyard_company]": "ACME",
    }
    assert call.idempotency_key == f"customer.create:{customer.id}"
    [row] = await rows(ctx)
    assert row.state == OutboxState.SENT.value
    assert row.stripe_id == "cus_0001"
    async with ctx.sessions() as session:
        from billing.models import Customer

        stored = await session.get(Customer, customer.id)
        assert stored is not None
        assert stored.stripe_customer_id == "cus_0001"


async def test_a_subscription_waits_behind_its_customer_then_is_created(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    ctx = stripe_ctx(engine, clock)
    _prices(fake)
    trial_end = 1_796_083_200
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, clock())
        sub = await make_subscription(session, customer, "support-20h", clock(), state="trialing")
        await enqueue(
            session,
            CustomerCreate(
                customer_id=customer.id, email=customer.email, name=customer.name, company=""
            ),
            now=clock(),
        )
        await enqueue(
            session,
            SubscriptionCreate(
                subscription_id=sub.id,
                customer_id=customer.id,
                plan_id="support-20h",
                plan_version=1,
                trial_end=trial_end,
            ),
            now=clock(),
        )
    fake.fail(1, 500, lambda call: call.path == "/v1/customers")

    first = await sender(ctx).drain()
    # The customer failed once; its subscription is not even tried while it waits.
    assert (first.sent, first.retrying, first.waiting, first.dead) == (0, 1, 0, 0)
    assert fake.posts("/v1/subscriptions") == []
    clock.advance(minutes=2)
    second = await sender(ctx).drain()
    assert (second.sent, second.dead) == (2, 0)

    [call] = fake.posts("/v1/subscriptions")
    assert call.form == {
        "customer": "cus_0001",
        "items[0][price]": "price_fee",
        "items[1][price]": "price_min",
        "billing_cycle_anchor_config[day_of_month]": "1",
        "billing_cycle_anchor_config[hour]": "0",
        "billing_cycle_anchor_config[minute]": "0",
        "billing_cycle_anchor_config[second]": "0",
        "proration_behavior": "create_prorations",
        "trial_end": str(trial_end),
        "metadata[dockyard_subscription_id]": sub.id,
        "metadata[dockyard_customer_id]": customer.id,
        "metadata[dockyard_plan_id]": "support-20h",
        "metadata[dockyard_plan_version]": "1",
    }
    assert call.idempotency_key == f"subscription.create:{sub.id}"
    lookups = [c for c in fake.calls if c.method == "GET" and c.path == "/v1/prices"]
    assert lookups[0].form["lookup_keys[0]"] == "dockyard:support-20h:v1"
    assert lookups[0].form["lookup_keys[1]"] == "dockyard:support-20h:v1:minutes"
    # A sign-up costs three calls: customer, one price lookup, subscription (plus the retry).
    assert [(c.method, c.path) for c in fake.calls] == [
        ("POST", "/v1/customers"),
        ("POST", "/v1/customers"),
        ("GET", "/v1/prices"),
        ("POST", "/v1/subscriptions"),
    ]
    states = {row.kind: (row.state, row.stripe_id) for row in await rows(ctx)}
    assert states["subscription.create"] == ("sent", "sub_0002")


async def test_meter_event_and_invoice_item_parameters(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    ctx = stripe_ctx(engine, clock)
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, clock(), stripe_customer_id="cus_known")
        await enqueue(
            session,
            MeterEvent(customer_id=customer.id, entry_id="e1", minutes=45, timestamp=1_795_000_000),
            now=clock(),
        )
        await enqueue(
            session,
            InvoiceItem(
                customer_id=customer.id,
                entry_id="e2",
                amount_minor=-4750,
                currency="EUR",
                description="Correction of 2026-10",
                period="2026-11",
            ),
            now=clock(),
        )

    report = await sender(ctx).drain()

    assert report.sent == 2
    [meter] = fake.posts("/v1/billing/meter_events")
    assert meter.form == {
        "event_name": "dockyard_support_minutes",
        "identifier": "meter:e1",
        "payload[stripe_customer_id]": "cus_known",
        "payload[value]": "45",
        "timestamp": "1795000000",
    }
    assert meter.idempotency_key == "meter:e1"
    [item] = fake.posts("/v1/invoiceitems")
    assert item.form == {
        "customer": "cus_known",
        "amount": "-4750",
        "currency": "eur",
        "description": "Correction of 2026-10",
        # The line's service month, however late the item is sent: 2026-11-01 to 12-01.
        "period[start]": "1793491200",
        "period[end]": "1796083200",
        "metadata[dockyard_customer_id]": customer.id,
        "metadata[dockyard_entry_id]": "e2",
        "metadata[dockyard_period]": "2026-11",
    }
    stripe_ids = sorted(str(row.stripe_id) for row in await rows(ctx))
    assert stripe_ids == ["ii_0001", "meter:e1"]


async def test_update_swaps_prices_and_cancel_deletes(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    ctx = stripe_ctx(engine, clock)
    old_fee = fake.add(
        price("price_s", "dockyard:server-s:v1", 900, recurring={"interval": "month"})
    )
    fake.add(price("price_m", "dockyard:server-m:v1", 1900, recurring={"interval": "month"}))
    fake.add(subscription("sub_1", "cus_known", prices=[old_fee]))
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, clock(), stripe_customer_id="cus_known")
        sub = await make_subscription(session, customer, "server-s", clock(),
                                      stripe_subscription_id="sub_1")  # fmt: skip
        await enqueue(
            session,
            SubscriptionUpdate(
                customer_id=customer.id,
                subscription_id=sub.id,
                number=1,
                plan_id="server-m",
                plan_version=1,
                proration_behavior="always_invoice",
                cancel_at=None,
                changed_at=CHANGED_AT,
            ),
            now=clock(),
        )
        await enqueue(
            session,
            SubscriptionCancel(customer_id=customer.id, subscription_id=sub.id),
            now=clock(),
        )

    report = await sender(ctx).drain()

    assert report.sent == 2
    [update] = fake.posts("/v1/subscriptions/sub_1")
    assert update.form == {
        "items[0][id]": "si_sub_1_0",
        "items[0][price]": "price_m",
        "proration_behavior": "always_invoice",
        "cancel_at": "",
        "metadata[dockyard_plan_id]": "server-m",
        "metadata[dockyard_plan_version]": "1",
        "proration_date": str(CHANGED_AT),  # when Dockyard changed it, not when sent
    }
    assert update.idempotency_key == f"subscription.update:{sub.id}:1"
    [cancel] = [c for c in fake.calls if c.method == "DELETE"]
    assert cancel.path == "/v1/subscriptions/sub_1"
    assert cancel.idempotency_key == f"subscription.cancel:{sub.id}"


DECEMBER = (1_796_083_200, 1_798_761_600)  # 2026-12-01 → 2027-01-01


async def _update_sent(
    engine: AsyncEngine,
    clock: MovableClock,
    fake: FakeStripe,
    *,
    period: tuple[int, int],
    **payload: Any,
) -> dict[str, str]:
    """The form of the update a subscription.update message with ``payload`` makes, sent
    to a Server S subscription in Stripe's current ``period``."""
    ctx = stripe_ctx(engine, clock)
    old_fee = fake.add(
        price("price_s", "dockyard:server-s:v1", 900, recurring={"interval": "month"})
    )
    fake.add(price("price_m", "dockyard:server-m:v1", 1900, recurring={"interval": "month"}))
    fake.add(subscription("sub_1", "cus_known", prices=[old_fee], period=period))
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, clock(), stripe_customer_id="cus_known")
        sub = await make_subscription(session, customer, "server-s", clock(),
                                      stripe_subscription_id="sub_1")  # fmt: skip
        await enqueue(
            session,
            SubscriptionUpdate(
                customer_id=sub.customer_id,
                subscription_id=sub.id,
                number=1,
                plan_id="server-m",
                plan_version=1,
                cancel_at=None,
                **payload,
            ),
            now=clock(),
        )

    assert (await sender(ctx).drain()).sent == 1
    [update] = fake.posts("/v1/subscriptions/sub_1")
    return update.form


async def test_a_change_held_across_the_period_end_is_prorated_from_the_new_period(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    # Upgraded on 2026-11-30 at 20:00; Stripe's period is December by the time it is sent,
    # and Stripe refuses a proration_date outside it.
    form = await _update_sent(
        engine, clock, fake, period=DECEMBER,
        proration_behavior="always_invoice", changed_at=DECEMBER[0] - 4 * 3600,
    )  # fmt: skip

    assert form["proration_date"] == str(DECEMBER[0])


async def test_a_change_without_proration_or_a_time_sends_no_proration_date(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    unprorated = await _update_sent(
        engine, clock, fake, period=DECEMBER,
        proration_behavior="none", changed_at=DECEMBER[0] + 3600,
    )  # fmt: skip
    assert unprorated["proration_behavior"] == "none"
    assert "proration_date" not in unprorated


async def test_a_message_queued_before_changes_carried_their_time_prorates_on_arrival(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    old = await _update_sent(
        engine, clock, fake, period=DECEMBER, proration_behavior="always_invoice"
    )
    assert old["proration_behavior"] == "always_invoice"
    assert "proration_date" not in old


async def test_an_invoice_item_for_no_period_is_dead_with_a_clear_message(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    ctx = stripe_ctx(engine, clock)
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, clock(), stripe_customer_id="cus_known")
        await enqueue(
            session,
            InvoiceItem(
                customer_id=customer.id,
                entry_id="e2",
                amount_minor=100,
                currency="EUR",
                description="Extra work",
                period="November",
            ),
            now=clock(),
        )

    assert (await sender(ctx).drain()).dead == 1
    [row] = await rows(ctx)
    assert row.last_error is not None
    assert "'November' is not a period" in row.last_error
    assert fake.posts("/v1/invoiceitems") == []


async def test_without_a_key_the_outbox_holds(engine: AsyncEngine, clock: MovableClock) -> None:
    from tests.fixtures.billing import billing_context

    ctx = billing_context(engine, clock)  # no Stripe settings: offline
    async with ctx.sessions() as session, session.begin():
        await enqueue(
            session, MeterEvent(customer_id="c1", entry_id="x", minutes=1, timestamp=0), now=clock()
        )

    def no_client() -> object:
        raise AssertionError("no Stripe client may be built without a key")

    report = await OutboxSender(ctx, no_client).drain()  # type: ignore[arg-type]

    assert report.skipped is not None
    assert "no secret key" in report.skipped
    [row] = await rows(ctx)
    assert row.state == OutboxState.PENDING.value


async def _meter_rows(
    ctx_engine: AsyncEngine, clock: MovableClock, count: int, customers: int = 1
) -> list[str]:
    """``count`` meter events, dealt round the ``customers`` (each one's in order)."""
    ctx = stripe_ctx(ctx_engine, clock)
    keys = []
    async with ctx.sessions() as session, session.begin():
        held = [
            await make_customer(session, clock(), stripe_customer_id=f"cus_known{n}")
            for n in range(customers)
        ]
        for n in range(count):
            key = f"meter:e{n}"
            keys.append(key)
            await enqueue(
                session,
                MeterEvent(
                    customer_id=held[n % customers].id,
                    entry_id=f"e{n}",
                    minutes=15,
                    timestamp=int(clock().timestamp()),
                ),
                now=clock(),
            )
    return keys


async def test_outage_then_recovery_sends_every_meter_event_exactly_once(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    ctx = stripe_ctx(engine, clock)
    keys = await _meter_rows(engine, clock, 6)
    fake.fail(3, 500)
    fake.fail(2, 429)
    fake.fail(2, httpx.ReadTimeout)
    fake.fail(1, httpx.ConnectError)

    for _ in range(12):
        await sender(ctx).drain()
        clock.advance(hours=1)  # past any backoff

    accepted: dict[str, int] = {}
    for call in fake.posts("/v1/billing/meter_events"):
        if call.status == 200 and not call.replayed:
            accepted[call.form["identifier"]] = accepted.get(call.form["identifier"], 0) + 1
    assert accepted == dict.fromkeys(keys, 1)
    assert {row.state for row in await rows(ctx)} == {"sent"}
    assert sum(row.attempts for row in await rows(ctx)) == 6 + 8


async def test_a_meter_event_retried_after_its_month_was_invoiced_is_billed_in_the_open_one(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    """Found by the year-long test: a meter event whose first attempt failed on a month's
    last evening was resent as frozen after Stripe had invoiced that month: accepted, and
    on no invoice. It is rebuilt once for the open month, where its entry is billed."""
    ctx = stripe_ctx(engine, clock)
    clock.now = datetime(2027, 6, 2, 9, tzinfo=UTC)
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, clock(), stripe_customer_id="cus_known")
        await make_subscription(
            session, customer, "support-payg", clock(),
            stripe_subscription_id="sub_known", stripe_linked_at=clock(),
        )  # fmt: skip
    clock.now = datetime(2027, 6, 30, 23, 30, tzinfo=UTC)
    entry = await Ledger(ctx).record(customer.id, 90, "the late call", "ana")
    fake.fail(1, 500)
    assert (await sender(ctx).drain()).retrying == 1
    clock.now = datetime(2027, 7, 1, 0, 20, tzinfo=UTC)  # June still open: sent as it was
    fake.fail(1, 500)
    assert (await sender(ctx).drain()).retrying == 1
    clock.now = datetime(2027, 7, 1, 2, tzinfo=UTC)
    await PeriodClosing(ctx).close_due()  # Stripe finalized June's invoice at 01:00

    assert (await sender(ctx).drain()).sent == 1

    first, again, rebuilt = fake.posts("/v1/billing/meter_events")
    june = int(datetime(2027, 6, 30, 23, 30, tzinfo=UTC).timestamp())
    july = int(clock().timestamp())
    assert (first.form, first.idempotency_key) == (again.form, again.idempotency_key)
    assert (first.form["timestamp"], rebuilt.form["timestamp"]) == (str(june), str(july))
    # The same identifier (Stripe drops it if the first did land), under a key of its own.
    assert rebuilt.form["identifier"] == first.form["identifier"] == f"meter:{entry.id}"
    assert rebuilt.idempotency_key == f"meter:{entry.id}:billed-in:2027-07"
    assert (await Ledger(ctx).entry(entry.id)).billed_period == "2027-07"


async def test_transient_failure_backs_off_with_jitter(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    ctx = stripe_ctx(engine, clock)
    await _meter_rows(engine, clock, 1)
    fake.fail(2, 503)
    start = clock()

    report = await sender(ctx).drain()
    assert report.retrying == 1
    [row] = await rows(ctx)
    assert row.state == "retrying"
    assert row.last_error is not None
    assert "503" in row.last_error
    assert timedelta(seconds=15) <= row.next_attempt_at - start <= timedelta(seconds=30)
    # Not due yet: nothing is sent.
    assert (await sender(ctx).drain()).sent == 0
    clock.advance(seconds=30)
    assert (await sender(ctx).drain()).retrying == 1
    [row] = await rows(ctx)
    assert timedelta(seconds=30) <= row.next_attempt_at - clock() <= timedelta(seconds=60)


async def test_permanent_refusal_is_dead_with_stripes_message(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    ctx = stripe_ctx(engine, clock)
    await _meter_rows(engine, clock, 1)
    fake.fail(1, 400)

    report = await sender(ctx).drain()

    assert report.dead == 1
    [row] = await rows(ctx)
    assert row.state == "dead"
    assert row.last_error is not None
    assert "No such customer: 'cus_missing'" in row.last_error
    clock.advance(days=1)
    assert (await sender(ctx).drain()).sent == 0  # dead stays dead until an operator acts


async def test_a_worker_killed_after_sending_resends_with_the_same_key(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    ctx = stripe_ctx(engine, clock, worker_id="doomed")
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, clock())
        await enqueue(
            session,
            CustomerCreate(
                customer_id=customer.id, email=customer.email, name=customer.name, company=""
            ),
            now=clock(),
        )
    doomed = sender(ctx, claim_ttl=timedelta(minutes=5))
    [claimed] = await doomed.claim(10)
    from billing.stripe.client import make_client

    # Stripe answers, but the worker dies before recording anything.
    await doomed.send(make_client(ctx.stripe), claimed)
    assert len(fake.posts("/v1/customers")) == 1

    survivor = sender(stripe_ctx(engine, clock, worker_id="survivor"))
    assert (await survivor.drain()).sent == 0  # the claim still holds
    clock.advance(minutes=6)
    assert (await survivor.drain()).sent == 1

    first, second = fake.posts("/v1/customers")
    assert first.idempotency_key == second.idempotency_key == f"customer.create:{customer.id}"
    assert second.replayed  # Stripe answered from its idempotency cache
    assert [o for o in fake.objects.values() if o["object"] == "customer"] == [
        fake.objects["cus_0001"]
    ]
    [row] = await rows(ctx)
    assert (row.state, row.stripe_id, row.claimed_by) == ("sent", "cus_0001", None)


async def test_two_senders_draining_at_once_never_send_a_row_twice(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    keys = await _meter_rows(engine, clock, 40, customers=8)
    senders = [
        sender(stripe_ctx(engine, clock, worker_id=name), batch=3) for name in ("w1", "w2", "w3")
    ]

    reports = await asyncio.gather(*(s.drain() for s in senders))

    sent = [call.form["identifier"] for call in fake.posts("/v1/billing/meter_events")]
    assert sorted(sent) == sorted(keys)  # each once: no row was claimed by two workers
    assert sum(report.sent for report in reports) == 40
    assert all(report.sent > 0 for report in reports), reports  # they really overlapped
    assert {row.state for row in await rows(senders[0].ctx)} == {"sent"}


async def test_a_yearly_minutes_price_left_from_an_older_sync_is_not_subscribed(
    engine: AsyncEngine, clock: MovableClock, fake: FakeStripe
) -> None:
    """Older syncs made a yearly metered price for the yearly hour bank: on a subscription
    it would bill a year's minutes at the year's end. Its months' minutes are invoiced as
    items now (billing.support_time.usage_invoicing), so a new subscription takes the fee alone."""
    fake.add(price("price_10h", "dockyard:support-10h:v1", 840000, recurring={"interval": "year"}))
    yearly = {"interval": "year", "usage_type": "metered"}
    fake.add(price("price_10h_min", "dockyard:support-10h:v1:minutes", 2125, recurring=yearly))
    ctx = stripe_ctx(engine, clock)
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, clock(), stripe_customer_id="cus_ann")
        sub = await make_subscription(session, customer, "support-10h", clock())
        await enqueue(
            session,
            SubscriptionCreate(
                subscription_id=sub.id,
                customer_id=customer.id,
                plan_id="support-10h",
                plan_version=1,
                trial_end=None,
            ),
            now=clock(),
        )

    assert (await sender(ctx).drain()).sent == 1

    [call] = fake.posts("/v1/subscriptions")
    assert [v for k, v in call.form.items() if k.startswith("items[")] == ["price_10h"]
