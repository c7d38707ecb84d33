"""Every query the outbox sender makes: claiming due rows, recording outcomes, and the
Stripe ids it reads from and stores on customers and subscriptions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from billing.models import (
    ClosedPeriod,
    OutboxMessage,
    OutboxState,
    SubscriptionState,
    SupportEntry,
)

_DUE_STATES = (OutboxState.PENDING.value, OutboxState.RETRYING.value)
# Subscriptions Stripe still bills (pending ones wait for Checkout; cancelled ones ended).
_LIVE_STATES = (
    SubscriptionState.TRIALING.value,
    SubscriptionState.ACTIVE.value,
    SubscriptionState.PAST_DUE.value,
    SubscriptionState.SUSPENDED.value,
)


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim_due(
        self, worker: str, now: datetime, ttl: timedelta, limit: int
    ) -> list[OutboxMessage]:
        """Claim up to ``limit`` due, unclaimed rows for ``worker`` until ``now + ttl``.

        Only the head of each customer's stream is due: a row whose customer has an earlier
        row still unsent (pending or retrying, claimed or not) waits for it; a dead one is
        passed over. So at most one row per customer is claimed, and in writing order.

        On PostgreSQL the SELECT takes row locks with SKIP LOCKED, so concurrent workers
        pick different rows instead of queueing behind each other; SQLite ignores FOR
        UPDATE, and there the conditional UPDATE alone decides (one writer at a time). A
        claim whose holder died expires at ``claimed_until`` and the row is due again.
        The caller commits before calling Stripe, so the claim is visible to others.
        """
        unclaimed = or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now)
        earlier = aliased(OutboxMessage)
        behind = exists().where(
            earlier.customer_id == OutboxMessage.customer_id,
            earlier.state.in_(_DUE_STATES),
            earlier.id < OutboxMessage.id,
        )
        due = (
            OutboxMessage.state.in_(_DUE_STATES),
            OutboxMessage.next_attempt_at <= now,
            unclaimed,
            ~behind,
        )
        claimed: list[int] = []
        # A worker that lost every row of its batch to others looks again: those rows
        # are claimed now and drop out of the next SELECT.
        for _ in range(5):
            candidates = list(
                await self.session.scalars(
                    select(OutboxMessage.id)
                    .where(*due)
                    .order_by(OutboxMessage.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            for message_id in candidates:
                result = await self.session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == message_id, *due)
                    .values(claimed_by=worker, claimed_until=now + ttl)
                    .execution_options(synchronize_session=False)
                )
                if getattr(result, "rowcount", 0) == 1:
                    claimed.append(message_id)
            if claimed or not candidates:
                break
        if not claimed:
            return []
        rows = await self.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.id.in_(claimed))
            .order_by(OutboxMessage.id)
            .execution_options(populate_existing=True)
        )
        return list(rows)

    async def _finish(self, message_id: int, worker: str, **values: object) -> bool:
        """Update a row only while ``worker`` still holds its claim; False if it lost it."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == worker)
            .values(claimed_by=None, claimed_until=None, **values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def freeze(
        self, message_id: int, request: dict[str, Any], *, again: bool = False
    ) -> None:
        """Store the request a row's first attempt built: every retry sends it as is.
        ``again``: replace the one stored (a meter event rebuilt for the open period)."""
        query = update(OutboxMessage).where(OutboxMessage.id == message_id)
        if not again:
            query = query.where(OutboxMessage.request.is_(None))
        await self.session.execute(
            query.values(request=request).execution_options(synchronize_session=False)
        )

    async def mark_sent(self, message_id: int, worker: str, stripe_id: str, now: datetime) -> bool:
        return await self._finish(
            message_id,
            worker,
            state=OutboxState.SENT.value,
            stripe_id=stripe_id,
            sent_at=now,
            last_error=None,
            attempts=OutboxMessage.attempts + 1,
        )

    async def mark_retrying(
        self, message_id: int, worker: str, error: str, next_attempt_at: datetime
    ) -> bool:
        return await self._finish(
            message_id,
            worker,
            state=OutboxState.RETRYING.value,
            last_error=error,
            next_attempt_at=next_attempt_at,
            attempts=OutboxMessage.attempts + 1,
        )

    async def mark_dead(self, message_id: int, worker: str, error: str) -> bool:
        return await self._finish(
            message_id,
            worker,
            state=OutboxState.DEAD.value,
            last_error=error,
            attempts=OutboxMessage.attempts + 1,
        )

    async def postpone(
        self, message_id: int, worker: str, reason: str, next_attempt_at: datetime
    ) -> bool:
        """Not a failure: the row waits for another (e.g. its customer is not in Stripe yet)."""
        return await self._finish(
            message_id, worker, last_error=reason, next_attempt_at=next_attempt_at
        )

    async def find(self, state: OutboxState | None = None, limit: int = 200) -> list[OutboxMessage]:
        query = select(OutboxMessage).order_by(OutboxMessage.id).limit(limit)
        if state is not None:
            query = query.where(OutboxMessage.state == state.value)
        return list(await self.session.scalars(query))

    async def get(self, message_id: int) -> OutboxMessage | None:
        return await self.session.get(OutboxMessage, message_id)

    async def revive(self, message_id: int, now: datetime) -> bool:
        """A dead row back to pending, due now; False unless it was dead."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.state == OutboxState.DEAD.value)
            .values(
                state=OutboxState.PENDING.value,
                next_attempt_at=now,
                claimed_by=None,
                claimed_until=None,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    # The Stripe ids the sender needs and records.

    async def period_closed(self, subscription_id: str, period: str) -> bool:
        """Whether Stripe has invoiced the subscription's ``period``
        (billing.support_time.closing)."""
        found = await self.session.scalar(
            select(ClosedPeriod.period).where(
                ClosedPeriod.subscription_id == subscription_id, ClosedPeriod.period == period
            )
        )
        return found is not None

    async def bill_entry_in(self, entry_id: str, period: str) -> None:
        """A support entry goes on ``period``'s invoice (its own one closed meanwhile)."""
        await self.session.execute(
            update(SupportEntry)
            .where(SupportEntry.id == entry_id)
            .values(billed_period=period)
            .execution_options(synchronize_session=False)
        )

    # What billing.subscriptions.final_invoice asks.

    async def items_waiting(self, customer_id: str, since: datetime) -> bool:
        """Whether invoice items were queued for the customer from ``since`` on and after
        the last invoice Dockyard itself asked Stripe for (which took those before it)."""
        last_own = (
            select(func.coalesce(func.max(OutboxMessage.id), 0))
            .where(
                OutboxMessage.customer_id == customer_id,
                OutboxMessage.kind == "invoice.create",
            )
            .scalar_subquery()
        )
        found = await self.session.scalar(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.customer_id == customer_id,
                OutboxMessage.kind.in_(("invoice_item", "usage_item")),
                OutboxMessage.created_at >= since,
                OutboxMessage.id > last_own,
            )
            .limit(1)
        )
        return found is not None

    async def oldest_due(self, now: datetime) -> datetime | None:
        """When the oldest message that waits to be sent now (pending or retrying, its next
        attempt not in the future) was written; None when none waits. A row sitting out a
        retry backoff is not due: it counts again once its next attempt comes."""
        return await self.session.scalar(
            select(func.min(OutboxMessage.created_at)).where(
                OutboxMessage.state.in_(_DUE_STATES), OutboxMessage.next_attempt_at <= now
            )
        )

    async def states(self) -> Sequence[tuple[str, int]]:
        """How many rows are in each state, for ``outbox list``'s summary."""
        rows = await self.session.execute(
            select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
        )
        return [(state, count) for state, count in rows]
