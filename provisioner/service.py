"""The provisioner's use cases: what operators, the portal and the CLI ask of it.

Lifecycle actions change the *desired* state and record why, then converge the
instance at once through the reconciler, so an action and a repair take the same path.
Replacements (updates, plan changes that cannot be applied live) go through Rollout.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, replace

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from plans import ApplicationHostingPlan, ServerHostingPlan
from provisioner.backends.base import Usage
from provisioner.backups.service import Backups
from provisioner.context import ProvisionerContext
from provisioner.errors import InvalidTransition, ProxyUnavailable, UnknownInstance
from provisioner.models import (
    DesiredState,
    Instance,
    InstanceEvent,
    InstanceState,
    SuspensionReason,
    UpdateStatus,
)
from provisioner.ports import free_port
from provisioner.proxy.custom_domains import CustomDomains
from provisioner.proxy.domains import instance_host
from provisioner.proxy.routing import ProxyRoutes
from provisioner.reconciler import Reconciler
from provisioner.replacement import Replacement, UpdateOutcome
from provisioner.repository import InstanceRepository
from provisioner.rollout import FleetReport, Rollout
from provisioner.shell import InstanceShell
from provisioner.specs import (
    apply_resources,
    hosting_plan,
    image_of,
    new_instance_id,
    workload_spec,
)

PORT_ATTEMPTS = 5

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InstanceView:
    """An instance with its recent history, for pages and the CLI."""

    instance: Instance
    events: list[InstanceEvent]
    address: str | None


class Provisioner:
    def __init__(self, ctx: ProvisionerContext) -> None:
        self.ctx = ctx
        self.reconciler = Reconciler(ctx)
        self.replacement = Replacement(ctx)
        self.rollout = Rollout(ctx)
        self.routes = ProxyRoutes(ctx)
        self.domains = CustomDomains(ctx)
        self.shell = InstanceShell(ctx)  # the SSH gateway's way in
        self.backups = Backups(ctx)

    @property
    def serves_domains(self) -> bool:
        """Whether a proxy serves instances by name here (and so customers' own names)."""
        return self.ctx.settings.proxy is not None

    def address(self, instance: Instance) -> str | None:
        """Where the instance's customer reaches it: its own name through the proxy (which
        shows a page while it is suspended), else its published port while it serves."""
        settings = self.ctx.settings
        if settings.proxy is not None:
            if instance.desired_state == DesiredState.ABSENT.value:
                return None
            return settings.proxy.origin(instance_host(instance.id, settings.base_domain)) + "/"
        return self.direct_address(instance)

    def direct_address(self, instance: Instance) -> str | None:
        """Its published port on the host, past the proxy (for operators)."""
        if instance.host_port is None:
            return None
        host = instance.host_address or self.ctx.settings.publish_address
        return f"http://{host}:{instance.host_port}/"

    async def converged(self, instance_id: str, *, force: bool = True) -> None:
        """Converge the instance now, and route to what it became (the worker's next pass
        does, should the proxy not answer)."""
        await self.reconciler.converge(instance_id, force=force)
        try:
            await self.routes.sync()
        except ProxyUnavailable as error:
            log.warning("proxy not updated after %s changed: %s", instance_id, error)

    async def provision(
        self,
        customer_ref: str,
        plan_id: str,
        plan_version: int | None = None,
        actor: str = "system",
        instance_id: str | None = None,
    ) -> Instance:
        """Record a new instance of a hosting plan and start it.

        Without a version: the newest one available now, not one announced for later.
        With ``instance_id`` (one the caller derives from what the instance is for), a
        second call for the same id, even at the same moment from another worker, returns
        the first instance rather than making another.
        """
        if instance_id is not None:
            with contextlib.suppress(UnknownInstance):
                return await self.get(instance_id)
        now = self.ctx.clock()
        catalog = self.ctx.catalog()
        chosen = (
            catalog.get(plan_id, plan_version)
            if plan_version is not None
            else catalog.current(plan_id, now.date())
        )
        plan = hosting_plan(chosen)
        image, version = image_of(plan)
        instance = Instance(
            id=instance_id or new_instance_id(),
            customer_ref=customer_ref,
            plan_id=plan.id,
            plan_version=plan.version,
            image=image,
            image_version=version,
            desired_state=DesiredState.RUNNING.value,
            state=InstanceState.PENDING.value,
            revision=1,
            health="none",
            attempts=0,
            created_at=now,
            updated_at=now,
        )
        apply_resources(instance, plan.resources)
        for attempt in range(PORT_ATTEMPTS):
            try:
                async with self.ctx.sessions() as session, session.begin():
                    repo = InstanceRepository(session)
                    instance.address_port = await free_port(session, self.ctx.settings)
                    repo.add(instance)
                    await session.flush()
                    repo.record(instance, "created", f"{plan.name} ({image}:{version})", now, actor)
                break
            except IntegrityError:
                if instance_id is not None:
                    with contextlib.suppress(UnknownInstance):
                        return await self.get(instance_id)  # another worker made it just now
                if attempt == PORT_ATTEMPTS - 1:
                    raise
                # Another worker took the same port at the same moment: choose again.
                instance = _copy_unsaved(instance)
        await self.converged(instance.id, force=False)
        return await self.get(instance.id)

    async def prepare_network(self, customer_ref: str) -> None:
        """Make the customer's network ahead of their first instance (e.g. while they pay):
        the engine makes networks one at a time, a second or more each on a busy host,
        so a first provision that makes its own waits for it and for everyone else's."""
        await self.ctx.engine(self.ctx.backend.prepare_network, customer_ref)

    async def release_network(self, customer_ref: str) -> bool:
        """Remove a prepared network that no instance came to use (an abandoned checkout);
        False, and nothing removed, while the customer has a live instance."""
        async with self.ctx.sessions() as session:
            if await InstanceRepository(session).customer_has_live_instances(customer_ref):
                return False
        await self.ctx.engine(self.ctx.backend.remove_network, customer_ref)
        return True

    async def get(self, instance_id: str, customer_ref: str | None = None) -> Instance:
        async with self.ctx.sessions() as session:
            return await InstanceRepository(session).get(instance_id, customer_ref)

    async def view(self, instance_id: str, customer_ref: str | None = None) -> InstanceView:
        async with self.ctx.sessions() as session:
            repo = InstanceRepository(session)
            instance = await repo.get(instance_id, customer_ref)
            events = await repo.events(instance_id)
        return InstanceView(instance, events, self.address(instance))

    async def views(
        self, customer_ref: str, session: AsyncSession | None = None
    ) -> list[InstanceView]:
        """Every instance of a customer with its recent events, in one query however many
        instances (the customer's dashboard asks on every load). ``session``: the caller's,
        on the same database, when it reads other things too (one connection; left open)."""
        async with self.ctx.reading(session) as reading:
            found = await InstanceRepository(reading).with_recent_events(customer_ref)
        return [
            InstanceView(instance, events, self.address(instance)) for instance, events in found
        ]

    async def find(
        self, *, customer_ref: str | None = None, plan_id: str | None = None
    ) -> list[Instance]:
        async with self.ctx.sessions() as session:
            return await InstanceRepository(session).find(
                customer_ref=customer_ref, plan_id=plan_id
            )

    async def suspend(
        self, instance_id: str, reason: SuspensionReason, note: str = "", actor: str = "system"
    ) -> Instance:
        """Stop serving, keep everything. A manual suspension outranks a billing one."""
        async with self.ctx.sessions() as session, session.begin():
            repo = InstanceRepository(session)
            instance = await self._alive(repo, instance_id)
            if instance.suspension_reason != SuspensionReason.MANUAL.value:
                instance.suspension_reason = reason.value
            instance.desired_state = DesiredState.STOPPED.value
            instance.reason = note or f"suspended ({reason.value})"
            repo.record(instance, "suspended", instance.reason, self.ctx.clock(), actor)
        await self.converged(instance_id)
        return await self.get(instance_id)

    async def resume(
        self, instance_id: str, reason: SuspensionReason, actor: str = "system"
    ) -> Instance:
        """Lift a suspension. Lifting a billing one never lifts a manual one."""
        async with self.ctx.sessions() as session, session.begin():
            repo = InstanceRepository(session)
            instance = await self._alive(repo, instance_id)
            held = instance.suspension_reason
            if held is None:
                return instance
            if held == SuspensionReason.MANUAL.value and reason is SuspensionReason.BILLING:
                repo.record(
                    instance,
                    "resume_refused",
                    "payment received, but an operator suspended this instance: it stays suspended",
                    self.ctx.clock(),
                    actor,
                )
                return instance
            instance.suspension_reason = None
            instance.reason = None
            instance.desired_state = DesiredState.RUNNING.value
            repo.record(
                instance, "resumed", f"{reason.value} suspension lifted", self.ctx.clock(), actor
            )
        await self.converged(instance_id)
        return await self.get(instance_id)

    async def restart(self, instance_id: str, actor: str = "system") -> Instance:
        async with self.ctx.sessions() as session, session.begin():
            repo = InstanceRepository(session)
            instance = await self._alive(repo, instance_id)
            if instance.workload_id is None or instance.desired_state != DesiredState.RUNNING.value:
                raise InvalidTransition(f"instance {instance_id} is not running")
            workload_id = instance.workload_id
            repo.record(instance, "restarted", "restarted", self.ctx.clock(), actor)
        await self.ctx.engine(self.ctx.backend.restart, workload_id)
        await self.converged(instance_id)
        return await self.get(instance_id)

    async def terminate(self, instance_id: str, actor: str = "system") -> Instance:
        """Stop and remove; the data volume stays for the retention period, then is purged."""
        async with self.ctx.sessions() as session, session.begin():
            repo = InstanceRepository(session)
            instance = await self._alive(repo, instance_id)
            instance.desired_state = DesiredState.ABSENT.value
            repo.record(instance, "terminating", "terminate requested", self.ctx.clock(), actor)
        await self.converged(instance_id)
        return await self.get(instance_id)

    async def update(
        self, instance_id: str, image_version: str | None = None, actor: str = "system"
    ) -> UpdateOutcome:
        """Roll one instance to an application version (default: its plan's)."""
        instance = await self.get(instance_id)
        if image_version is None:
            held = self.ctx.catalog().version_for_holder(
                instance.plan_id, instance.plan_version, self.ctx.clock().date()
            )
            image_version = image_of(hosting_plan(held))[1]
        return await self.replacement.replace(instance_id, image_version=image_version, actor=actor)

    async def update_plan(
        self,
        plan_id: str,
        image_version: str | None = None,
        *,
        max_parallel: int = 1,
        respect_window: bool = True,
        actor: str = "system",
    ) -> FleetReport:
        return await self.rollout.update_fleet(
            plan_id,
            image_version,
            max_parallel=max_parallel,
            respect_window=respect_window,
            actor=actor,
        )

    async def change_plan(
        self, instance_id: str, plan_id: str, plan_version: int | None = None, actor: str = "system"
    ) -> UpdateOutcome:
        """New limits live where the engine allows; otherwise a health-gated replacement."""
        target = hosting_plan(self.ctx.catalog().get(plan_id, plan_version))
        instance = await self.get(instance_id)
        image, version = image_of(target)
        # Same application: keep the version it runs; another image: the plan's version.
        if instance.image == image:
            version = instance.image_version
            running = instance.desired_state == DesiredState.RUNNING.value
            if running and instance.workload_id is not None:
                spec = workload_spec(instance, target, self.ctx.settings)
                spec = replace(
                    spec,
                    cpu_millis=target.resources.cpu_millis,
                    memory_mb=target.resources.memory_mb,
                    max_processes=target.resources.max_processes,
                )
                if await self.ctx.engine(
                    self.ctx.backend.update_limits, instance.workload_id, spec
                ):
                    return await self._record_live_change(instance_id, target, actor)
        return await self.replacement.replace(
            instance_id, plan=target, image_version=version, actor=actor
        )

    async def logs(self, instance_id: str, tail: int = 100, customer_ref: str | None = None) -> str:
        instance = await self.get(instance_id, customer_ref)
        if instance.workload_id is None:
            return ""
        return await self.ctx.engine(self.ctx.backend.logs, instance.workload_id, tail)

    async def usage(self, instance_id: str, customer_ref: str | None = None) -> Usage | None:
        instance = await self.get(instance_id, customer_ref)
        if instance.workload_id is None or instance.state != InstanceState.RUNNING.value:
            return None
        return await self.ctx.engine(self.ctx.backend.usage, instance.workload_id)

    async def _record_live_change(
        self, instance_id: str, plan: ApplicationHostingPlan | ServerHostingPlan, actor: str
    ) -> UpdateOutcome:
        async with self.ctx.sessions() as session, session.begin():
            repo = InstanceRepository(session)
            instance = await repo.get(instance_id)
            instance.plan_id, instance.plan_version = plan.id, plan.version
            apply_resources(instance, plan.resources)
            detail = f"now on {plan.id} v{plan.version}; limits applied live"
            repo.record(instance, "plan_changed", detail, self.ctx.clock(), actor)
        return UpdateOutcome(instance_id, UpdateStatus.SUCCEEDED, detail)

    @staticmethod
    async def _alive(repo: InstanceRepository, instance_id: str) -> Instance:
        instance = await repo.get(instance_id)
        if instance.desired_state == DesiredState.ABSENT.value:
            raise InvalidTransition(f"instance {instance_id} is terminated")
        return instance


def _copy_unsaved(instance: Instance) -> Instance:
    """The same new instance, detached from the session whose insert failed."""
    columns = Instance.__table__.columns.keys()
    return Instance(**{name: getattr(instance, name) for name in columns})
