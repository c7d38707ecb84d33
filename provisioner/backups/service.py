"""Backups of instances' data: what operators, customers, the CLI and updates ask.

Every backup and restore holds the instance's lease (``lease.py``), so there is never
more than one at a time per instance, nor one beside an update. With ``customer_ref``,
a call sees only that customer's instances: anything else is UnknownInstance or
UnknownBackup (a 404 on the portal), never "not yours".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from provisioner.backups import restoring, schedule, taking
from provisioner.backups.lease import data_lease
from provisioner.backups.repository import BackupRepository
from provisioner.backups.restoring import RestoreOutcome
from provisioner.backups.schedule import ScheduleReport
from provisioner.backups.storage import BackupStorage, LocalStorage
from provisioner.context import ProvisionerContext
from provisioner.errors import BackupError
from provisioner.models import Backup, BackupKind, BackupStatus, Instance
from provisioner.repository import InstanceRepository

# How long a backup or restore waits for another one (or an update) of the instance.
WAIT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class BackupDownload:
    backup: Backup
    filename: str
    size: int
    chunks: Iterator[bytes]  # read from storage as they are sent, never all at once


class Backups:
    def __init__(
        self,
        ctx: ProvisionerContext,
        storage: BackupStorage | None = None,
        *,
        wait_seconds: float = WAIT_SECONDS,
    ) -> None:
        self.ctx = ctx
        self.storage = storage or LocalStorage(ctx.settings.backup_dir)
        self.wait_seconds = wait_seconds

    async def list(self, instance_id: str, customer_ref: str | None = None) -> list[Backup]:
        """The instance's backups, newest first."""
        async with self.ctx.sessions() as session:
            await InstanceRepository(session).get(instance_id, customer_ref)
            return await BackupRepository(session).of_instance(instance_id)

    async def get(
        self, instance_id: str, backup_id: str, customer_ref: str | None = None
    ) -> Backup:
        async with self.ctx.sessions() as session:
            await InstanceRepository(session).get(instance_id, customer_ref)
            return await BackupRepository(session).get(backup_id, instance_id)

    async def take(
        self,
        instance_id: str,
        kind: BackupKind = BackupKind.MANUAL,
        actor: str = "system",
        customer_ref: str | None = None,
        *,
        wait_seconds: float | None = None,
    ) -> Backup:
        """Back the instance's data up now, while it runs. ``wait_seconds``: for another
        backup, restore or update of the instance (default: the service's)."""
        async with self.ctx.sessions() as session:
            await InstanceRepository(session).get(instance_id, customer_ref)
        wait = self.wait_seconds if wait_seconds is None else wait_seconds
        async with data_lease(self.ctx, instance_id, "backup", wait):
            backup = await taking.take(self.ctx, self.storage, instance_id, kind, actor)
            await self._retain(instance_id)
        return backup

    async def take_held(self, instance_id: str, kind: BackupKind, actor: str) -> Backup:
        """As ``take``, for a caller that holds the instance's lease (an update)."""
        backup = await taking.take(self.ctx, self.storage, instance_id, kind, actor)
        await self._retain(instance_id)
        return backup

    async def restore(
        self,
        instance_id: str,
        backup_id: str,
        actor: str = "system",
        customer_ref: str | None = None,
    ) -> RestoreOutcome:
        """Put the backup's data back and start the instance on it, health-gated."""
        await self.get(instance_id, backup_id, customer_ref)
        async with data_lease(self.ctx, instance_id, "restore", self.wait_seconds):
            async with self.ctx.sessions() as session:
                instance = await InstanceRepository(session).get(instance_id)
                backup = await BackupRepository(session).get(backup_id, instance_id)
            return await self.restore_held(instance, backup, actor)

    async def restore_held(self, instance: Instance, backup: Backup, actor: str) -> RestoreOutcome:
        """As ``restore``, for a caller that holds the instance's lease (an update)."""
        return await restoring.restore(self.ctx, self.storage, instance, backup, actor)

    async def download(
        self, instance_id: str, backup_id: str, customer_ref: str | None = None
    ) -> BackupDownload:
        backup = await self.get(instance_id, backup_id, customer_ref)
        if backup.status != BackupStatus.SUCCEEDED.value:
            raise BackupError(f"backup {backup_id} is {backup.status}: there is no archive")
        size = await self.ctx.engine(self.storage.size, backup.key)
        if size is None:
            raise BackupError(f"backup {backup_id}'s archive is missing from the storage")
        suffix = ".tar.gz" if backup.compressed else ".tar"
        filename = f"{instance_id}-{backup.started_at:%Y%m%dT%H%M%SZ}-{backup.id}{suffix}"
        return BackupDownload(backup, filename, size, self.storage.read(backup.key))

    async def _retain(self, instance_id: str) -> int:
        async with self.ctx.sessions() as session:
            instance = await InstanceRepository(session).get(instance_id)
        keep = taking.policy_of(self.ctx, instance).keep
        return await taking.prune(self.ctx, self.storage, instance_id, keep)

    async def run_due(self) -> ScheduleReport:
        """The worker's step: scheduled backups that are due, and the backups of
        instances whose data was purged (see ``schedule.py``)."""
        return await schedule.run_due(self)
