"""The composition root's wiring: settings in, ready-made services out.

The CLI and (later) the web app and worker get their services here, so how a database
engine, a Docker client or the catalog is built is decided in one place.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import stripe
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing import BillingContext, Ledger, make_client
from plans import Catalog
from plans.settings import CatalogSettings
from portal import migrate
from portal.catalog_holder import CatalogHolder
from portal.clock import utc_now
from portal.database import create_engine, create_session_factory
from portal.settings import Settings
from provisioner import Clock, Provisioner, ProvisionerContext, create_backend


class Runtime:
    def __init__(self, settings: Settings, clock: Clock = utc_now, role: str = "cli") -> None:
        self.settings = settings
        self.clock = clock
        # Leases and outbox claims name their holder: host, process and role make it
        # unique per process; a worker in the same process adds its own part (holder()).
        self.worker_id = f"{socket.gethostname()[:30]}:{os.getpid()}:{role}"
        # The catalog the portal serves: the last one that loaded (reloads keep it on errors).
        self.catalog_holder = CatalogHolder(settings.catalog, clock)

    @property
    def catalog_settings(self) -> CatalogSettings:
        """Where the catalog's files are: what ``dockyard plans`` reads
        (plans.cli.HasCatalogSettings)."""
        return self.settings.catalog

    def current_catalog(self) -> Catalog:
        """The catalog being served now (what billing and the provisioner are given)."""
        return self.catalog_holder.current()

    @asynccontextmanager
    async def database(self) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
        """Sessions on the configured database, migrated to the newest schema."""
        engine = create_engine(self.settings.database)
        try:
            # Idempotent and quick: a fresh SQLite file works without a separate step.
            await migrate.upgrade(engine)
            yield create_session_factory(engine)
        finally:
            await engine.dispose()

    def holder(self, part: str | None) -> str:
        """The id leases and outbox claims are held under. A lease is re-entrant for its
        holder, so everything that may run at once in one process (the web's requests,
        the worker beside them in ``serve --with-worker``) must hold under its own id:
        else the worker's pass re-enters a rollout's lease and cleans up the revision the
        rollout is starting."""
        return self.worker_id if part is None else f"{self.worker_id}:{part}"[:64]

    def provisioner_context(
        self, sessions: async_sessionmaker[AsyncSession], part: str | None = None
    ) -> ProvisionerContext:
        return ProvisionerContext(
            sessions=sessions,
            backend=create_backend(self.settings.provisioner),
            catalog=self.current_catalog,
            settings=self.settings.provisioner,
            clock=self.clock,
            worker_id=self.holder(part),
        )

    def billing_context(
        self, sessions: async_sessionmaker[AsyncSession], part: str | None = None
    ) -> BillingContext:
        return BillingContext(
            sessions=sessions,
            catalog=self.current_catalog,
            clock=self.clock,
            stripe=self.settings.stripe,
            dunning=self.settings.dunning,
            worker_id=self.holder(part),
        )

    @asynccontextmanager
    async def provisioner(self) -> AsyncIterator[Provisioner]:
        async with self.database() as sessions:
            yield Provisioner(self.provisioner_context(sessions))

    @asynccontextmanager
    async def billing(self) -> AsyncIterator[BillingContext]:
        async with self.database() as sessions:
            yield self.billing_context(sessions)

    @asynccontextmanager
    async def ledger(self) -> AsyncIterator[Ledger]:
        async with self.billing() as context:
            yield Ledger(context)

    def stripe_client(self) -> stripe.StripeClient:
        """Raises StripeNotConfigured (a BillingError) without DOCKYARD_STRIPE_SECRET_KEY."""
        return make_client(self.settings.stripe)
