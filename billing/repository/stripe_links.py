"""The one query that links Stripe's ids to ours, for reading Stripe's invoices."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billing.models import Customer, Subscription


class StripeLink(NamedTuple):
    customer_id: str
    stripe_customer_id: str | None
    subscription_id: str | None  # None: a customer without subscriptions
    stripe_subscription_id: str | None


class StripeLinkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def links(self) -> list[StripeLink]:
        """Every customer with each of its subscriptions (or one row without), ours and
        Stripe's ids side by side; one row per subscription, small enough for memory."""
        query = (
            select(
                Customer.id,
                Customer.stripe_customer_id,
                Subscription.id,
                Subscription.stripe_subscription_id,
            )
            .outerjoin(Subscription, Subscription.customer_id == Customer.id)
            .order_by(Customer.id, Subscription.id)
        )
        return [StripeLink(*row) for row in await self.session.execute(query)]
