"""Operators' hands on the outbox: what waits for Stripe, and a dead message put back.

The CLI (``dockyard outbox``), the operator pages and the API all call these.
"""

from __future__ import annotations

from billing.context import BillingContext
from billing.errors import NotDead, UnknownOutboxMessage
from billing.models import OutboxMessage, OutboxState
from billing.repository.outbox import OutboxRepository

# Row ids are the database's integers: 32 bits on PostgreSQL, which refuses a larger one
# with an error rather than finding nothing.
MAX_MESSAGE_ID = 2**31 - 1


async def outbox_messages(
    ctx: BillingContext, state: OutboxState | None = None, limit: int = 200
) -> list[OutboxMessage]:
    """Rows of the outbox (of one state), oldest first."""
    async with ctx.sessions() as session:
        return await OutboxRepository(session).find(state, limit)


async def outbox_counts(ctx: BillingContext) -> dict[str, int]:
    """How many rows are in each state (states with none are absent)."""
    async with ctx.sessions() as session:
        return dict(await OutboxRepository(session).states())


async def retry_dead(ctx: BillingContext, message_id: int) -> OutboxMessage:
    """Put a dead row back to pending, due now (after fixing what Stripe refused).

    Raises UnknownOutboxMessage, or NotDead for a row that is not dead.
    """
    if not 1 <= message_id <= MAX_MESSAGE_ID:  # no such row, and the database must not see it
        raise UnknownOutboxMessage(message_id)
    async with ctx.sessions() as session, session.begin():
        repository = OutboxRepository(session)
        if await repository.get(message_id) is None:
            raise UnknownOutboxMessage(message_id)
        if not await repository.revive(message_id, ctx.clock()):
            raise NotDead(message_id)
    async with ctx.sessions() as session:
        message = await OutboxRepository(session).get(message_id)
        assert message is not None  # rows are never deleted
        return message
