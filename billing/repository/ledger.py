"""Every query the support ledger makes, in one place."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billing.errors import UnknownEntry
from billing.models import (
    ClosedPeriod,
    EntryState,
    Subscription,
    SubscriptionState,
    SupportEntry,
)
from billing.periods import Period
from billing.support_time.allowance import Work

# The states an entry can be billed from; pending and rejected ones never are.
BILLABLE_STATES = (EntryState.RECORDED.value, EntryState.APPROVED.value)


def ever_started(subscriptions: Sequence[Subscription]) -> list[Subscription]:
    """Of a customer's subscriptions read already, those that ever started, in the order
    ``LedgerRepository.subscriptions`` reads them."""
    return sorted(
        (s for s in subscriptions if s.state != SubscriptionState.PENDING.value),
        key=lambda s: (s.started_at, s.id),
    )


# The dashboard's statements are built once: it is asked for on every load, and building
# one costs more than running it (SQLAlchemy then finds its compiled form at once too).
_OF_PERIOD_OR_AWAITING = (
    select(SupportEntry)
    .where(
        SupportEntry.customer_id == bindparam("customer_id"),
        or_(
            SupportEntry.period == bindparam("period"),
            SupportEntry.state == EntryState.PENDING_APPROVAL.value,
        ),
    )
    .order_by(SupportEntry.worked_at, SupportEntry.recorded_at, SupportEntry.id)
)

# The subscription's row anchors the outer joins, so its last closed period comes back
# without open entries too. Periods are ``YYYY-MM``: after the last closed one is the same
# as from the next one on.
_LAST_CLOSED = (
    select(func.max(ClosedPeriod.period))
    .where(ClosedPeriod.subscription_id == bindparam("subscription_id"))
    .scalar_subquery()
)
_LAST_CLOSED_AND_OPEN = (
    select(ClosedPeriod, SupportEntry)
    .select_from(Subscription)
    .outerjoin(
        ClosedPeriod,
        and_(
            ClosedPeriod.subscription_id == Subscription.id,
            ClosedPeriod.period == _LAST_CLOSED,
        ),
    )
    .outerjoin(
        SupportEntry,
        and_(
            SupportEntry.subscription_id == Subscription.id,
            or_(
                SupportEntry.billed_period > ClosedPeriod.period,
                and_(
                    ClosedPeriod.period.is_(None),
                    SupportEntry.billed_period >= bindparam("first_without_closed"),
                ),
            ),
        ),
    )
    .where(Subscription.id == bindparam("subscription_id"))
    .order_by(SupportEntry.billed_period, SupportEntry.recorded_at, SupportEntry.id)
)


class LedgerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, entry: SupportEntry) -> None:
        self.session.add(entry)

    async def entry(self, entry_id: str, *, lock: bool = False) -> SupportEntry:
        query = select(SupportEntry).where(SupportEntry.id == entry_id)
        if lock:
            query = query.with_for_update()
        entry = await self.session.scalar(query)
        if entry is None:
            raise UnknownEntry(entry_id)
        return entry

    async def entries(self, customer_id: str, period: str) -> list[SupportEntry]:
        query = (
            select(SupportEntry)
            .where(SupportEntry.customer_id == customer_id, SupportEntry.period == period)
            .order_by(SupportEntry.worked_at, SupportEntry.recorded_at, SupportEntry.id)
        )
        return list(await self.session.scalars(query))

    async def of_period_or_awaiting(self, customer_id: str, period: str) -> list[SupportEntry]:
        """``entries`` of ``period`` and ``awaiting_approval`` together, in their order."""
        params = {"customer_id": customer_id, "period": period}
        return list(await self.session.scalars(_OF_PERIOD_OR_AWAITING, params))

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

    async def group_of(self, entry_id: str) -> list[SupportEntry]:
        """An entry and every correction of it."""
        query = select(SupportEntry).where(
            or_(SupportEntry.id == entry_id, SupportEntry.corrects_id == entry_id)
        )
        return list(await self.session.scalars(query))

    async def open_entries(self, subscription_id: str, first_open: str) -> list[SupportEntry]:
        """A subscription's entries billed in its open periods (from ``first_open`` on)."""
        query = (
            select(SupportEntry)
            .where(
                SupportEntry.subscription_id == subscription_id,
                SupportEntry.billed_period >= first_open,
            )
            .order_by(SupportEntry.billed_period, SupportEntry.recorded_at, SupportEntry.id)
        )
        return list(await self.session.scalars(query))

    async def billed_in(self, subscription_id: str, period: str) -> list[SupportEntry]:
        """The entries a (closed) period billed."""
        query = (
            select(SupportEntry)
            .where(
                SupportEntry.subscription_id == subscription_id,
                SupportEntry.billed_period == period,
            )
            .order_by(SupportEntry.recorded_at, SupportEntry.id)
        )
        return list(await self.session.scalars(query))

    # Closed periods (billing.support_time.closing).

    async def last_closed(self, subscription_id: str) -> ClosedPeriod | None:
        query = (
            select(ClosedPeriod)
            .where(ClosedPeriod.subscription_id == subscription_id)
            .order_by(ClosedPeriod.period.desc())
            .limit(1)
        )
        return await self.session.scalar(query)

    async def last_closed_and_open_entries(
        self, subscription: Subscription
    ) -> tuple[ClosedPeriod | None, list[SupportEntry]]:
        """``last_closed`` and ``open_entries`` from the period after it (from the
        subscription's first without one: ``open_state_after``), in one query."""
        params = {
            "subscription_id": subscription.id,
            "first_without_closed": str(Period.of(subscription.started_at)),
        }
        closed: ClosedPeriod | None = None
        entries: list[SupportEntry] = []
        for row_closed, entry in await self.session.execute(_LAST_CLOSED_AND_OPEN, params):
            closed = row_closed
            if entry is not None:
                entries.append(entry)
        return closed, entries

    async def closed_in(self, period: str) -> list[ClosedPeriod]:
        query = select(ClosedPeriod).where(ClosedPeriod.period == period)
        return list(await self.session.scalars(query.order_by(ClosedPeriod.subscription_id)))

    async def closed(self, subscription_id: str, period: str) -> ClosedPeriod | None:
        return await self.session.get(ClosedPeriod, (subscription_id, period))

    async def last_closed_of(self, subscription_ids: Sequence[str]) -> dict[str, ClosedPeriod]:
        """Each subscription's latest closed period (those with none are absent)."""
        latest = (
            select(ClosedPeriod.subscription_id, func.max(ClosedPeriod.period).label("period"))
            .where(ClosedPeriod.subscription_id.in_(subscription_ids))
            .group_by(ClosedPeriod.subscription_id)
            .subquery()
        )
        rows = await self.session.scalars(
            select(ClosedPeriod).join(
                latest,
                and_(
                    ClosedPeriod.subscription_id == latest.c.subscription_id,
                    ClosedPeriod.period == latest.c.period,
                ),
            )
        )
        return {row.subscription_id: row for row in rows}

    async def open_works(
        self, subscription_ids: Sequence[str], first: str, last: str
    ) -> dict[str, dict[Period, list[Work]]]:
        """What the arithmetic needs of the subscriptions' entries billed in ``first`` to
        ``last``, by subscription and period (plain rows: no ORM objects to build)."""
        query = (
            select(
                SupportEntry.subscription_id,
                SupportEntry.billed_period,
                SupportEntry.id,
                SupportEntry.minutes,
                SupportEntry.state,
                SupportEntry.extra_work,
                SupportEntry.corrects_id,
            )
            .where(
                SupportEntry.subscription_id.in_(subscription_ids),
                SupportEntry.billed_period.between(first, last),
            )
            .order_by(SupportEntry.recorded_at, SupportEntry.id)
        )
        grouped: dict[str, dict[Period, list[Work]]] = {}
        periods: dict[str, Period] = {}
        for row in await self.session.execute(query):
            period = periods.get(row.billed_period)
            if period is None:
                period = periods[row.billed_period] = Period.parse(row.billed_period)
            work = Work(row.id, row.minutes, row.state, row.extra_work, row.corrects_id)
            grouped.setdefault(row.subscription_id, {}).setdefault(period, []).append(work)
        return grouped

    async def store_closed(self, rows: Sequence[ClosedPeriod]) -> None:
        """Keep the closed periods, and lock what their invoices hold: their counted
        entries become billed."""
        if not rows:
            return
        self.session.add_all(rows)
        by_period: dict[str, list[str]] = {}
        for row in rows:
            by_period.setdefault(row.period, []).append(row.subscription_id)
        for period, subscription_ids in by_period.items():
            await self.session.execute(
                update(SupportEntry)
                .where(
                    SupportEntry.subscription_id.in_(subscription_ids),
                    SupportEntry.billed_period == period,
                    SupportEntry.state.in_(BILLABLE_STATES),
                )
                .values(state=EntryState.BILLED.value)
                .execution_options(synchronize_session=False)
            )
