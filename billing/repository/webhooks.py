"""Every query on stored Stripe webhook events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billing.models import WebhookEvent


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def seen(self, event_id: str) -> bool:
        return await self.session.get(WebhookEvent, event_id) is not None

    def add(self, event_id: str, event_type: str, payload: dict[str, Any], now: datetime) -> None:
        self.session.add(
            WebhookEvent(id=event_id, type=event_type, payload=payload, received_at=now)
        )

    async def unhandled(self, limit: int) -> list[WebhookEvent]:
        query = (
            select(WebhookEvent)
            .where(WebhookEvent.handled_at.is_(None))
            .order_by(WebhookEvent.received_at, WebhookEvent.id)
            .limit(limit)
        )
        return list(await self.session.scalars(query))

    async def finish(self, event_id: str, now: datetime, note: str | None = None) -> None:
        await self.session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id == event_id)
            .values(handled_at=now, error=note)
            .execution_options(synchronize_session=False)
        )

    async def failed(self, event_id: str, error: str) -> None:
        await self.session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id == event_id)
            .values(error=error)
            .execution_options(synchronize_session=False)
        )

    async def backlog(self) -> tuple[int, int]:
        """Events not handled yet, and how many of those failed their last attempt."""
        row = (
            await self.session.execute(
                select(func.count(), func.count(WebhookEvent.error)).where(
                    WebhookEvent.handled_at.is_(None)
                )
            )
        ).one()
        return int(row[0]), int(row[1])

    async def problems(self, limit: int = 100) -> list[WebhookEvent]:
        """Events with an error or a note for operators (meter error reports)."""
        query = (
            select(WebhookEvent)
            .where(WebhookEvent.error.is_not(None))
            .order_by(WebhookEvent.received_at.desc())
            .limit(limit)
        )
        return list(await self.session.scalars(query))
