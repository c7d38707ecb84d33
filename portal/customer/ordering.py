"""Ordering plans from the portal: subscribe, and with Stripe send the customer to pay.

With Stripe configured every subscription waits (``pending``) for its own Checkout
Session; the webhook starts it. Ordering the same plan again while one still waits for
payment reuses it, so a failed or abandoned checkout never leaves a pile of duplicates.
Without Stripe the subscriptions start at once and billing's outbox holds their Stripe
side until a key is configured.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import stripe

from billing import (
    BillingContext,
    CurrencyMismatch,
    Customer,
    Customers,
    InvalidTransition,
    Subscription,
    Subscriptions,
    SubscriptionState,
    create_checkout_session,
)
from plans import Plan

StripeClientFactory = Callable[[], stripe.StripeClient]


@dataclass(frozen=True, slots=True)
class Order:
    subscriptions: list[Subscription]  # one per plan, in the order asked
    checkout_url: str | None  # where the customer pays for the first; None: started


async def place_order(
    billing: BillingContext,
    customer_id: str,
    plans: Sequence[Plan],
    base_url: str,
    stripe_client: StripeClientFactory,
) -> Order:
    """Subscribe ``customer_id`` to ``plans``; raises CurrencyMismatch before subscribing
    to any of them, and StripeFailure when Checkout cannot be opened (the pending
    subscriptions stay, and the next attempt reuses them)."""
    customer = await Customers(billing).get(customer_id)
    for plan in plans:
        if plan.pricing.currency != customer.currency:
            raise CurrencyMismatch(customer.currency, plan)
    subscriptions = Subscriptions(billing)
    if not billing.stripe.enabled:
        started = [
            await subscriptions.subscribe(customer.id, plan.id, plan.version, stripe_checkout=False)
            for plan in plans
        ]
        return Order(started, None)
    waiting = {
        s.plan_id: s
        for s in await subscriptions.for_customer(customer.id)
        if s.state == SubscriptionState.PENDING.value
    }
    ordered = []
    for plan in plans:
        held = waiting.get(plan.id)
        if held is None or held.plan_version != plan.version:
            held = await subscriptions.subscribe(
                customer.id, plan.id, plan.version, stripe_checkout=True
            )
        ordered.append(held)
    url = await checkout_url(billing, stripe_client(), customer, ordered[0], base_url)
    return Order(ordered, url)


async def checkout_url(
    billing: BillingContext,
    client: stripe.StripeClient,
    customer: Customer,
    subscription: Subscription,
    base_url: str,
) -> str:
    """Stripe Checkout for one pending subscription: paid → the done page, cancelled →
    back to the plan's order page."""
    if subscription.state != SubscriptionState.PENDING.value:
        raise InvalidTransition(
            f"subscription {subscription.id} is {subscription.state}: nothing to pay at checkout"
        )
    return await create_checkout_session(
        billing,
        client,
        customer,
        subscription,
        success_url=f"{base_url}/order/done?subscription={subscription.id}",
        cancel_url=f"{base_url}/order/{subscription.plan_id}",
    )
