"""An update's data safety: a backup before it, the data put back if it fails.

The tried revision runs beside the serving one on the same volumes, so a version that
fails its health check may still have changed the data (a schema migration that went
half-way). Before every update the data is backed up (under the update's own lease);
if the update then fails and the volumes differ from that backup, the backup is
restored and the old version started on it: image and data roll back together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from plans import CatalogError
from provisioner.backups.lease import LEASE_SECONDS
from provisioner.backups.service import Backups
from provisioner.backups.taking import data_changed
from provisioner.context import ProvisionerContext
from provisioner.errors import ProvisioningError
from provisioner.models import Backup, BackupKind
from provisioner.repository import InstanceRepository


@dataclass(frozen=True, slots=True)
class UpdateSafety:
    backup: Backup | None
    failure: str | None  # why the update must not go ahead


class UpdateData:
    def __init__(self, ctx: ProvisionerContext) -> None:
        self.backups = Backups(ctx)

    async def before(self, instance_id: str, actor: str) -> UpdateSafety:
        """Back the data up; an update whose data is not safe is not tried."""
        await self._hold_longer(instance_id)
        try:
            backup = await self.backups.take_held(instance_id, BackupKind.BEFORE_UPDATE, actor)
        except (ProvisioningError, CatalogError) as error:
            return UpdateSafety(None, f"was not tried: backing up the data first failed ({error})")
        return UpdateSafety(backup, None)

    async def after_failure(self, instance_id: str, safety: UpdateSafety, actor: str) -> str:
        """Restore the data if the failed version changed it; says what was done."""
        ctx = self.backups.ctx
        backup = safety.backup
        if backup is None:
            return "no data was touched"
        try:
            await self._hold_longer(instance_id)
            if not await data_changed(ctx, instance_id, backup):
                return f"its data is as backed up ({backup.id}), nothing to restore"
            async with ctx.sessions() as session:
                instance = await InstanceRepository(session).get(instance_id)
            restored = await self.backups.restore_held(instance, backup, actor)
        except (ProvisioningError, CatalogError) as error:
            return (
                f"its data changed and restoring backup {backup.id} failed ({error}): "
                f"restore it with: dockyard instances restore {instance_id} {backup.id}"
            )
        return f"its data changed: {restored.detail}"

    async def _hold_longer(self, instance_id: str) -> None:
        """Reading or writing all of the data can outlast the update's lease (sized for a
        health check): the update's holder extends it (claims are re-entrant)."""
        ctx = self.backups.ctx
        async with ctx.sessions() as session, session.begin():
            ttl = timedelta(seconds=LEASE_SECONDS)
            await InstanceRepository(session).claim(instance_id, ctx.worker_id, ctx.clock(), ttl)
