"""The Stripe test double says no where Stripe says no, and bills as Stripe documents.

Each test drives the fake (tests/fixtures/stripe_double/fake.py) through the real SDK, with the
invoices Stripe's billing engine would issue modelled by StripeBilling
(tests/fixtures/stripe_double/billing_engine.py); the rule each one shows names its
documentation page
in the fixture's code.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import stripe

from billing.stripe.client import make_client
from tests.fixtures.clock import MovableClock
from tests.fixtures.stripe_double.billing_engine import FINALIZE, StripeBilling, epoch
from tests.fixtures.stripe_double.fake import FakeStripe, Json, stripe_settings
from tests.fixtures.stripe_double.wiring import mocked_stripe

EVENT = "dockyard_support_minutes"


def at(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@dataclass
class World:
    clock: MovableClock
    fake: FakeStripe
    client: stripe.StripeClient
    stripe: StripeBilling
    product: str = ""
    fee: str = ""  # 9.00 a month
    minutes: str = ""  # 1.00 a minute, metered
    setup: str = ""  # 15.00 once

    def catalog(self) -> World:
        product = self.client.v1.products.create({"name": "Support"})
        self.product = product.id
        meter = self.client.v1.billing.meters.create(
            {
                "display_name": "Support minutes",
                "event_name": EVENT,
                "default_aggregation": {"formula": "sum"},
                "customer_mapping": {"type": "by_id", "event_payload_key": "stripe_customer_id"},
                "value_settings": {"event_payload_key": "value"},
            }
        )
        prices = self.client.v1.prices
        self.fee = prices.create({"currency": "eur", "unit_amount": 900, "product": product.id,
                                  "recurring": {"interval": "month"}}).id  # fmt: skip
        self.minutes = prices.create(
            {
                "currency": "eur",
                "unit_amount": 100,
                "product": product.id,
                "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
            }
        ).id
        self.setup = prices.create({"currency": "eur", "unit_amount": 1500,
                                    "product": product.id}).id  # fmt: skip
        self.stripe.observe()
        return self

    def customer(self, email: str = "ann@example.com") -> str:
        return self.client.v1.customers.create({"email": email, "name": "Ann"}).id

    def subscribe(self, customer: str, *prices: str, trial_end: datetime | None = None) -> str:
        items: list[stripe.params.SubscriptionCreateParamsItem] = [{"price": p} for p in prices]
        params: stripe.params.SubscriptionCreateParams = {
            "customer": customer,
            "items": items,
            "billing_cycle_anchor_config": {"day_of_month": 1},
        }
        if trial_end is not None:
            params["trial_end"] = epoch(trial_end)
        created = self.client.v1.subscriptions.create(params)
        self.stripe.observe()
        return created.id

    def usage(self, customer: str, stamped: datetime, value: int, identifier: str) -> None:
        self.client.v1.billing.meter_events.create(
            {
                "event_name": EVENT,
                "identifier": identifier,
                "payload": {"stripe_customer_id": customer, "value": str(value)},
                "timestamp": epoch(stamped),
            }
        )
        self.stripe.observe()

    def move(self, moment: datetime) -> list[Json]:
        """The clock moves on; Stripe issues what fell due."""
        self.clock.now = moment
        self.stripe.observe()
        return self.stripe.bill()


@pytest.fixture
def world() -> Iterator[World]:
    clock = MovableClock(at(11, 2, 8))
    for fake in mocked_stripe(clock):
        yield World(clock, fake, make_client(stripe_settings()), StripeBilling(fake, clock))


def lines(invoice: Json) -> list[tuple[str | None, int]]:
    """Each line's price and amount."""
    found = []
    for line in invoice["lines"]["data"]:
        details = line["pricing"]["price_details"] or {}
        found.append((details.get("price"), line["amount"]))
    return found


# 1. Idempotency ------------------------------------------------------------------------


def test_a_key_reused_with_the_same_parameters_replays_the_first_answer(world: World) -> None:
    first = world.client.v1.customers.create(
        {"email": "ann@example.com", "name": "Ann", "metadata": {"a": "1", "b": "2"}},
        {"idempotency_key": "customer:ann"},
    )
    again = world.client.v1.customers.create(  # the same parameters in another order
        {"metadata": {"b": "2", "a": "1"}, "name": "Ann", "email": "ann@example.com"},
        {"idempotency_key": "customer:ann"},
    )

    assert again.id == first.id
    assert world.fake.calls[-1].replayed
    assert [o for o in world.fake.objects.values() if o["object"] == "customer"] == [
        world.fake.objects[first.id]
    ]


def test_a_key_reused_with_other_parameters_is_an_idempotency_error(world: World) -> None:
    world.client.v1.customers.create(
        {"email": "ann@example.com", "name": "Ann"}, {"idempotency_key": "customer:ann"}
    )

    with pytest.raises(stripe.IdempotencyError) as refused:
        world.client.v1.customers.create(
            {"email": "ann@example.com", "name": "Ann Example"}, {"idempotency_key": "customer:ann"}
        )
    with pytest.raises(stripe.IdempotencyError):  # the same key on another endpoint
        world.client.v1.products.create({"name": "Ann"}, {"idempotency_key": "customer:ann"})

    assert refused.value.http_status == 400
    assert str(refused.value.user_message) == (
        "Keys for idempotent requests can only be used with the same parameters they were "
        "first used with. Try using a key other than 'customer:ann' if you meant to execute "
        "a different request."
    )


def test_a_key_is_forgotten_after_24_hours_and_starts_a_new_request(world: World) -> None:
    params: stripe.params.CustomerCreateParams = {"email": "ann@example.com", "name": "Ann"}
    first = world.client.v1.customers.create(params, {"idempotency_key": "customer:ann"})
    world.clock.advance(hours=23, minutes=59)
    assert world.client.v1.customers.create(params, {"idempotency_key": "customer:ann"}).id == (
        first.id
    )

    world.clock.advance(minutes=1)
    second = world.client.v1.customers.create(params, {"idempotency_key": "customer:ann"})

    assert second.id != first.id  # a second customer: check-then-create after 24 h


def test_a_request_refused_as_invalid_leaves_its_key_free(world: World) -> None:
    world.catalog()
    ann = world.customer()
    with pytest.raises(stripe.InvalidRequestError):
        world.client.v1.billing.meter_events.create(
            {"event_name": EVENT, "identifier": "e1", "timestamp": epoch(at(9, 1)),
             "payload": {"stripe_customer_id": ann, "value": "5"}},
            {"idempotency_key": "e1"},
        )  # fmt: skip

    world.client.v1.billing.meter_events.create(
        {"event_name": EVENT, "identifier": "e1", "timestamp": epoch(at(11, 2)),
         "payload": {"stripe_customer_id": ann, "value": "5"}},
        {"idempotency_key": "e1"},
    )  # fmt: skip

    assert [e["timestamp"] for e in world.fake.meter_events] == [epoch(at(11, 2))]


# 2. The fake's clock -------------------------------------------------------------------


def test_stripe_billing_gives_the_fake_its_clock_unless_it_has_one() -> None:
    own, other = MovableClock(at(11, 2)), MovableClock(at(12, 2))
    bare = FakeStripe()
    StripeBilling(bare, own)
    clocked = FakeStripe(clock=other)
    StripeBilling(clocked, own)

    assert (bare.now(), clocked.now()) == (epoch(at(11, 2)), epoch(at(12, 2)))


def test_without_a_clock_the_time_rules_are_skipped() -> None:
    for fake in mocked_stripe():  # no clock: the fake does not know what time it is
        client = make_client(stripe_settings())
        client.v1.billing.meter_events.create(
            {"event_name": EVENT, "identifier": "old", "timestamp": epoch(at(1, 1)),
             "payload": {"stripe_customer_id": "cus_1", "value": "5"}},
        )  # fmt: skip
        assert fake.now() is None
        assert len(fake.meter_events) == 1


# 3. The meter event window and identifiers ----------------------------------------------


@pytest.mark.parametrize(
    ("stamped", "accepted"),
    [
        (timedelta(days=-35), True),
        (timedelta(days=-35, seconds=-1), False),
        (timedelta(minutes=5), True),
        (timedelta(minutes=5, seconds=1), False),
    ],
)
def test_a_meter_event_must_be_stamped_within_35_days_back_and_5_minutes_ahead(
    world: World, stamped: timedelta, accepted: bool
) -> None:
    world.clock.now = at(12, 10, 12)
    timestamp = epoch(world.clock() + stamped)
    params: stripe.params.billing.MeterEventCreateParams = {
        "event_name": EVENT,
        "identifier": "e1",
        "timestamp": timestamp,
        "payload": {"stripe_customer_id": "cus_1", "value": "5"},
    }

    if accepted:
        world.client.v1.billing.meter_events.create(params)
        assert len(world.fake.meter_events) == 1
        return
    with pytest.raises(stripe.InvalidRequestError) as refused:
        world.client.v1.billing.meter_events.create(params)
    assert refused.value.param == "timestamp"
    assert str(timestamp) in str(refused.value.user_message)
    assert world.fake.meter_events == []


def test_a_meter_event_identifier_is_deduplicated_for_24_hours_only(world: World) -> None:
    world.catalog()
    ann = world.customer()
    world.usage(ann, at(11, 2, 8), 5, "support:1")
    world.clock.advance(hours=23)
    world.usage(ann, at(11, 2, 8), 5, "support:1")  # deduplicated
    world.clock.advance(hours=1)
    world.usage(ann, at(11, 2, 8), 5, "support:1")  # a new event: counted again

    assert len(world.fake.meter_events) == 2


# 4. No metered charge in a trial -------------------------------------------------------


def test_usage_in_a_trial_is_not_charged(world: World) -> None:
    world.catalog()
    ann = world.customer()
    world.subscribe(ann, world.minutes, trial_end=at(11, 12))
    world.clock.now = at(11, 5)
    world.usage(ann, at(11, 5), 10, "in-trial")
    world.clock.now = at(11, 20)
    world.usage(ann, at(11, 20), 7, "after-trial")

    issued = world.move(at(12, 1, 2))

    assert [(o["billing_reason"], lines(o)) for o in issued] == [
        ("subscription_create", []),  # no licensed price: nothing in advance
        ("subscription_cycle", [(world.minutes, 0)]),  # 12 Nov: the trial's usage
        ("subscription_cycle", [(world.minutes, 700)]),  # 1 Dec: 12-30 Nov
    ]
    [unbilled] = world.stripe.unbilled_meter_events()
    assert unbilled.event["identifier"] == "in-trial"
    assert "in its trial" in unbilled.reason


# 5. Finalisation grace, and the invoices' events ----------------------------------------


def test_usage_arriving_after_the_invoice_finalized_lands_nowhere(world: World) -> None:
    world.catalog()
    ann = world.customer()
    world.subscribe(ann, world.minutes)
    world.move(at(12, 1, 0, 30))
    world.usage(ann, at(11, 30, 23), 3, "in-grace")  # the draft hour: still counted
    world.move(at(12, 1, 1, 30))
    world.usage(ann, at(11, 30, 23), 4, "too-late")  # the invoice is final

    issued = world.move(at(12, 2)) + world.move(at(1, 1, 2, year=2027))

    [december] = [o for o in world.stripe.invoices_of(ann) if o["created"] == epoch(at(12, 1))]
    assert lines(december) == [(world.minutes, 300)]
    assert december["status_transitions"]["finalized_at"] == epoch(at(12, 1)) + FINALIZE
    assert [lines(o) for o in issued] == [[(world.minutes, 0)]]  # nor on January's
    [lost] = world.stripe.unbilled_meter_events()
    assert lost.event["identifier"] == "too-late"
    assert "after the invoice for" in lost.reason


def test_each_issued_invoice_has_its_created_finalized_and_paid_events(world: World) -> None:
    world.catalog()
    ann = world.customer()
    world.subscribe(ann, world.fee)
    world.move(at(11, 2, 8))
    seen = len(world.fake.events)

    world.move(at(12, 1, 2))

    events = world.stripe.events_since(seen)
    [cycle] = [o for o in world.stripe.invoices_of(ann) if o["created"] == epoch(at(12, 1))]
    assert [(e["type"], e["data"]["object"]["status"], e["created"]) for e in events] == [
        ("invoice.created", "draft", epoch(at(12, 1))),
        ("invoice.finalized", "open", epoch(at(12, 1)) + FINALIZE),
        ("invoice.paid", "paid", epoch(at(12, 1)) + FINALIZE),
    ]
    assert {e["data"]["object"]["id"] for e in events} == {cycle["id"]}


# 6. A meter sums per customer ----------------------------------------------------------


def test_two_metered_subscriptions_on_one_meter_bill_the_same_minutes_twice(
    world: World,
) -> None:
    world.catalog()
    ann = world.customer()
    first = world.subscribe(ann, world.minutes)
    second = world.subscribe(ann, world.minutes)
    world.clock.now = at(11, 10)
    world.usage(ann, at(11, 10), 30, "support:1")  # meant for the first only

    issued = world.move(at(12, 1, 2))

    cycle = [o for o in issued if o["billing_reason"] == "subscription_cycle"]
    billed = sorted((o["parent"]["subscription_details"]["subscription"], lines(o)) for o in cycle)
    assert billed == [
        (first, [(world.minutes, 3000)]),
        (second, [(world.minutes, 3000)]),
    ]


# 7. Pending invoice items and invoices made by hand --------------------------------------


def test_an_invoice_made_by_hand_takes_the_customers_pending_items(world: World) -> None:
    ann = world.customer()
    item = world.client.v1.invoice_items.create(
        {"customer": ann, "amount": 1500, "currency": "eur", "description": "Setup fee"}
    )
    world.stripe.observe()
    empty = world.client.v1.invoices.create({"customer": ann})  # exclude: the default
    assert (empty.lines.data, world.fake.objects[item.id]["invoice"]) == ([], None)

    made = world.client.v1.invoices.create(
        {
            "customer": ann,
            "pending_invoice_items_behavior": "include",
            "auto_advance": False,
            "collection_method": "charge_automatically",
            "description": "Final invoice",
            "metadata": {"dockyard_customer_id": "c1"},
        }
    )
    finalized = world.client.v1.invoices.finalize_invoice(made.id)
    world.stripe.observe()

    assert (made.status, made.billing_reason, made.parent, made.total) == (
        "draft", "manual", None, 1500,
    )  # fmt: skip
    [line] = world.fake.objects[made.id]["lines"]["data"]
    assert (line["parent"]["invoice_item_details"]["invoice_item"], line["amount"]) == (
        item.id, 1500,
    )  # fmt: skip
    assert world.fake.objects[item.id]["invoice"] == made.id
    assert finalized.status == "open"
    assert world.fake.objects[made.id]["status"] == "paid"
    assert world.stripe.invoices_of(ann)[-1]["id"] == made.id


def test_an_item_of_a_quantity_at_a_decimal_unit_price_is_rounded_once(world: World) -> None:
    """How a month's minutes of a yearly hour bank are invoiced
    (billing.support_time.usage_invoicing):
    7 increments of 14.1666... EUR cents make 99.17 EUR cents, rounded once, as a metered
    line would be; an amount and a unit price together are refused."""
    ann = world.customer()
    item = world.client.v1.invoice_items.create(
        {
            "customer": ann,
            "quantity": 7,
            "unit_amount_decimal": Decimal("14.166666666667"),
            "currency": "eur",
            "metadata": {"dockyard_usage_period": "2026-11"},
        }
    )
    assert (item.amount, item.quantity) == (99, 7)
    made = world.client.v1.invoices.create(
        {"customer": ann, "pending_invoice_items_behavior": "include"}
    )
    [line] = world.fake.objects[made.id]["lines"]["data"]
    assert (line["amount"], line["quantity"], line["metadata"]) == (
        99, 7, {"dockyard_usage_period": "2026-11"},
    )  # fmt: skip

    with pytest.raises(stripe.InvalidRequestError, match="only specify one of"):
        world.client.v1.invoice_items.create(
            {
                "customer": ann,
                "amount": 99,
                "unit_amount_decimal": Decimal("14.2"),
                "currency": "eur",
            }
        )
    with pytest.raises(stripe.InvalidRequestError, match="12 decimal places"):
        world.client.v1.invoice_items.create(
            {"customer": ann, "unit_amount_decimal": Decimal("1.0000000000001"), "currency": "eur"}
        )


def test_an_invoice_made_with_auto_advance_is_finalized_by_stripe_an_hour_later(
    world: World,
) -> None:
    ann = world.customer()
    world.client.v1.invoice_items.create(
        {"customer": ann, "amount": 1500, "currency": "eur", "description": "Fee"}
    )
    world.stripe.observe()
    made = world.client.v1.invoices.create(
        {"customer": ann, "pending_invoice_items_behavior": "include", "auto_advance": True}
    )
    seen = len(world.fake.events)

    world.move(at(11, 2, 8, 59))
    assert world.fake.objects[made.id]["status"] == "draft"
    world.move(at(11, 2, 9, 30))

    hour_on = epoch(at(11, 2, 9))  # made at 08:00 by the world's clock
    assert [(e["type"], e["created"]) for e in world.stripe.events_since(seen)] == [
        ("invoice.finalized", hour_on),
        ("invoice.paid", hour_on),
    ]
    assert world.fake.objects[made.id]["status"] == "paid"
    assert world.stripe.invoices_of(ann) == [world.fake.objects[made.id]]


def test_a_declined_card_leaves_the_invoice_open_until_a_retry_collects_it(
    world: World,
) -> None:
    world.catalog()
    ann = world.customer()
    sub = world.subscribe(ann, world.fee)
    world.move(at(11, 2, 8))  # the first invoice, paid
    world.stripe.decline(ann)
    seen = len(world.fake.events)

    [cycle] = [o for o in world.move(at(12, 1, 2)) if o["created"] == epoch(at(12, 1))]

    assert (cycle["status"], cycle["amount_paid"], cycle["amount_remaining"]) == ("open", 0, 900)
    assert world.fake.objects[sub]["status"] == "past_due"
    finalized = epoch(at(12, 1)) + FINALIZE
    assert [(e["type"], e["created"]) for e in world.stripe.events_since(seen)] == [
        ("invoice.created", epoch(at(12, 1))),
        ("invoice.finalized", finalized),
        ("invoice.payment_failed", finalized),
        ("customer.subscription.updated", finalized),
    ]
    seen = len(world.fake.events)

    world.clock.now = at(12, 4, 10)
    world.stripe.settle(cycle["id"])

    assert (cycle["status"], cycle["amount_paid"], cycle["attempt_count"]) == ("paid", 900, 2)
    assert world.fake.objects[sub]["status"] == "active"
    assert [e["type"] for e in world.stripe.events_since(seen)] == [
        "invoice.paid",
        "customer.subscription.updated",
    ]
    # The card works again: January's is paid at once.
    [january] = [o for o in world.move(at(1, 1, 2, year=2027)) if o["total"]]
    assert january["status"] == "paid"


# 8. Subscriptions that end -------------------------------------------------------------


def test_a_cancel_at_cuts_the_last_period_credits_its_rest_and_bills_usage_at_the_end(
    world: World,
) -> None:
    world.catalog()
    ann = world.customer()
    sub = world.subscribe(ann, world.fee, world.minutes)
    world.move(at(12, 1, 2))
    world.clock.now = at(12, 5)
    world.usage(ann, at(12, 5), 3, "support:1")
    world.clock.now = at(12, 10)
    world.client.v1.subscriptions.update(sub, {"cancel_at": epoch(at(12, 20))})
    world.stripe.observe()

    [credit] = [o for o in world.fake.objects.values()
                if o["object"] == "invoiceitem" and o["invoice"] is None]  # fmt: skip
    issued = world.move(at(12, 20, 2)) + world.move(at(2, 1, 2, year=2027))

    # 12 of December's 31 days unused: 900 x 12 / 31 = 348.39 → 348.
    assert (credit["amount"], credit["proration"], credit["period"]) == (
        -348, True, {"start": epoch(at(12, 20)), "end": epoch(at(1, 1, year=2027))},
    )  # fmt: skip
    [final] = issued  # nothing after the end
    assert (final["created"], lines(final)) == (
        epoch(at(12, 20)),
        [(world.minutes, 300), (world.fee, -348)],
    )
    assert world.fake.objects[sub]["status"] == "canceled"
    assert world.stripe.unbilled_meter_events() == []


def test_cancelling_at_once_leaves_pending_items_waiting_and_discards_usage(
    world: World,
) -> None:
    world.catalog()
    ann = world.customer()
    sub = world.subscribe(ann, world.fee, world.minutes)
    world.clock.now = at(11, 9)
    world.usage(ann, at(11, 9), 3, "support:1")
    world.clock.now = at(11, 10)
    fee = world.client.v1.invoice_items.create(
        {"customer": ann, "amount": 2000, "currency": "eur", "description": "Extra work"}
    )
    world.client.v1.subscriptions.cancel(sub)
    world.stripe.observe()

    issued = world.move(at(3, 1, 2, year=2027))

    assert issued == []  # no final invoice, and no invoice ever takes the item
    assert [o["billing_reason"] for o in world.stripe.invoices_of(ann)] == ["subscription_create"]
    assert world.fake.objects[fee.id]["invoice"] is None
    [lost] = world.stripe.unbilled_meter_events()
    assert "without invoice_now" in lost.reason


def test_cancelling_at_once_with_invoice_now_bills_usage_and_the_credit_at_once(
    world: World,
) -> None:
    world.catalog()
    ann = world.customer()
    sub = world.subscribe(ann, world.fee, world.minutes)
    world.clock.now = at(11, 10)
    world.usage(ann, at(11, 10), 3, "support:1")
    world.clock.now = at(11, 16)
    world.client.v1.subscriptions.cancel(sub, {"invoice_now": True, "prorate": True})
    world.stripe.observe()

    issued = world.move(at(11, 16))

    # 15 of November's 30 days unused: 900 x 15 / 30 = 450.
    assert [(o["created"], lines(o)) for o in issued] == [
        (epoch(at(11, 16)), [(world.minutes, 300), (world.fee, -450)]),
    ]
    assert world.stripe.unbilled_meter_events() == []


def test_changing_a_cancel_at_is_not_modelled(world: World) -> None:
    world.catalog()
    sub = world.subscribe(world.customer(), world.fee)
    world.client.v1.subscriptions.update(sub, {"cancel_at": epoch(at(11, 20))})
    world.client.v1.subscriptions.update(sub, {"cancel_at": ""})

    with pytest.raises(NotImplementedError, match="cancel_at"):
        world.stripe.observe()


# 9. Checkout ---------------------------------------------------------------------------


def checkout(world: World, **params: object) -> stripe.checkout.Session:
    created: stripe.params.checkout.SessionCreateParams = {
        "mode": "subscription",
        "line_items": [{"price": world.fee, "quantity": 1}, {"price": world.setup, "quantity": 1}],
        "success_url": "https://dock.test/ok",
        "subscription_data": {
            "billing_cycle_anchor_config": {"day_of_month": 1},
            "metadata": {"dockyard_subscription_id": "s1"},
        },
    }
    created.update(params)  # type: ignore[typeddict-item]
    return world.client.v1.checkout.sessions.create(created)


def test_a_completed_checkout_makes_the_subscription_and_bills_one_time_prices_first(
    world: World,
) -> None:
    world.catalog()
    ann = world.customer()
    session = checkout(world, customer=ann)
    world.clock.advance(hours=1)

    done = world.fake.complete_checkout(session.id)
    issued = world.move(at(11, 2, 9))

    sub = world.fake.objects[done["subscription"]]
    assert (done["status"], done["customer"], sub["customer"]) == ("complete", ann, ann)
    assert sub["metadata"] == {"dockyard_subscription_id": "s1"}
    # The fee from 09:00 to the anchor on 1 Dec, and the setup fee, on the first invoice.
    assert [(o["billing_reason"], lines(o)) for o in issued] == [
        ("subscription_create", [(world.fee, 859), (world.setup, 1500)]),
    ]
    assert world.fake.events[-4]["type"] == "checkout.session.completed"


def test_checkout_bills_an_inline_one_time_price_on_the_first_invoice(world: World) -> None:
    world.catalog()
    setup: stripe.params.checkout.SessionCreateParamsLineItem = {
        "price_data": {"currency": "eur", "unit_amount": 1500,
                       "product_data": {"name": "Setup fee"}},
        "quantity": 1,
    }  # fmt: skip
    session = checkout(world, customer=world.customer(),
                       line_items=[{"price": world.fee, "quantity": 1}, setup])  # fmt: skip

    world.fake.complete_checkout(session.id)
    [first] = world.move(at(11, 2, 8))

    assert [amount for _, amount in lines(first)] == [860, 1500]  # 28 d 16 h of the fee


def test_checkout_without_a_customer_makes_a_new_one_each_time(world: World) -> None:
    world.catalog()
    first = checkout(world, customer_email="ann@example.com")
    second = checkout(world, customer_email="ann@example.com")

    made = {world.fake.complete_checkout(s.id)["customer"] for s in (first, second)}

    assert len(made) == 2
    assert all(world.fake.objects[c]["email"] == "ann@example.com" for c in made)


def test_checkout_refuses_a_trial_ending_within_48_hours(world: World) -> None:
    world.catalog()
    soon = epoch(world.clock() + timedelta(hours=47))

    with pytest.raises(stripe.InvalidRequestError) as refused:
        checkout(world, customer_email="ann@example.com", subscription_data={"trial_end": soon})
    enough = epoch(world.clock() + timedelta(hours=48))
    checkout(world, customer_email="ann@example.com", subscription_data={"trial_end": enough})

    assert refused.value.param == "subscription_data[trial_end]"


def test_checkout_refuses_both_a_customer_and_an_email(world: World) -> None:
    world.catalog()
    with pytest.raises(stripe.InvalidRequestError) as refused:
        checkout(world, customer=world.customer(), customer_email="ann@example.com")
    assert refused.value.param == "customer_email"


# 10. proration_date --------------------------------------------------------------------


def test_a_proration_date_outside_the_current_period_is_refused(world: World) -> None:
    world.catalog()
    sub = world.subscribe(world.customer(), world.fee)
    item = world.client.v1.subscriptions.retrieve(sub)["items"].data[0].id
    dearer = world.client.v1.prices.create(
        {"currency": "eur", "unit_amount": 2400, "product": world.product,
         "recurring": {"interval": "month"}}
    )  # fmt: skip
    world.move(at(12, 1, 2))

    with pytest.raises(stripe.InvalidRequestError) as refused:
        world.client.v1.subscriptions.update(
            sub, {"items": [{"id": item, "price": dearer.id}], "proration_date": epoch(at(11, 30))}
        )
    world.client.v1.subscriptions.update(
        sub, {"items": [{"id": item, "price": dearer.id}], "proration_date": epoch(at(12, 1))}
    )

    assert refused.value.param == "proration_date"
