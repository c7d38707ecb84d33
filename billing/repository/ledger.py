"""Every query the support ledger makes, in one place."""

from __future__ import annotations

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billing.errors import UnknownCustomer, UnknownEntry
from billing.models import Customer, EntryState, Subscription, SubscriptionState, SupportEntry

# The states an entry can be billed from; pending and rejected ones never are.
BILLABLE_STATES = (EntryState.RECORDED.value, EntryState.APPROVED.value)


class LedgerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, entry: SupportEntry) -> None:
        self.session.add(entry)

    async def lock_customer(self, customer_id: str) -> Customer:
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

    async def customer(self, customer_id: str) -> Customer:
        customer = await self.session.get(Customer, customer_id)
        if customer is None:
            raise UnknownCustomer(customer_id)
        return customer

    async def subscriptions(self, customer_id: str) -> list[Subscription]:
        """The customer's subscriptions that ever started (not waiting for checkout)."""
        query = (
            select(Subscription)
            .where(
                Subscription.customer_id == customer_id,
                Subscription.state != SubscriptionState.PENDING.value,
            )
            .order_by(Subscription.started_at, Subscription.id)
        )
        return list(await self.session.scalars(query))

    async def subscription(self, subscription_id: str) -> Subscription | None:
        return await self.session.get(Subscription, subscription_id)

    async def entry(self, entry_id: str, *, lock: bool = False) -> SupportEntry:
        query = select(SupportEntry).where(SupportEntry.id == entry_id)
        if lock:
            query = query.with_for_update()
        entry = await self.session.scalar(query)
        if entry is None:
            raise UnknownEntry(entry_id)
        return entry

    async def subscription_entries(self, subscription_id: str, since: str) -> list[SupportEntry]:
        """Every entry counted against a subscription from period ``since`` ("YYYY-MM") on."""
        query = (
            select(SupportEntry)
            .where(SupportEntry.subscription_id == subscription_id, SupportEntry.period >= since)
            .order_by(SupportEntry.period, SupportEntry.recorded_at, SupportEntry.id)
        )
        return list(await self.session.scalars(query))

    async def entries(self, customer_id: str, period: str) -> list[SupportEntry]:
        query = (
            select(SupportEntry)
            .where(SupportEntry.customer_id == customer_id, SupportEntry.period == period)
            .order_by(SupportEntry.worked_at, SupportEntry.recorded_at, SupportEntry.id)
        )
        return list(await self.session.scalars(query))

    async def awaiting_approval(self, customer_id: str) -> list[SupportEntry]:
        """A customer's entries over their cap that wait for a decision, of any period."""
        query = (
            select(SupportEntry)
            .where(
                SupportEntry.customer_id == customer_id,
                SupportEntry.state == EntryState.PENDING_APPROVAL.value,
            )
            .order_by(SupportEntry.worked_at, SupportEntry.recorded_at, SupportEntry.id)
        )
        return list(await self.session.scalars(query))

    async def period_billed(self, period: str) -> bool:
        """Whether the invoices of ``period`` went out: some entry was billed on them."""
        query = (
            select(SupportEntry.id)
            .where(
                SupportEntry.billed_period == period,
                SupportEntry.state == EntryState.BILLED.value,
            )
            .limit(1)
        )
        return await self.session.scalar(query) is not None

    async def mark_billed(self, period: str) -> int:
        """Lock what the invoices of ``period`` hold; returns how many entries.

        That is the period's own entries not sent to a later invoice, and late entries of
        earlier periods sent to this one.
        """
        result = await self.session.execute(
            update(SupportEntry)
            .where(
                SupportEntry.state.in_(BILLABLE_STATES),
                or_(
                    and_(SupportEntry.period == period, SupportEntry.billed_period.is_(None)),
                    SupportEntry.billed_period == period,
                ),
            )
            .values(state=EntryState.BILLED.value, billed_period=period)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
