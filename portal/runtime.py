"""The composition root's wiring: settings in, ready-made services out.

The CLI and (later) the web app and worker get their services here, so how a database
engine, a Docker client or the catalog is built is decided in one place.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property

from plans import Catalog, load_catalog
from plans.settings import CatalogSettings
from portal import migrate
from portal.clock import utc_now
from portal.database import create_engine, create_session_factory
from portal.settings import Settings
from provisioner.backends import create_backend
from provisioner.context import Clock, ProvisionerContext
from provisioner.service import Provisioner


class Runtime:
    def __init__(self, settings: Settings, clock: Clock = utc_now) -> None:
        self.settings = settings
        self.clock = clock

    @property
    def catalog(self) -> CatalogSettings:
        """What ``dockyard plans`` reads (plans.cli.HasCatalogSettings)."""
        return self.settings.catalog

    @cached_property
    def loaded_catalog(self) -> Catalog:
        settings = self.settings.catalog
        return load_catalog(settings.directory, max_file_bytes=settings.max_file_bytes)

    @asynccontextmanager
    async def provisioner(self) -> AsyncIterator[Provisioner]:
        engine = create_engine(self.settings.database)
        try:
            # Idempotent and quick: a fresh SQLite file works without a separate step.
            await migrate.upgrade(engine)
            backend = create_backend(self.settings.provisioner)
            context = ProvisionerContext(
                sessions=create_session_factory(engine),
                backend=backend,
                catalog=lambda: self.loaded_catalog,
                settings=self.settings.provisioner,
                clock=self.clock,
                worker_id=f"{socket.gethostname()}:cli",
            )
            yield Provisioner(context)
        finally:
            await engine.dispose()
