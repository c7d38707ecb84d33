"""Every query the expected side of a reconciliation makes, each bounded by a period.

Outbox payloads are JSON; their fields are compared in SQL (``json_extract`` on SQLite,
``->>`` on PostgreSQL), so a period's rows are found without reading the whole outbox.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from billing.models import (
    EntryCategory,
    OutboxMessage,
    SupportEntry,
)
from billing.outbox import OutboxKind

# What Stripe knows of a subscription's life: its creation, changes and cancellation.
_LIFE_KINDS = (
    OutboxKind.SUBSCRIPTION_CREATE.value,
    OutboxKind.SUBSCRIPTION_UPDATE.value,
    OutboxKind.SUBSCRIPTION_CANCEL.value,
)


ITEM_BATCH = 2000  # invoice items read at once: bounds the expected side's memory


class QueuedItem(NamedTuple):
    """The columns of an ``invoice_item`` message the expected side reads: rows, not ORM
    objects: a busy month has tens of thousands, and as ORM objects they take more than
    twice as long to load (tests/benchmarks/test_reconcile_bench.py)."""

    id: int
    payload: dict[str, Any]
    sent_at: datetime | None
    created_at: datetime


class ReconcileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def subscription_messages(self, subscription_ids: Collection[str]) -> list[OutboxMessage]:
        """The create, update and cancel messages of these subscriptions, oldest first."""
        if not subscription_ids:
            return []
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.kind.in_(_LIFE_KINDS),
                OutboxMessage.payload["subscription_id"].as_string().in_(list(subscription_ids)),
            )
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
        )
        return list(await self.session.scalars(query))

    async def invoice_items(
        self, period: str, customer_id: str | None = None, *, batch: int = ITEM_BATCH
    ) -> AsyncIterator[list[QueuedItem]]:
        """Invoice items queued for the invoice of ``period`` ("YYYY-MM"), in any state, in
        batches of ``batch`` by id: one query per batch, so the rows of a busy month are
        never in memory at once."""
        query = (
            select(
                OutboxMessage.id,
                OutboxMessage.payload,
                OutboxMessage.sent_at,
                OutboxMessage.created_at,
            )
            .where(
                OutboxMessage.kind == OutboxKind.INVOICE_ITEM.value,
                OutboxMessage.payload["period"].as_string() == period,
            )
            .order_by(OutboxMessage.id)
            .limit(batch)
        )
        if customer_id is not None:
            query = query.where(OutboxMessage.payload["customer_id"].as_string() == customer_id)
        after: int | None = None
        while True:
            page = query if after is None else query.where(OutboxMessage.id > after)
            found = [QueuedItem(*row) for row in await self.session.execute(page)]
            if found:
                yield found
            if len(found) < batch:
                return
            after = found[-1].id

    async def meter_events(
        self, start: datetime, end: datetime, customer_id: str | None = None
    ) -> list[OutboxMessage]:
        """Meter events timestamped in [start, end), in any state."""
        # A float holds every epoch second exactly (to 2**53), and outlives a 32-bit INTEGER.
        # The frozen request's stamp is where Stripe counts it (billing.outbox.requests).
        timestamp = func.coalesce(
            OutboxMessage.request[("params", "timestamp")].as_float(),
            OutboxMessage.payload["timestamp"].as_float(),
        )
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.kind == OutboxKind.METER_EVENT.value,
                timestamp >= start.timestamp(),
                timestamp < end.timestamp(),
            )
            .order_by(OutboxMessage.id)
        )
        if customer_id is not None:
            query = query.where(OutboxMessage.payload["customer_id"].as_string() == customer_id)
        return list(await self.session.scalars(query))

    async def metered_entries(
        self,
        first: str,
        last: str,
        *,
        customer_id: str | None = None,
        subscription_ids: Collection[str] | None = None,
    ) -> list[SupportEntry]:
        """Support entries whose billable minutes went to Stripe's meter, on the invoices of
        periods ``first`` to ``last`` ("YYYY-MM", both included).

        The ledger meters a support entry's positive billable minutes unless it is agreed
        extra work (an invoice item); a negative difference is credited as an invoice item.
        An entry's invoice is its own period, or ``billed_period`` when it came late.
        """
        query = (
            select(SupportEntry)
            .where(
                SupportEntry.category == EntryCategory.SUPPORT.value,
                SupportEntry.extra_work.is_(False),
                SupportEntry.billable_minutes > 0,
                or_(
                    and_(
                        SupportEntry.billed_period.is_(None),
                        SupportEntry.period.between(first, last),
                    ),
                    SupportEntry.billed_period.between(first, last),
                ),
            )
            .order_by(SupportEntry.customer_id, SupportEntry.worked_at, SupportEntry.id)
        )
        if customer_id is not None:
            query = query.where(SupportEntry.customer_id == customer_id)
        if subscription_ids is not None:
            query = query.where(SupportEntry.subscription_id.in_(list(subscription_ids)))
        return list(await self.session.scalars(query))

    async def entry_subscriptions(self, entry_ids: Collection[str]) -> dict[str, str | None]:
        """The subscription each of these support entries counts on."""
        if not entry_ids:
            return {}
        rows = await self.session.execute(
            select(SupportEntry.id, SupportEntry.subscription_id).where(
                SupportEntry.id.in_(list(entry_ids))
            )
        )
        return dict(rows.all())
