"""Every query about customers, in one place (the other repositories ask this one)."""

from __future__ import annotations

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billing.errors import UnknownCustomer
from billing.models import Customer


class CustomerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, customer: Customer) -> None:
        self.session.add(customer)

    async def currencies(self, customer_id: str | None = None) -> dict[str, str]:
        """Each customer's currency (or only ``customer_id``'s)."""
        query = select(Customer.id, Customer.currency)
        if customer_id is not None:
            query = query.where(Customer.id == customer_id)
        return {row[0]: row[1] for row in await self.session.execute(query)}

    async def get(self, customer_id: str) -> Customer:
        customer = await self.session.get(Customer, customer_id)
        if customer is None:
            raise UnknownCustomer(customer_id)
        return customer

    async def find(self, customer_id: str) -> Customer | None:
        return await self.session.get(Customer, customer_id)

    async def lock(self, customer_id: str) -> Customer:
        """The customer, locked until commit: a customer's entries are billed one at a time.

        Each entry's billable minutes are computed against the ones before it, so two
        concurrent entries must not both see the same allowance (PostgreSQL: FOR UPDATE;
        SQLite allows one writer at a time anyway).
        """
        customer = await self.session.scalar(
            select(Customer).where(Customer.id == customer_id).with_for_update()
        )
        if customer is None:
            raise UnknownCustomer(customer_id)
        return customer

    async def by_stripe_id(self, stripe_customer_id: str) -> list[Customer]:
        """The customers linked to a Stripe ``cus_...`` (one, unless the data is wrong)."""
        query = (
            select(Customer)
            .where(Customer.stripe_customer_id == stripe_customer_id)
            .order_by(Customer.id)
            .limit(2)
        )
        return list(await self.session.scalars(query))

    async def set_stripe_id(self, customer_id: str, stripe_id: str) -> None:
        await self.session.execute(
            update(Customer)
            .where(Customer.id == customer_id, Customer.stripe_customer_id.is_(None))
            .values(stripe_customer_id=stripe_id)
            .execution_options(synchronize_session=False)
        )

    async def by_email(self, email: str) -> Customer | None:
        """The customer with this (already normalised) email, if any."""
        return await self.session.scalar(select(Customer).where(Customer.email == email))

    async def count(self) -> int:
        return await self.session.scalar(select(func.count()).select_from(Customer)) or 0

    async def search(self, search: str | None = None) -> list[Customer]:
        """All customers, oldest first; with ``search``, those whose email, name or company
        contains it (case-insensitive)."""
        query = select(Customer).order_by(Customer.created_at, Customer.id)
        if search:
            needle = search.strip().lower()
            query = query.where(
                or_(
                    *(
                        func.lower(column).contains(needle, autoescape=True)
                        for column in (Customer.email, Customer.name, Customer.company)
                    )
                )
            )
        return list(await self.session.scalars(query))
