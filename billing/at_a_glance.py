"""What billing holds, at a glance: the counts the operator overview, /metrics and /readyz
show. The portal reads these here rather than reaching into the repositories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from billing.models import WebhookEvent
from billing.repository.customers import CustomerRepository
from billing.repository.outbox import OutboxRepository
from billing.repository.subscriptions import SubscriptionRepository
from billing.repository.webhooks import WebhookRepository


@dataclass(frozen=True, slots=True)
class BillingCounts:
    customers: int
    subscriptions: dict[str, int]  # by state; states with none are absent
    outbox: dict[str, int]  # by state
    webhooks_unhandled: int
    webhooks_failing: int  # of the unhandled, those whose last attempt failed


async def billing_counts(session: AsyncSession) -> BillingCounts:
    unhandled, failing = await WebhookRepository(session).backlog()
    return BillingCounts(
        customers=await CustomerRepository(session).count(),
        subscriptions=await SubscriptionRepository(session).count_by_state(),
        outbox=dict(await OutboxRepository(session).states()),
        webhooks_unhandled=unhandled,
        webhooks_failing=failing,
    )


async def outbox_oldest_due(session: AsyncSession, now: datetime) -> datetime | None:
    """When the oldest message due to be sent now was written; None when none waits."""
    return await OutboxRepository(session).oldest_due(now)


async def webhook_problems(session: AsyncSession, limit: int) -> list[WebhookEvent]:
    """Events with an error or a note for operators, newest first."""
    return await WebhookRepository(session).problems(limit)
