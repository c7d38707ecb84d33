"""What billing's use cases share: database, catalog, clock and settings."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.settings import DunningSettings, StripeSettings
from plans import Catalog

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class BillingContext:
    sessions: async_sessionmaker[AsyncSession]
    catalog: Callable[[], Catalog]
    clock: Clock  # timezone-aware UTC; tests move it
    stripe: StripeSettings = field(default_factory=StripeSettings)
    dunning: DunningSettings = field(default_factory=DunningSettings)
    worker_id: str = "worker"

    def reading(self, session: AsyncSession | None) -> AbstractAsyncContextManager[AsyncSession]:
        """Where a read runs: in the caller's ``session`` when given (a page reading
        several things at once: one connection, its objects shared; left open), else in
        a session of its own."""
        return nullcontext(session) if session is not None else self.sessions()
