"""The durable Stripe outbox: every Stripe mutation starts life as a row here.

A row is written in the same transaction as the ledger change it reflects, so a change and
its Stripe call can never part: if the transaction commits, the call will be made (by the
worker, with the row's idempotency key, retried until Stripe answers); if it rolls back,
neither exists.

- ``messages``: one typed class per kind of Stripe mutation, each with its own key;
- ``requests``: the Stripe request a message becomes, built once and frozen;
- ``sender``: the worker side: claim due rows (a customer's in order), send, record;
- ``admin``: operators' hands on it (list, retry a dead row).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billing.models import OutboxMessage, OutboxState
from billing.outbox.messages import (
    CustomerCreate,
    InvoiceCreate,
    InvoiceItem,
    Message,
    MeterEvent,
    OutboxKind,
    SubscriptionCancel,
    SubscriptionCreate,
    SubscriptionUpdate,
    UsageItem,
    read_message,
)

__all__ = [
    "CustomerCreate",
    "InvoiceCreate",
    "InvoiceItem",
    "Message",
    "MeterEvent",
    "OutboxKind",
    "SubscriptionCancel",
    "SubscriptionCreate",
    "SubscriptionUpdate",
    "UsageItem",
    "enqueue",
    "read_message",
]


async def enqueue(session: AsyncSession, message: Message, *, now: datetime) -> OutboxMessage:
    """Add ``message`` to the caller's transaction; the same key twice is one message.

    Its place in its customer's stream is its row id: rows are sent in the order written.
    """
    key = message.key()
    existing = await session.scalar(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
    )
    if existing is not None:
        return existing
    row = OutboxMessage(
        kind=message.kind.value,
        customer_id=message.customer_id,
        payload=message.payload(),
        idempotency_key=key,
        state=OutboxState.PENDING.value,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    # The unit of work inserts rows in the order they were added: ids follow writing order.
    session.add(row)
    return row
