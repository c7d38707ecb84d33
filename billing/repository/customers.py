"""Every query about customers, in one place."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from billing.errors import UnknownCustomer
from billing.models import Customer


class CustomerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, customer: Customer) -> None:
        self.session.add(customer)

    async def get(self, customer_id: str) -> Customer:
        customer = await self.session.get(Customer, customer_id)
        if customer is None:
            raise UnknownCustomer(customer_id)
        return customer

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
