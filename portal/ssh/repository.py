"""Every query on ``ssh_keys``."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.ssh.models import SshKey


class SshKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_customer(self, customer_id: str) -> list[SshKey]:
        found = await self.session.scalars(
            select(SshKey).where(SshKey.customer_id == customer_id).order_by(SshKey.created_at)
        )
        return list(found)

    async def holds(self, customer_id: str, fingerprint: str) -> bool:
        found = await self.session.scalar(
            select(SshKey.id).where(
                SshKey.customer_id == customer_id, SshKey.fingerprint == fingerprint
            )
        )
        return found is not None

    async def owners_of(self, fingerprint: str) -> set[str]:
        """The customers who added this key (the gateway's question at login)."""
        found = await self.session.scalars(
            select(SshKey.customer_id).where(SshKey.fingerprint == fingerprint)
        )
        return set(found)

    def add(self, key: SshKey) -> None:
        self.session.add(key)

    async def remove(self, customer_id: str, key_id: str) -> bool:
        done = await self.session.execute(
            delete(SshKey).where(SshKey.id == key_id, SshKey.customer_id == customer_id)
        )
        return bool(getattr(done, "rowcount", 0))
