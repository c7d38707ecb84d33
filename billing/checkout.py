"""Sign-up through Stripe Checkout: the customer pays on Stripe's page, the webhook activates."""

from __future__ import annotations

from typing import Any

import stripe
from stripe.params.checkout import SessionCreateParams

from billing.context import BillingContext
from billing.errors import StripeFailure
from billing.models import Customer, Subscription
from billing.stripe_catalog import find_prices
from billing.stripe_client import classify


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
        trial_end = subscription.trial_ends_at
        if trial_end is not None and trial_end > ctx.clock():
            params["subscription_data"]["trial_end"] = int(trial_end.timestamp())
        if customer.stripe_customer_id:
            params["customer"] = customer.stripe_customer_id
        else:
            params["customer_email"] = customer.email
        session = await client.v1.checkout.sessions.create_async(
            params, {"idempotency_key": f"checkout:{subscription.id}"}
        )
    except stripe.StripeError as error:
        raise classify(error) from None
    if not session.url:
        raise StripeFailure("Stripe returned a Checkout Session without a URL", permanent=False)
    return session.url
