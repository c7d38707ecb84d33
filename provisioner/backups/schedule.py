"""Scheduled backups and the end of a terminated instance's backups, one worker step.

Each tick asks the database one question (``BackupRepository.schedule_rows``): which
instances exist, when their last scheduled backup started, and which purged instances
still have backups. Nothing due: nothing else happens. At most ``MAX_PER_TICK`` backups
are taken in one tick (each reads all of an instance's data), the rest in the next ones.

A plan's schedule is in UTC: ``daily_at`` is due once the day's time has passed and no
scheduled backup started since; ``every_hours`` once that long has passed since the
last. A new instance is due at once. A failed attempt counts as the slot's backup (its
failure is in the instance's events); the next slot tries again. An instance busy with
an update or a restore is not waited for: the next tick takes its backup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from plans.model import BackupPolicy
from provisioner.backups import taking
from provisioner.backups.repository import BackupRepository
from provisioner.errors import BackupBusy, BackupError
from provisioner.models import BackupKind, Instance, InstanceState

if TYPE_CHECKING:
    from provisioner.backups.service import Backups

MAX_PER_TICK = 3


@dataclass
class ScheduleReport:
    taken: list[str] = field(default_factory=list)  # backup ids
    failed: dict[str, str] = field(default_factory=dict)  # instance id: why
    purged: int = 0  # backups removed with their purged instance's data
    deferred: int = 0  # due, left for the next tick

    def __str__(self) -> str:
        return (
            f"{len(self.taken)} taken, {len(self.failed)} failed, {self.deferred} deferred, "
            f"{self.purged} purged"
        )


def is_due(policy: BackupPolicy, last: datetime | None, now: datetime) -> bool:
    if last is None:
        return True
    if policy.every_hours is not None:
        return now >= last + timedelta(hours=policy.every_hours)
    assert policy.daily_at is not None
    slot = datetime.combine(now.date(), policy.daily_at, tzinfo=now.tzinfo)
    if slot > now:
        slot -= timedelta(days=1)
    return last < slot


async def run_due(backups: Backups) -> ScheduleReport:
    ctx = backups.ctx
    report = ScheduleReport()
    now = ctx.clock()
    async with ctx.sessions() as session:
        rows = await BackupRepository(session).schedule_rows()
    for instance_id, state, plan_id, plan_version, last in rows:
        if state == InstanceState.PURGED.value:
            report.purged += await taking.drop_all(ctx, backups.storage, instance_id)
            continue
        holder = Instance(id=instance_id, plan_id=plan_id, plan_version=plan_version)
        if not is_due(taking.policy_of(ctx, holder), last, now):
            continue
        if len(report.taken) + len(report.failed) >= MAX_PER_TICK:
            report.deferred += 1
            continue
        try:
            backup = await backups.take(
                instance_id, BackupKind.SCHEDULED, actor="schedule", wait_seconds=0
            )
        except BackupBusy:  # an update or a restore has it now: the next tick takes it
            report.deferred += 1
        except BackupError as error:
            report.failed[instance_id] = str(error)
        else:
            report.taken.append(backup.id)
    return report
