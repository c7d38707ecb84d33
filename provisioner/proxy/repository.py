"""The queries of the ``instance_domains`` table."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from provisioner.models import DesiredState, Instance, InstanceDomain


class DomainRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, instance_id: str, domain: str, at: datetime) -> None:
        self.session.add(InstanceDomain(domain=domain, instance_id=instance_id, created_at=at))

    async def remove(self, instance_id: str, domain: str) -> bool:
        result = await self.session.execute(
            delete(InstanceDomain).where(
                InstanceDomain.instance_id == instance_id, InstanceDomain.domain == domain
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def of_instance(self, instance_id: str) -> list[str]:
        query = (
            select(InstanceDomain.domain)
            .where(InstanceDomain.instance_id == instance_id)
            .order_by(InstanceDomain.created_at, InstanceDomain.domain)
        )
        return list(await self.session.scalars(query))

    async def count_of(self, instance_id: str) -> int:
        query = select(func.count()).where(InstanceDomain.instance_id == instance_id)
        return int(await self.session.scalar(query) or 0)

    async def owner(self, domain: str) -> str | None:
        """The instance the name is attached to, if any."""
        query = select(InstanceDomain.instance_id).where(InstanceDomain.domain == domain)
        return await self.session.scalar(query)

    async def by_instance(self) -> dict[str, list[str]]:
        """Every attached name, by instance, for the proxy's routes."""
        rows = await self.session.execute(
            select(InstanceDomain.instance_id, InstanceDomain.domain).order_by(
                InstanceDomain.instance_id, InstanceDomain.domain
            )
        )
        found: dict[str, list[str]] = defaultdict(list)
        for instance_id, domain in rows:
            found[instance_id].append(domain)
        return dict(found)

    async def served(self, domain: str) -> bool:
        """Whether the name is attached to an instance that is not terminated."""
        query = (
            select(InstanceDomain.domain)
            .join(Instance, Instance.id == InstanceDomain.instance_id)
            .where(
                InstanceDomain.domain == domain,
                Instance.desired_state != DesiredState.ABSENT.value,
            )
        )
        return (await self.session.scalar(query)) is not None
