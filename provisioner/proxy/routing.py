"""The proxy's routes, derived from the instances, and kept loaded in Caddy.

Every instance that is not terminated answers at ``<instance>.<base domain>`` and at its
customer's own names: a serving one through to its workload, a suspended one with a page
saying why, one being (re)started with a page saying so. ``sync`` compares that with what
Caddy runs and loads it when they differ: one ``GET`` when nothing changed.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from provisioner.context import ProvisionerContext
from provisioner.models import DesiredState
from provisioner.proxy.caddy import CaddyAdmin
from provisioner.proxy.config import Route, caddy_config
from provisioner.proxy.domains import instance_host, instance_of_host
from provisioner.proxy.pages import starting_page, suspended_page
from provisioner.proxy.repository import DomainRepository
from provisioner.proxy.settings import ProxySettings
from provisioner.repository import InstanceRepository

# One sync at a time per process (the web process's updates and its in-process worker):
# each reads the instances and loads what it read, so two interleaved could load the older.
_SYNC_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _sync_lock() -> asyncio.Lock:
    return _SYNC_LOCKS.setdefault(asyncio.get_running_loop(), asyncio.Lock())


class ProxyRoutes:
    def __init__(self, ctx: ProvisionerContext) -> None:
        self.ctx = ctx

    @property
    def settings(self) -> ProxySettings | None:
        return self.ctx.settings.proxy

    async def routes(self, session: AsyncSession | None = None) -> list[Route]:
        settings = self.ctx.settings
        proxy = settings.proxy
        portal = proxy.portal_url if proxy else ""
        async with self.ctx.reading(session) as reading:
            rows = await InstanceRepository(reading).routable()
            domains = await DomainRepository(reading).by_instance()
        routes = []
        for instance_id, desired, port, node, suspension in rows:
            hosts = (
                instance_host(instance_id, settings.base_domain),
                *domains.get(instance_id, ()),
            )
            if desired == DesiredState.STOPPED.value:
                page = suspended_page(instance_id, suspension, portal)
                routes.append(Route(instance_id, hosts, status=503, page=page))
            elif port is None:
                routes.append(
                    Route(instance_id, hosts, status=503, page=starting_page(instance_id))
                )
            else:
                upstream = f"{node or settings.publish_address}:{port}"
                routes.append(Route(instance_id, hosts, upstream=upstream))
        return routes

    async def config(self) -> dict[str, Any] | None:
        """The whole configuration Caddy should run; None when there is no proxy."""
        if self.settings is None:
            return None
        admin = CaddyAdmin(self.settings.admin_url)
        return caddy_config(await self.routes(), self.settings, admin.listen)

    async def sync(self) -> bool:
        """Load the routes into the proxy if it runs anything else. True: it loaded.

        Raises ProxyUnavailable when Caddy does not answer or refuses the configuration."""
        if self.settings is None:
            return False
        admin = CaddyAdmin(self.settings.admin_url)
        async with _sync_lock():
            wanted = await self.config()
            if wanted is None or await admin.current() == wanted:
                return False
            await admin.load(wanted)
            return True


async def may_serve(session: AsyncSession, name: str, base_domain: str) -> bool:
    """Whether the proxy may get a certificate for ``name`` (Caddy's on-demand ``ask``):
    only an instance's own name or a name attached to it, while it is not terminated.
    Needs the database only, so it answers while the engine is down."""
    name = name.strip().rstrip(".").lower()
    instance_id = instance_of_host(name, base_domain)
    if instance_id is None:
        return await DomainRepository(session).served(name)
    try:
        instance = await InstanceRepository(session).get(instance_id)
    except LookupError:
        return False
    return instance.desired_state != DesiredState.ABSENT.value


async def routes_loaded(settings: ProxySettings) -> int:
    """How many routes the proxy runs now (its readiness). Raises ProxyUnavailable."""
    config = await CaddyAdmin(settings.admin_url).current() or {}
    servers = config.get("apps", {}).get("http", {}).get("servers", {})
    return len(servers.get("https", {}).get("routes", []))
