"""What a reconciliation needs to know about subscriptions and customers right now."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billing.models import Customer, Subscription


class StandingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def subscriptions(
        self, customer_id: str | None = None
    ) -> list[tuple[str, str, str, str | None]]:
        """(subscription id, customer id, state, suspension reason) of every subscription."""
        query = select(
            Subscription.id,
            Subscription.customer_id,
            Subscription.state,
            Subscription.suspension_reason,
        )
        if customer_id is not None:
            query = query.where(Subscription.customer_id == customer_id)
        rows = await self.session.execute(query)
        return [(row[0], row[1], row[2], row[3]) for row in rows]

    async def currencies(self, customer_id: str | None = None) -> dict[str, str]:
        query = select(Customer.id, Customer.currency)
        if customer_id is not None:
            query = query.where(Customer.id == customer_id)
        return {row[0]: row[1] for row in await self.session.execute(query)}
