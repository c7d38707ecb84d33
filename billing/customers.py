"""Customers: who holds subscriptions and pays for support time.

Creating a customer also queues its creation in Stripe (the outbox), in the same
transaction, so a customer never exists here without its Stripe twin on the way.
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from billing.context import BillingContext
from billing.errors import DuplicateEmail, InvalidCustomer
from billing.models import Customer
from billing.outbox import CustomerCreate, enqueue
from billing.repository.customers import CustomerRepository
from plans.currencies import is_known

# Deliberately loose: one "@", something on each side, a dot in the domain, no spaces.
# Real validation is the confirmation mail the portal sends.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    """Trimmed and lower-cased, so "Ann@Example.COM " and "ann@example.com" are one."""
    normal = email.strip().lower()
    if not _EMAIL.match(normal):
        raise InvalidCustomer(f"{email!r} is not an email address such as ann@example.com")
    return normal


def new_customer_id() -> str:
    # "c" + 12 hex: ours at a glance, never mistaken for Stripe's "cus_...".
    return "c" + secrets.token_hex(6)


class Customers:
    def __init__(self, ctx: BillingContext) -> None:
        self.ctx = ctx

    async def create(
        self, email: str, name: str, company: str = "", currency: str = "EUR"
    ) -> Customer:
        """Record a customer and queue ``customer.create`` for Stripe.

        Raises DuplicateEmail when the (normalised) email is taken, InvalidCustomer for a
        malformed email, an empty name or an unknown currency.
        """
        normal = normalise_email(email)
        currency = currency.strip().upper()
        if not is_known(currency):
            raise InvalidCustomer(
                f"unknown currency {currency!r}; use an ISO 4217 code such as EUR"
            )
        if not name.strip():
            raise InvalidCustomer("a customer needs a name")
        now = self.ctx.clock()
        customer = Customer(
            id=new_customer_id(),
            email=normal,
            name=name.strip(),
            company=company.strip(),
            currency=currency,
            created_at=now,
        )
        try:
            async with self.ctx.sessions() as session, session.begin():
                repo = CustomerRepository(session)
                existing = await repo.by_email(normal)
                if existing is not None:
                    raise DuplicateEmail(normal, existing.id)
                repo.add(customer)
                await enqueue(
                    session,
                    CustomerCreate(
                        customer_id=customer.id,
                        email=customer.email,
                        name=customer.name,
                        company=customer.company,
                    ),
                    now=now,
                )
        except IntegrityError:
            # Another process took the email between our check and our insert.
            raise DuplicateEmail(normal, None) from None
        return customer

    async def get(self, customer_id: str, session: AsyncSession | None = None) -> Customer:
        async with self.ctx.reading(session) as reading:
            return await CustomerRepository(reading).get(customer_id)

    async def find(self, query: str) -> list[Customer]:
        """Customers whose email, name or company contains ``query``, case-insensitive."""
        async with self.ctx.sessions() as session:
            return await CustomerRepository(session).search(search=query)

    async def list(self) -> list[Customer]:
        async with self.ctx.sessions() as session:
            return await CustomerRepository(session).search()
