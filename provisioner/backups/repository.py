"""Every query about the ``backups`` table."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from provisioner.errors import UnknownBackup
from provisioner.models import Backup, BackupStatus, Instance, InstanceState

# Instances whose data is backed up on schedule: running or suspended (a failed one may
# not have its volumes yet; it is backed up once it runs again).
SCHEDULED_STATES = (InstanceState.RUNNING.value, InstanceState.STOPPED.value)


class ScheduleRow(NamedTuple):
    instance_id: str
    state: str
    plan_id: str
    plan_version: int
    last_scheduled: datetime | None


class BackupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, backup: Backup) -> None:
        self.session.add(backup)

    async def get(
        self, backup_id: str, instance_id: str | None = None, customer_ref: str | None = None
    ) -> Backup:
        """One backup; with ``instance_id`` / ``customer_ref``, only of that instance /
        of an instance that customer owns (UnknownBackup otherwise)."""
        query = select(Backup).where(Backup.id == backup_id)
        if instance_id is not None:
            query = query.where(Backup.instance_id == instance_id)
        if customer_ref is not None:
            query = query.join(Instance, Instance.id == Backup.instance_id).where(
                Instance.customer_ref == customer_ref
            )
        backup = await self.session.scalar(query)
        if backup is None:
            raise UnknownBackup(backup_id)
        return backup

    async def of_instance(self, instance_id: str) -> list[Backup]:
        """Newest first."""
        query = (
            select(Backup)
            .where(Backup.instance_id == instance_id)
            .order_by(Backup.started_at.desc(), Backup.id.desc())
        )
        return list(await self.session.scalars(query))

    async def interrupt_running(self, instance_id: str, now: datetime, why: str) -> None:
        """Rows left ``running`` by a process that died (the caller holds the lease, so
        no backup of the instance runs now)."""
        await self.session.execute(
            update(Backup)
            .where(Backup.instance_id == instance_id, Backup.status == BackupStatus.RUNNING.value)
            .values(status=BackupStatus.FAILED.value, finished_at=now, error=why)
            .execution_options(synchronize_session=False)
        )

    async def beyond(self, instance_id: str, keep: int) -> list[Backup]:
        """What retention removes: every backup older than the newest ``keep`` good ones
        (failed ones among them too); nothing while one runs."""
        backups = await self.of_instance(instance_id)
        if any(backup.status == BackupStatus.RUNNING.value for backup in backups):
            return []
        good = [b for b in backups if b.status == BackupStatus.SUCCEEDED.value][:keep]
        if len(good) < keep:
            return [b for b in backups if b.status == BackupStatus.FAILED.value][keep:]
        oldest_kept = good[-1]
        kept = {b.id for b in good}
        return [b for b in backups if b.id not in kept and b.started_at <= oldest_kept.started_at]

    async def schedule_rows(self) -> list[ScheduleRow]:
        """One query for the scheduler: each instance whose data is backed up on schedule
        (id, state, plan, plan version, when its last scheduled backup started), and each
        purged instance that still has backups (its data's retention is over)."""
        last = func.max(Backup.started_at).filter(Backup.kind == "scheduled")
        query = (
            select(Instance.id, Instance.state, Instance.plan_id, Instance.plan_version, last)
            .outerjoin(Backup, Backup.instance_id == Instance.id)
            .where(Instance.state.in_([*SCHEDULED_STATES, InstanceState.PURGED.value]))
            .group_by(Instance.id, Instance.state, Instance.plan_id, Instance.plan_version)
            .having(
                or_(
                    Instance.state != InstanceState.PURGED.value,
                    func.count(Backup.id) > 0,
                )
            )
        )
        return [ScheduleRow(*row) for row in await self.session.execute(query)]

    async def delete(self, backup: Backup) -> None:
        await self.session.delete(backup)
