"""Make the engine match the database, for every instance, in one pass.

Level-triggered: a pass reads the whole engine once (one label-filtered listing) and
repairs whatever drifted, whether a container was removed by hand, a worker died
half-way through provisioning, or an action never finished. Each instance is acted on
under a lease, so passes are idempotent and two workers can run them at once.
"""

from __future__ import annotations

import logging
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from provisioner.backends.base import Health, RunState, Workload
from provisioner.context import ProvisionerContext
from provisioner.drift import Action, current_and_stale, decide
from provisioner.errors import BackendError, ProvisioningError
from provisioner.health import HEALTH_RETRIES, HealthChecks, Target, target_of
from provisioner.models import DesiredState, Instance, InstanceState
from provisioner.repository import InstanceRepository
from provisioner.specs import health_path_of, hosting_plan, workload_spec

log = logging.getLogger(__name__)
FIRST_RETRY_SECONDS = 5
_ENGINE_TIME = re.compile(
    r"^(?P<base>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d+))?(?P<zone>Z|[+-]\d{2}:\d{2})?$"
)


@dataclass
class PassReport:
    instances: int = 0
    actions: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failed: list[str] = field(default_factory=list)
    busy: int = 0  # held by another worker
    waiting: int = 0  # failed, waiting for their next attempt
    orphans: list[str] = field(default_factory=list)
    orphans_removed: list[str] = field(default_factory=list)
    engine_error: str | None = None

    def count(self, action: str) -> None:
        self.actions[action] += 1


class Reconciler:
    def __init__(self, ctx: ProvisionerContext) -> None:
        self.ctx = ctx
        settings = ctx.settings
        self.health = HealthChecks(settings.publish_address, settings.health_interval_seconds)

    async def run_pass(self) -> PassReport:
        """One pass over every instance. An engine that does not answer ends the pass early
        with ``engine_error`` set; instances are left as they were, not marked failed."""
        report = PassReport()
        try:
            workloads = await self.ctx.engine(self.ctx.backend.list_workloads)
        except BackendError as error:
            report.engine_error = error.reason
            log.warning("reconciler pass skipped: %s", error.reason)
            return report
        by_instance: dict[str, list[Workload]] = defaultdict(list)
        for workload in workloads:
            by_instance[workload.instance_id].append(workload)
        async with self.ctx.sessions() as session:
            live = await InstanceRepository(session).live()
        # Every due health probe of the pass at once, before any instance is looked at.
        await self.health.probe(self._targets(live, by_instance))
        self.health.forget(workload.id for workload in workloads)
        for instance in live:
            report.instances += 1
            listed = by_instance.pop(instance.id, [])
            if self._in_sync(instance, listed):
                # Nothing to do or to record: no lease, no write (most of a large fleet).
                report.count(Action.OBSERVE.value)
                continue
            await self.converge(instance.id, listed, report)
        await self._handle_orphans(by_instance, report)
        return report

    async def converge(
        self,
        instance_id: str,
        workloads: list[Workload] | None = None,
        report: PassReport | None = None,
        *,
        force: bool = False,
    ) -> None:
        """Bring one instance to its desired state; ``force`` ignores a retry backoff."""
        report = report if report is not None else PassReport()
        now = self.ctx.clock()
        if not await self._claim(instance_id, now):
            report.busy += 1
            return
        async with self.ctx.sessions() as session:
            repo = InstanceRepository(session)
            instance = await repo.get(instance_id)
            try:
                due = instance.next_attempt_at is None or instance.next_attempt_at <= now
                if instance.state == InstanceState.FAILED and not due and not force:
                    report.waiting += 1
                    return
                listed = workloads is not None
                if workloads is None or (listed and self._would_create(instance, workloads)):
                    # The pass's listing was taken before this lease: another worker may
                    # have created or started it since. Look again before doing so twice.
                    workloads = await self._workloads_of(instance_id)
                await self._act(repo, instance, workloads, now, report)
            except ProvisioningError as error:
                self._failed(repo, instance, error, now)
                report.failed.append(instance.id)
            finally:
                instance.lease_owner = None
                instance.lease_until = None
                await session.commit()

    def _in_sync(self, instance: Instance, workloads: list[Workload]) -> bool:
        """Whether the listing shows the instance exactly as recorded, and as it should
        be: running and serving (health as last recorded), or suspended and stopped."""
        if instance.attempts or len(workloads) > 1:
            return False
        current = workloads[0] if workloads else None
        if current is not None and current.revision != instance.revision:
            return False
        desired = DesiredState(instance.desired_state)
        if desired is DesiredState.RUNNING and current is not None:
            port = current.host_port or instance.address_port
            seen = self.health.judged(current, self._health_path(instance), port)
            return (
                seen.state is RunState.RUNNING
                and seen.serving
                and instance.state == InstanceState.RUNNING.value
                and instance.health == seen.health.value
                and instance.workload_id == seen.id
                and instance.host_port == seen.host_port
                and instance.host_address == seen.host_address
            )
        if desired is DesiredState.STOPPED:
            stopped = current is None or current.state is not RunState.RUNNING
            return (
                stopped
                and instance.state == InstanceState.STOPPED.value
                and (current is None or instance.workload_id == current.id)
                and instance.host_port is None
                and instance.health == (current.health.value if current else Health.NONE.value)
            )
        return False

    def _targets(
        self, live: list[Instance], by_instance: dict[str, list[Workload]]
    ) -> list[Target]:
        """The running current revisions of instances whose plan has a health path."""
        targets = []
        for instance in live:
            current, _ = current_and_stale(by_instance.get(instance.id, []), instance.revision)
            if current is None:
                continue
            port = current.host_port or instance.address_port
            target = target_of(current, self._health_path(instance), port)
            if target is not None:
                targets.append(target)
        return targets

    def _health_path(self, instance: Instance) -> str | None:
        plan = self.ctx.catalog().get(instance.plan_id, instance.plan_version)
        return health_path_of(hosting_plan(plan))

    async def _workloads_of(self, instance_id: str) -> list[Workload]:
        found = await self.ctx.engine(self.ctx.backend.list_workloads, instance_id)
        return [workload for workload in found if workload.instance_id == instance_id]

    @staticmethod
    def _would_create(instance: Instance, workloads: list[Workload]) -> bool:
        """Whether the listing says to create or start it (rare: one more listing then)."""
        current, _ = current_and_stale(workloads, instance.revision)
        action = decide(DesiredState(instance.desired_state), current)
        return action in (Action.CREATE, Action.START)

    async def _claim(self, instance_id: str, now: datetime) -> bool:
        ttl = timedelta(seconds=self.ctx.settings.health_timeout_seconds + 60)
        async with self.ctx.sessions() as session, session.begin():
            return await InstanceRepository(session).claim(
                instance_id, self.ctx.worker_id, now, ttl
            )

    async def _act(
        self,
        repo: InstanceRepository,
        instance: Instance,
        workloads: list[Workload],
        now: datetime,
        report: PassReport,
    ) -> None:
        backend, engine = self.ctx.backend, self.ctx.engine
        current, stale = current_and_stale(workloads, instance.revision)
        for leftover in stale:
            await engine(backend.remove, leftover.id)
            repo.record(instance, "cleaned", f"removed leftover revision {leftover.revision}", now)
            report.count("remove_stale")
        desired = DesiredState(instance.desired_state)
        action = decide(desired, current)
        report.count(action.value)
        was = InstanceState(instance.state)
        if action is Action.CREATE:
            plan = hosting_plan(self.ctx.catalog().get(instance.plan_id, instance.plan_version))
            spec = workload_spec(instance, plan, self.ctx.settings)
            if was is InstanceState.RUNNING:
                repo.record(instance, "repaired", "container was missing: re-created", now)
            instance.state = InstanceState.PROVISIONING.value
            current = await engine(backend.create, spec)
        elif action is Action.START and current is not None:
            if was is InstanceState.RUNNING:
                repo.record(instance, "repaired", f"was {current.state}: started again", now)
            current = await engine(backend.start, current.id)
        elif action is Action.STOP and current is not None:
            if was is InstanceState.STOPPED:
                repo.record(instance, "repaired", "was running while suspended: stopped", now)
            await engine(backend.stop, current.id)
            current = None
        elif action is Action.REMOVE and current is not None:
            await engine(backend.remove, current.id)
            current = None
        if desired is DesiredState.ABSENT:
            await self._terminated(repo, instance, now, report)
            return
        if current is not None:
            # Probed again if due (e.g. just created or started, not yet answering).
            port = current.host_port or instance.address_port
            current = await self.health.checked(current, self._health_path(instance), port)
            if was is InstanceState.RUNNING and self.health.restart_due(current.id):
                current = await self._restart_unhealthy(repo, instance, current, now, report)
        self._observe(repo, instance, current, desired, now)

    async def _restart_unhealthy(
        self,
        repo: InstanceRepository,
        instance: Instance,
        current: Workload,
        now: datetime,
        report: PassReport,
    ) -> Workload:
        """A serving instance that stopped answering its health path is restarted, with
        a back-off while it never answers (provisioner.health)."""
        path = self._health_path(instance)
        restarted = await self.ctx.engine(self.ctx.backend.restart, current.id)
        count = self.health.restarted(restarted.id)
        repo.record(
            instance,
            "restarted",
            f"{path} did not answer {HEALTH_RETRIES} times in a row: restarted"
            + (f" ({count} restarts without an answer)" if count > 1 else ""),
            now,
        )
        report.count("restart_unhealthy")
        return self.health.judged(restarted, path, restarted.host_port or instance.address_port)

    def _observe(
        self,
        repo: InstanceRepository,
        instance: Instance,
        workload: Workload | None,
        desired: DesiredState,
        now: datetime,
    ) -> None:
        was = InstanceState(instance.state)
        running = workload is not None and workload.state is RunState.RUNNING
        instance.workload_id = workload.id if workload else instance.workload_id
        instance.host_port = workload.host_port if running and workload else None
        instance.host_address = workload.host_address if running and workload else None
        instance.health = workload.health.value if workload else Health.NONE.value
        if desired is DesiredState.STOPPED:
            new = InstanceState.STOPPED
        elif workload is not None and workload.serving:
            new = InstanceState.RUNNING
        elif (
            workload is not None
            and workload.health is Health.UNHEALTHY
            and (was in (InstanceState.PROVISIONING, InstanceState.PENDING))
        ):
            raise BackendError(f"{workload.image} started but its health check fails")
        elif was is InstanceState.RUNNING:
            new = InstanceState.RUNNING  # running, health visible: unhealthy or starting
        else:
            new = InstanceState.PROVISIONING
        if instance.attempts:
            repo.record(instance, "recovered", f"recovered after {instance.attempts} failures", now)
            instance.attempts = 0
            instance.next_attempt_at = None
        if new is not was:
            instance.state = new.value
            if new is InstanceState.RUNNING:
                instance.reason = None if instance.suspension_reason is None else instance.reason
                repo.record(instance, "running", f"serving on port {instance.host_port}", now)
        instance.updated_at = now

    async def _terminated(
        self, repo: InstanceRepository, instance: Instance, now: datetime, report: PassReport
    ) -> None:
        settings, backend = self.ctx.settings, self.ctx.backend
        if instance.state != InstanceState.TERMINATED.value:
            instance.state = InstanceState.TERMINATED.value
            instance.terminated_at = instance.terminated_at or now
            keep = timedelta(days=settings.volume_retention_days)
            instance.purge_after = instance.terminated_at + keep
            instance.workload_id = None
            instance.host_port = instance.host_address = None
            instance.address_port = None  # free for another instance
            repo.record(
                instance,
                "terminated",
                f"removed; data kept until {instance.purge_after:%Y-%m-%d}",
                now,
            )
        if instance.purge_after is not None and instance.purge_after <= now:
            removed = await self.ctx.engine(backend.remove_volumes, instance.id)
            instance.state = InstanceState.PURGED.value
            repo.record(instance, "purged", f"retention ended: {removed} data volumes removed", now)
            report.count("purge")
            await repo.session.flush()
            if not await repo.customer_has_live_instances(instance.customer_ref):
                await self.ctx.engine(backend.remove_network, instance.customer_ref)
        instance.updated_at = now

    def _failed(
        self, repo: InstanceRepository, instance: Instance, error: ProvisioningError, now: datetime
    ) -> None:
        reason = error.reason if isinstance(error, BackendError) else str(error)
        instance.attempts += 1
        delay = min(
            self.ctx.settings.max_backoff_seconds,
            FIRST_RETRY_SECONDS * 2 ** (instance.attempts - 1),
        )
        # Jitter spreads the retries of many instances that failed together (engine down).
        delay *= random.uniform(0.8, 1.2)  # noqa: S311 - not cryptographic
        instance.next_attempt_at = now + timedelta(seconds=delay)
        instance.state = InstanceState.FAILED.value
        instance.reason = reason
        instance.updated_at = now
        repo.record(
            instance,
            "failed",
            f"{reason} (attempt {instance.attempts}; next at {instance.next_attempt_at:%H:%M:%S})",
            now,
        )
        log.warning("instance %s failed: %s", instance.id, reason)

    async def _handle_orphans(
        self, leftovers: dict[str, list[Workload]], report: PassReport
    ) -> None:
        """Workloads with Dockyard's labels but no live instance: reported, removed after grace."""
        grace = timedelta(seconds=self.ctx.settings.orphan_grace_seconds)
        now = self.ctx.clock()
        for instance_id, workloads in leftovers.items():
            for workload in workloads:
                report.orphans.append(workload.name)
                log.warning("orphan workload %s (instance %s)", workload.name, instance_id)
                if parse_engine_time(workload.created_at) + grace > now:
                    continue
                try:
                    await self.ctx.engine(self.ctx.backend.remove, workload.id)
                except BackendError as error:  # e.g. another worker is removing it too
                    log.warning("orphan %s not removed: %s", workload.name, error.reason)
                    continue
                report.orphans_removed.append(workload.name)


def parse_engine_time(text: str) -> datetime:
    """Docker gives RFC 3339 with nanoseconds (inspect) or Unix seconds (listings)."""
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC)
    match = _ENGINE_TIME.match(text)
    if match is None:
        raise ValueError(f"unreadable engine timestamp {text!r}")
    zone = match["zone"] or "Z"
    fraction = (match["fraction"] or "0")[:6]  # Python keeps microseconds
    return datetime.fromisoformat(f"{match['base']}.{fraction}{'+00:00' if zone == 'Z' else zone}")
