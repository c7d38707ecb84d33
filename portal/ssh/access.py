"""Who may log in where: ``ssh <instance>@host`` with a key its owner added, while the
instance is a server-hosting one that runs.

Every refusal (an unknown instance, someone else's, a key nobody added, a suspended or
stopped or terminated server, an application-hosting instance) is the same ``None``,
reached by the same two reads, so the answer tells a stranger nothing about which
instances exist. The reason is logged for operators.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from plans import Catalog, CatalogError, PlanKind
from portal.ssh.repository import SshKeyRepository
from provisioner import DesiredState, Instance, InstanceState, instance_or_none

log = logging.getLogger(__name__)

MAX_USERNAME = 64  # longer than any instance id; the lookup never sees more


@dataclass(frozen=True, slots=True)
class Grant:
    """A login allowed: into this instance, as its owner."""

    instance_id: str
    customer_id: str


class Gatekeeper:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], catalog: Callable[[], Catalog]
    ) -> None:
        self.sessions = sessions
        self.catalog = catalog

    async def admit(self, username: str, fingerprint: str) -> Grant | None:
        instance_id = username[:MAX_USERNAME]
        async with self.sessions() as session:
            owners = await SshKeyRepository(session).owners_of(fingerprint)
            instance = await instance_or_none(session, instance_id)
        refusal = self._refusal(instance, owners)
        if refusal is not None or instance is None:
            log.info("ssh: %r refused for key %s: %s", instance_id, fingerprint, refusal)
            return None
        return Grant(instance.id, instance.customer_ref)

    def _refusal(self, instance: Instance | None, owners: set[str]) -> str | None:
        if instance is None:
            return "no such instance"
        if instance.customer_ref not in owners:
            return "not a key of the instance's owner"
        if not self._server_hosting(instance):
            return "not a server-hosting instance"
        running = instance.state == InstanceState.RUNNING.value
        if not running or instance.desired_state != DesiredState.RUNNING.value:
            return f"the instance is {instance.state} (should be {instance.desired_state})"
        return None

    def _server_hosting(self, instance: Instance) -> bool:
        try:
            plan = self.catalog().get(instance.plan_id, instance.plan_version)
        except (CatalogError, LookupError):
            return False
        return plan.kind is PlanKind.SERVER_HOSTING
