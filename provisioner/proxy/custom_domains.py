"""A customer's own names for an instance: attach, list, remove.

The row is the truth; the proxy is told at once when it answers, and by the worker's
next pass otherwise, so a proxy that is down loses nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from provisioner.context import ProvisionerContext
from provisioner.errors import InvalidDomain, ProxyUnavailable
from provisioner.models import DesiredState
from provisioner.proxy.domains import MAX_DOMAINS_PER_INSTANCE, instance_host, normalised_domain
from provisioner.proxy.repository import DomainRepository
from provisioner.proxy.routing import ProxyRoutes
from provisioner.repository import InstanceRepository

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DnsRecord:
    """What the customer creates at their DNS provider for a name to reach the instance."""

    name: str
    kind: str
    value: str
    address: str  # where the name then serves the instance


class CustomDomains:
    def __init__(self, ctx: ProvisionerContext) -> None:
        self.ctx = ctx

    def dns_record(self, instance_id: str, domain: str) -> DnsRecord:
        settings = self.ctx.settings
        target = instance_host(instance_id, settings.base_domain)
        address = settings.proxy.origin(domain) + "/" if settings.proxy else f"https://{domain}/"
        return DnsRecord(name=domain, kind="CNAME", value=target + ".", address=address)

    async def of(self, instance_id: str, customer_ref: str | None = None) -> list[str]:
        async with self.ctx.sessions() as session:
            await InstanceRepository(session).get(instance_id, customer_ref)
            return await DomainRepository(session).of_instance(instance_id)

    async def attach(
        self, instance_id: str, raw: str, customer_ref: str | None = None, actor: str = "system"
    ) -> str:
        """Attach a name (UnknownInstance, or InvalidDomain saying why not)."""
        domain = normalised_domain(raw, self.ctx.settings.base_domain)
        now = self.ctx.clock()
        async with self.ctx.sessions() as session:
            instances, domains = InstanceRepository(session), DomainRepository(session)
            instance = await instances.get(instance_id, customer_ref)
            if instance.desired_state == DesiredState.ABSENT.value:
                raise InvalidDomain(domain, "the instance has ended")
            owner = await domains.owner(domain)
            if owner == instance_id:
                raise InvalidDomain(domain, "it is already attached to this instance")
            if owner is not None:
                raise InvalidDomain(domain, "it is attached to another instance")
            if await domains.count_of(instance_id) >= MAX_DOMAINS_PER_INSTANCE:
                raise InvalidDomain(
                    domain, f"an instance has at most {MAX_DOMAINS_PER_INSTANCE} domains"
                )
            domains.add(instance_id, domain, now)
            instances.record(instance, "domain_added", f"serving {domain}", now, actor)
            try:
                await session.commit()
            except IntegrityError:  # attached elsewhere in the meantime
                raise InvalidDomain(domain, "it is attached to another instance") from None
        await self._tell_proxy()
        return domain

    async def detach(
        self, instance_id: str, domain: str, customer_ref: str | None = None, actor: str = "system"
    ) -> bool:
        now = self.ctx.clock()
        async with self.ctx.sessions() as session:
            instances = InstanceRepository(session)
            instance = await instances.get(instance_id, customer_ref)
            removed = await DomainRepository(session).remove(instance_id, domain)
            if removed:
                instances.record(
                    instance, "domain_removed", f"no longer serving {domain}", now, actor
                )
            await session.commit()
        if removed:
            await self._tell_proxy()
        return removed

    async def _tell_proxy(self) -> None:
        try:
            await ProxyRoutes(self.ctx).sync()
        except ProxyUnavailable as error:  # the worker's next pass loads it
            log.warning("proxy not updated now: %s", error)
