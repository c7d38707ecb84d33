"""The durable Stripe outbox: every Stripe mutation starts life as a row here.

A row is written in the same transaction as the ledger change it reflects, so a
change and its Stripe call can never part: if the transaction commits, the call will
be made (by the worker, with the row's idempotency key, retried until Stripe answers);
if it rolls back, neither exists. Sending lives in ``billing.outbox_sender``.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billing.models import OutboxMessage, OutboxState


class OutboxKind(enum.StrEnum):
    CUSTOMER_CREATE = "customer.create"
    SUBSCRIPTION_CREATE = "subscription.create"
    SUBSCRIPTION_UPDATE = "subscription.update"  # plan change, cancel at period end
    SUBSCRIPTION_CANCEL = "subscription.cancel"  # immediately
    METER_EVENT = "meter_event"  # billable support minutes
    INVOICE_ITEM = "invoice_item"  # one-off services, agreed extra work


async def enqueue(
    session: AsyncSession,
    *,
    kind: OutboxKind,
    payload: dict[str, Any],
    key: str,
    now: datetime,
) -> OutboxMessage:
    """Add a message to the caller's transaction; the same ``key`` twice is one message.

    ``key`` becomes Stripe's Idempotency-Key (and, for meter events, the identifier),
    so it must name the change itself: "meter:<entry id>", "subscription.create:<id>".
    """
    existing = await session.scalar(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
    )
    if existing is not None:
        return existing
    message = OutboxMessage(
        kind=kind.value,
        payload=payload,
        idempotency_key=key,
        state=OutboxState.PENDING.value,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(message)
    return message
