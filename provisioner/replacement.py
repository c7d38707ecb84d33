"""Health-gated replacement: updates and plan changes that cannot be applied live.

The instance's data is backed up first (provisioner.backups.updates). The next revision
starts beside the current one, at a free port; only when it passes its health check does
it take over. If it fails, the old revision never stopped serving: the new one is
removed, the data is restored if the new one changed it, the update is marked failed
with the reason, and the image stays on the engine for a manual roll back.

Taking over: an instance's address is its own host port, which one revision at a time
can publish. So the tried revision goes, the old one stops, and the new revision starts
at the instance's port; should it not serve there, the old one starts again. The address
never changes; without the reverse proxy it is unreachable for the moment the swap takes.
Behind the proxy there is no such moment: it routes to the tried revision while the swap
happens (``_take_over_behind_proxy``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace
from datetime import timedelta

from plans import ApplicationHostingPlan, ServerHostingPlan
from provisioner.backends.base import Workload, WorkloadSpec
from provisioner.backups.updates import UpdateData
from provisioner.context import ProvisionerContext
from provisioner.errors import BackendError, InvalidTransition, ProxyUnavailable
from provisioner.models import DesiredState, Instance, UpdateStatus
from provisioner.ports import trial_port
from provisioner.proxy.routing import ProxyRoutes
from provisioner.repository import InstanceRepository
from provisioner.specs import apply_resources, hosting_plan, image_of, workload_spec
from provisioner.starting import start_and_wait

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25
# After the proxy switches, requests already sent to the revision it left finish before
# that revision stops (Caddy loads the new routes at once; those requests were underway).
DRAIN_SECONDS = 1.0
# How long an update waits for another holder's lease on its instance before giving up.
LEASE_WAIT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class UpdateOutcome:
    instance_id: str
    status: UpdateStatus | None  # None: nothing to do, or deferred until the instance runs
    detail: str


class Replacement:
    """One instance moved to another version or plan, health-gated (the module's docstring)."""

    def __init__(self, ctx: ProvisionerContext) -> None:
        self.ctx = ctx
        self.data = UpdateData(ctx)  # backed up before, restored if a failure changed it

    async def replace(
        self,
        instance_id: str,
        *,
        image_version: str | None = None,
        plan: ApplicationHostingPlan | ServerHostingPlan | None = None,
        actor: str = "system",
    ) -> UpdateOutcome:
        """Move a running instance to another image version and/or plan, health-gated."""
        ctx = self.ctx
        await self._until_free(instance_id)
        now = ctx.clock()
        async with ctx.sessions() as session, session.begin():
            repo = InstanceRepository(session)
            ttl = timedelta(seconds=ctx.settings.health_timeout_seconds + 60)
            if not await repo.claim(instance_id, ctx.worker_id, now, ttl):
                raise InvalidTransition(f"instance {instance_id} is busy with another action")
            instance = await repo.get(instance_id)
            target_plan = plan or hosting_plan(
                ctx.catalog().get(instance.plan_id, instance.plan_version)
            )
            target_version = image_version or instance.image_version
            if instance.desired_state != DesiredState.RUNNING.value or instance.workload_id is None:
                # Not running: record the target; the next start creates it directly.
                _retarget(instance, target_plan, target_version)
                instance.lease_owner = instance.lease_until = None
                detail = f"not running: will start on {instance.image}:{target_version}"
                repo.record(instance, "update_deferred", detail, now, actor)
                return UpdateOutcome(instance_id, None, detail)
            old_version, old_workload = instance.image_version, instance.workload_id
            staged = _staged(instance, target_plan, target_version)
            spec = workload_spec(
                staged,
                target_plan,
                ctx.settings,
                revision=instance.revision + 1,
                image_version=target_version,
            )
            instance.update_status = UpdateStatus.ROLLING.value
            instance.update_detail = f"{old_version} -> {target_version}"
            repo.record(instance, "update_started", f"rolling {spec.image}", now, actor)
        safety = await self.data.before(instance_id, actor)
        new, failure = None, safety.failure
        if failure is None:
            trial = replace(spec, host_port=trial_port(ctx.settings.publish_address))
            new, failure = await self._start_and_wait(trial)
        if failure is None and new is not None and spec.host_port is not None:
            if ctx.settings.proxy is not None:
                new, failure = await self._take_over_behind_proxy(old_workload, new, spec)
            else:
                new, failure = await self._take_over(old_workload, new, spec)
        # A failed version may have changed the data it shared with the old one.
        if failure is not None:
            data = await self.data.after_failure(instance_id, safety, actor)
        async with ctx.sessions() as session:
            repo = InstanceRepository(session)
            instance = await repo.get(instance_id)
            now = ctx.clock()
            if failure is None and new is not None:
                _retarget(instance, target_plan, target_version)
                if old_version != target_version:
                    instance.previous_image_version = old_version
                instance.revision = new.revision
                instance.workload_id = new.id
                instance.host_port = new.host_port
                instance.host_address = new.host_address
                instance.health = new.health.value
                instance.update_status = UpdateStatus.SUCCEEDED.value
                detail = f"now serving {spec.image} (was {instance.image}:{old_version})"
                instance.update_detail = detail
                repo.record(instance, "update_succeeded", detail, now, actor)
            else:
                instance.update_status = UpdateStatus.FAILED.value
                detail = (
                    f"{spec.image} {failure}; {instance.image}:{old_version} keeps serving, "
                    f"{data}. Once the cause is fixed, retry with: "
                    f"dockyard instances update {instance_id} --version {target_version}"
                )
                instance.update_detail = detail
                repo.record(instance, "update_failed", detail, now, actor)
            instance.lease_owner = instance.lease_until = None
            instance.updated_at = now
            await session.commit()
        # The loser of the two revisions goes; if this fails the reconciler removes it later.
        loser = old_workload if failure is None else (new.id if new else None)
        if loser is not None:
            with contextlib.suppress(BackendError):
                await ctx.engine(ctx.backend.remove, loser)
        status = UpdateStatus.SUCCEEDED if failure is None else UpdateStatus.FAILED
        return UpdateOutcome(instance_id, status, detail)

    async def _until_free(self, instance_id: str) -> None:
        """Take the instance's lease, waiting (up to ``LEASE_WAIT_SECONDS``) while another
        holder's runs: a worker's pass over one instance takes moments, and a rollout that
        gave up on meeting one would fail for nothing. The update's own transaction then
        re-enters the lease (it is re-entrant for its holder)."""
        ctx = self.ctx
        ttl = timedelta(seconds=ctx.settings.health_timeout_seconds + 60)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LEASE_WAIT_SECONDS
        while loop.time() < deadline:
            async with ctx.sessions() as session, session.begin():
                repo = InstanceRepository(session)
                await repo.get(instance_id)  # UnknownInstance at once, not after the wait
                if await repo.claim(instance_id, ctx.worker_id, ctx.clock(), ttl):
                    return
            await asyncio.sleep(POLL_SECONDS)

    async def _take_over(
        self, old_id: str, tried: Workload, spec: WorkloadSpec
    ) -> tuple[Workload | None, str | None]:
        """Move the instance's own port from the old revision to the tried one (see the
        module's docstring); on failure the old revision serves again."""
        ctx = self.ctx
        try:
            await ctx.engine(ctx.backend.remove, tried.id)
            await ctx.engine(ctx.backend.stop, old_id)
        except BackendError as error:
            failure = f"passed its health check, but the switch failed: {error.reason}"
        else:
            new, failure_here = await self._start_and_wait(spec, proven=True)
            if failure_here is None:
                return new, None
            failure = f"passed its health check, then {failure_here} at its own port"
            if new is not None:
                with contextlib.suppress(BackendError):
                    await ctx.engine(ctx.backend.remove, new.id)
        with contextlib.suppress(BackendError):  # the reconciler starts it otherwise
            await ctx.engine(ctx.backend.start, old_id)
        return None, failure

    async def _take_over_behind_proxy(
        self, old_id: str, tried: Workload, spec: WorkloadSpec
    ) -> tuple[Workload | None, str | None]:
        """As ``_take_over``, with no moment unserved: the proxy routes to the tried revision
        before the old one stops, and to the new one at the instance's port only once it
        serves there; then the tried one goes. Should the proxy not answer, the swap
        happens as without one."""
        ctx = self.ctx
        own_port = spec.host_port
        await self._route_to(spec.instance_id, tried.host_port, tried.host_address)
        await asyncio.sleep(DRAIN_SECONDS)
        try:
            await ctx.engine(ctx.backend.stop, old_id)
        except BackendError as error:
            old = await _inspected(ctx, old_id)
            await self._route_to(spec.instance_id, own_port, old.host_address if old else None)
            with contextlib.suppress(BackendError):
                await ctx.engine(ctx.backend.remove, tried.id)
            return None, f"passed its health check, but the switch failed: {error.reason}"
        # The next revision number: the tried one still holds this revision's name.
        final = replace(spec, revision=spec.revision + 1)
        new, failure_here = await self._start_and_wait(final, proven=True)
        serving = new
        if failure_here is not None:
            if new is not None:
                with contextlib.suppress(BackendError):
                    await ctx.engine(ctx.backend.remove, new.id)
            serving = None
            with contextlib.suppress(BackendError):  # the reconciler starts it otherwise
                serving = await ctx.engine(ctx.backend.start, old_id)
        await self._route_to(spec.instance_id, own_port, serving.host_address if serving else None)
        await asyncio.sleep(DRAIN_SECONDS)
        with contextlib.suppress(BackendError):  # else the reconciler removes it later
            await ctx.engine(ctx.backend.remove, tried.id)
        if failure_here is not None:
            return None, f"passed its health check, then {failure_here} at its own port"
        return new, None

    async def _route_to(self, instance_id: str, port: int | None, address: str | None) -> None:
        """Point the instance's address at ``port`` (on ``address``, the node, when not
        this host) now, if the proxy answers. The row is what routes derive from, so the
        worker's own syncs agree."""
        async with self.ctx.sessions() as session, session.begin():
            instance = await InstanceRepository(session).get(instance_id)
            instance.host_port, instance.host_address = port, address
        try:
            await ProxyRoutes(self.ctx).sync()
        except ProxyUnavailable as error:
            log.warning("update of %s: the proxy was not switched: %s", instance_id, error)

    async def _start_and_wait(
        self, spec: WorkloadSpec, *, proven: bool = False
    ) -> tuple[Workload | None, str | None]:
        return await start_and_wait(self.ctx, spec, proven=proven)


async def _inspected(ctx: ProvisionerContext, workload_id: str) -> Workload | None:
    try:
        return await ctx.engine(ctx.backend.inspect, workload_id)
    except BackendError:
        return None


def _retarget(
    instance: Instance, plan: ApplicationHostingPlan | ServerHostingPlan, version: str
) -> None:
    instance.plan_id, instance.plan_version = plan.id, plan.version
    instance.image = image_of(plan)[0]
    instance.image_version = version
    apply_resources(instance, plan.resources)


def _staged(
    instance: Instance, plan: ApplicationHostingPlan | ServerHostingPlan, version: str
) -> Instance:
    """A detached copy carrying the target values, to build the next revision's spec."""
    copy = Instance(
        id=instance.id,
        customer_ref=instance.customer_ref,
        revision=instance.revision,
        address_port=instance.address_port,
    )
    _retarget(copy, plan, version)
    return copy
