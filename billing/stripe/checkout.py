"""Sign-up through Stripe Checkout: the customer pays on Stripe's page, the webhook activates.

Two rules keep the money in one place:

- one Stripe customer per customer, ever: Checkout opens only for a customer Stripe has
  (made here, under the outbox's own key and parameters, when the outbox has not yet), and
  is passed ``customer``, so Checkout never makes a second one;
- the plan's setup fee is a one-time line of the session: Stripe charges it on the
  subscription's first invoice (https://docs.stripe.com/payments/checkout/...: one-time
  prices in ``subscription`` mode are added to the first invoice).
"""

from __future__ import annotations

from typing import Any

import stripe
from stripe.params.checkout import SessionCreateParams

from billing.context import BillingContext
from billing.errors import StripeFailure
from billing.models import Customer, Subscription
from billing.outbox import CustomerCreate
from billing.outbox.requests import customer_params
from billing.periods import add_months
from billing.repository.customers import CustomerRepository
from billing.stripe.catalog import find_prices
from billing.stripe.client import classify
from billing.subscriptions.lifecycle import setup_fee


async def create_checkout_session(
    ctx: BillingContext,
    client: stripe.StripeClient,
    customer: Customer,
    subscription: Subscription,
    success_url: str,
    cancel_url: str,
) -> str:
    """Open a Checkout Session for ``subscription`` and return the URL to send the customer to.

    ``client_reference_id`` is our subscription id: ``checkout.session.completed`` names it,
    and the worker activates that subscription. The session is created with an idempotency
    key per subscription, so a double click opens one session.
    """
    try:
        fee, minutes = await find_prices(client, subscription.plan_id, subscription.plan_version)
        if fee is None and minutes is None:
            raise StripeFailure(
                f"no Stripe price for {subscription.plan_id} v{subscription.plan_version}:"
                " run `dockyard plans sync`",
                permanent=True,
            )
        line_items: list[Any] = []
        if fee:
            line_items.append({"price": fee, "quantity": 1})
        if minutes:  # metered: Stripe counts the quantity from meter events
            line_items.append({"price": minutes})
        plan = ctx.catalog().get(subscription.plan_id, subscription.plan_version)
        setup = setup_fee(subscription, plan, ctx.clock())
        if setup is not None:
            line_items.append(
                {
                    "price_data": {
                        "currency": setup.currency.lower(),
                        "unit_amount": setup.amount_minor,
                        "product_data": {"name": setup.description},
                    },
                    "quantity": 1,
                }
            )
        stripe_customer = await ensure_stripe_customer(ctx, client, customer)
        metadata = {
            "dockyard_subscription_id": subscription.id,
            "dockyard_customer_id": customer.id,
            "dockyard_plan_id": subscription.plan_id,
            "dockyard_plan_version": str(subscription.plan_version),
        }
        params: SessionCreateParams = {
            "mode": "subscription",
            "line_items": line_items,
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": subscription.id,
            "metadata": metadata,
            "subscription_data": {
                "metadata": metadata,
                "billing_cycle_anchor_config": {"day_of_month": 1},
            },
        }
        # The trial runs from when the customer pays, not from the order: a Checkout opened
        # days later (sessions expire after 24 h) still gives the whole trial. To the
        # minute, so a double click is one session (one key, the same parameters).
        opened = ctx.clock().replace(second=0, microsecond=0)
        key = f"checkout:{subscription.id}"
        if plan.pricing.trial_months:
            trial_end = add_months(opened, plan.pricing.trial_months)
            params["subscription_data"]["trial_end"] = int(trial_end.timestamp())
            key = f"{key}:{opened:%Y%m%d%H%M}"
        params["customer"] = stripe_customer
        session = await client.v1.checkout.sessions.create_async(params, {"idempotency_key": key})
    except stripe.StripeError as error:
        raise classify(error) from None
    if not session.url:
        raise StripeFailure("Stripe returned a Checkout Session without a URL", permanent=False)
    return session.url


async def ensure_stripe_customer(
    ctx: BillingContext, client: stripe.StripeClient, customer: Customer
) -> str:
    """The customer's Stripe id, creating the customer now if the outbox has not yet.

    Made with the outbox message's key and exactly its parameters, so the two are one
    request to Stripe (the second is answered from its idempotency cache), and stored
    before Checkout opens.
    """
    if customer.stripe_customer_id:
        return customer.stripe_customer_id
    message = CustomerCreate(
        customer_id=customer.id, email=customer.email, name=customer.name, company=customer.company
    )
    params: Any = customer_params(message)
    created = await client.v1.customers.create_async(params, {"idempotency_key": message.key()})
    async with ctx.sessions() as session, session.begin():
        await CustomerRepository(session).set_stripe_id(customer.id, created.id)
    customer.stripe_customer_id = created.id
    return created.id
