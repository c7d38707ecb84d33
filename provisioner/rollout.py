"""A rollout: every running instance of a plan moved to a version, N at a time, each in
its maintenance window, each by a health-gated replacement (replacement.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from plans import ApplicationHostingPlan
from provisioner.context import ProvisionerContext
from provisioner.models import Instance, InstanceState, UpdateStatus
from provisioner.replacement import Replacement, UpdateOutcome
from provisioner.repository import InstanceRepository
from provisioner.specs import hosting_plan, image_of


@dataclass
class FleetReport:
    # The instances to roll, known before the first starts: with updated and failed it
    # tells a watcher what remains.
    due: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    failed: list[UpdateOutcome] = field(default_factory=list)
    outside_window: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


class Rollout:
    def __init__(self, ctx: ProvisionerContext) -> None:
        self.ctx = ctx
        self.replacement = Replacement(ctx)

    async def update_fleet(
        self,
        plan_id: str,
        image_version: str | None = None,
        *,
        max_parallel: int = 1,
        respect_window: bool = True,
        actor: str = "system",
        report: FleetReport | None = None,
    ) -> FleetReport:
        """Roll every running instance of a plan to a version, N at a time, in its window.

        Pass ``report`` to watch progress: it is filled in as each instance finishes.
        """
        ctx = self.ctx
        catalog = ctx.catalog()
        newest = hosting_plan(catalog.get(plan_id))
        target = image_version or image_of(newest)[1]
        report = report if report is not None else FleetReport()
        async with ctx.sessions() as session:
            instances = await InstanceRepository(session).find(
                plan_id=plan_id, states=[InstanceState.RUNNING]
            )
        due: list[Instance] = []
        now = ctx.clock()
        for instance in instances:
            held = catalog.get(plan_id, instance.plan_version)
            if instance.image_version == target:
                report.unchanged.append(instance.id)
            elif (
                respect_window
                and isinstance(held, ApplicationHostingPlan)
                and not held.maintenance.is_open(now)
            ):
                report.outside_window.append(instance.id)
            else:
                due.append(instance)
        report.due.extend(instance.id for instance in due)
        limit = asyncio.Semaphore(max(1, max_parallel))

        async def one(instance: Instance) -> None:
            async with limit:
                outcome = await self.replacement.replace(
                    instance.id, image_version=target, actor=actor
                )
            if outcome.status is UpdateStatus.FAILED:
                report.failed.append(outcome)
            else:
                report.updated.append(instance.id)

        await asyncio.gather(*(one(instance) for instance in due))
        return report
