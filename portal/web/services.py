"""What a request handler may use, built once per application and kept on ``app.state``.

Handlers receive it as the ``services`` dependency; nothing is looked up through globals.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TypeAlias

from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing import BillingContext
from plans import Catalog
from portal.accounts.service import Accounts
from portal.catalog_holder import CatalogHolder
from portal.mail import Mailer
from portal.runtime import Runtime
from provisioner import Provisioner


@dataclass
class Services:
    runtime: Runtime
    sessions: async_sessionmaker[AsyncSession]
    billing: BillingContext
    accounts: Accounts
    mailer: Mailer
    _provisioner: Provisioner | None = field(default=None, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def catalog_holder(self) -> CatalogHolder:
        """The catalog being served and its last reload (the operator's catalog page)."""
        return self.runtime.catalog_holder

    def catalog(self) -> Catalog:
        """The catalog being served now."""
        return self.runtime.current_catalog()

    async def provisioner(self) -> Provisioner:
        """The fleet, connected on first use: the portal starts even while the engine is
        down (its pages say so), and connects once it is back. Raises EngineUnavailable."""
        if self._provisioner is None:
            async with self._lock:
                if self._provisioner is None:
                    context = await asyncio.to_thread(
                        self.runtime.provisioner_context, self.sessions
                    )
                    self._provisioner = Provisioner(context)
        return self._provisioner


def services_of(state: State) -> Services:
    services: Services = state.services
    return services


async def provide_services(state: State) -> Services:
    return services_of(state)


# What handlers declare: ``services: ServicesDep`` (litestar wants dependencies named).
ServicesDep: TypeAlias = NamedDependency[Services]
