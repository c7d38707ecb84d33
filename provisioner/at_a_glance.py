"""The fleet at a glance: the counts and lists the operator pages and /metrics show,
read in the caller's session. The portal reads these here rather than reaching into
the repository."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from provisioner.errors import UnknownInstance
from provisioner.models import Instance
from provisioner.repository import InstanceRepository


async def instance_counts(session: AsyncSession) -> dict[str, int]:
    """How many instances are in each state (states with none are absent)."""
    return await InstanceRepository(session).count_by_state()


async def instances(session: AsyncSession, customer_ref: str | None = None) -> list[Instance]:
    """Every instance (or a customer's), oldest first."""
    return await InstanceRepository(session).find(customer_ref=customer_ref)


async def instance_or_none(session: AsyncSession, instance_id: str) -> Instance | None:
    """One instance by id, or None: a read that needs no engine (the SSH gateway's login)."""
    try:
        return await InstanceRepository(session).get(instance_id)
    except UnknownInstance:
        return None
