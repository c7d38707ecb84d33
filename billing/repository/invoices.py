"""Every query about invoices, and the customer and subscription lookups that file one."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from billing.models import Invoice, InvoiceStatus

# Built once: the dashboard asks on every load (see billing.repository.ledger).
_FOR_CUSTOMER = (
    select(Invoice)
    .where(Invoice.customer_id == bindparam("customer_id"))
    .order_by(Invoice.created_at.desc(), Invoice.id.desc())
)


class InvoiceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, invoice: Invoice) -> None:
        self.session.add(invoice)

    async def get(self, invoice_id: str) -> Invoice | None:
        return await self.session.get(Invoice, invoice_id)

    async def for_customer(self, customer_id: str) -> list[Invoice]:
        """A customer's invoices, newest (by Stripe's ``created``) first."""
        return list(await self.session.scalars(_FOR_CUSTOMER, {"customer_id": customer_id}))

    async def unpaid_of_subscription(self, subscription_id: str) -> list[str]:
        """Ids of the subscription's invoices still open with an amount left to pay."""
        query = (
            select(Invoice.id)
            .where(Invoice.subscription_id == subscription_id)
            .where(Invoice.status == InvoiceStatus.OPEN.value)
            .where(Invoice.amount_remaining > 0)
            .order_by(Invoice.created_at, Invoice.id)
        )
        return list(await self.session.scalars(query))
