"""Putting a backup back, health-gated like an update.

The archive is checked first (size and checksum as recorded), so a damaged one is
refused before anything is touched. Then the instance's workloads go (they mount the
volumes), the volumes are emptied and filled from the archive, and the current revision
starts again at the instance's own port; the restore has worked once it serves.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from provisioner.backends.base import WorkloadSpec
from provisioner.backups.archive import unpack, verify
from provisioner.backups.storage import BackupStorage
from provisioner.backups.taking import current_spec
from provisioner.context import ProvisionerContext
from provisioner.errors import BackendError, BackupError
from provisioner.models import Backup, BackupStatus, DesiredState, Instance, InstanceState
from provisioner.repository import InstanceRepository
from provisioner.starting import start_and_wait


@dataclass(frozen=True, slots=True)
class RestoreOutcome:
    instance_id: str
    backup_id: str
    restored: bool  # the data is back and the application serves on it
    detail: str


async def restore(
    ctx: ProvisionerContext,
    storage: BackupStorage,
    instance: Instance,
    backup: Backup,
    actor: str,
    *,
    spec: WorkloadSpec | None = None,
) -> RestoreOutcome:
    """Restore ``backup`` into ``instance`` (whose lease the caller holds) and start it.

    ``spec``: the revision to start on the data (default: the one the instance runs)."""
    if backup.status != BackupStatus.SUCCEEDED.value:
        raise BackupError(f"backup {backup.id} is {backup.status}: only a complete one restores")
    if instance.desired_state != DesiredState.RUNNING.value:
        raise BackupError(
            f"instance {instance.id} is not meant to run ({instance.desired_state}); "
            "resume it first, then restore"
        )
    name = backup.id
    await ctx.engine(
        lambda: verify(
            storage.read(backup.key), size=backup.size_bytes, sha256=backup.sha256, name=name
        )
    )
    spec = spec or current_spec(ctx, instance)
    for workload in await ctx.engine(ctx.backend.list_workloads, instance.id):
        await ctx.engine(ctx.backend.remove, workload.id)
    tar = unpack(storage.read(backup.key), compressed=backup.compressed)
    try:
        await ctx.engine(ctx.backend.volume_archive.replace, spec, tar)
    except (BackendError, BackupError, zlib.error) as error:
        detail = (
            f"restoring backup {backup.id} failed while writing the volumes ({error}); "
            "they may be partly written: restore again once the cause is fixed"
        )
        async with ctx.sessions() as session, session.begin():
            repo = InstanceRepository(session)
            repo.record(await repo.get(instance.id), "restore_failed", detail, ctx.clock(), actor)
        raise BackupError(detail) from error
    started, failure = await start_and_wait(ctx, spec, proven=True)
    async with ctx.sessions() as session, session.begin():
        repo = InstanceRepository(session)
        row = await repo.get(instance.id)
        now = ctx.clock()
        row.workload_id = started.id if started else None
        row.host_port = started.host_port if started else None
        row.host_address = started.host_address if started else None
        row.health = started.health.value if started else "none"
        row.revision = spec.revision
        row.updated_at = now
        if failure is None:
            row.state = InstanceState.RUNNING.value
            taken = f"{backup.started_at:%Y-%m-%d %H:%M} UTC"
            detail = f"data restored from backup {backup.id} of {taken}"
            repo.record(row, "restored", detail, now, actor)
        else:
            detail = (
                f"data restored from backup {backup.id}, but the application {failure}; "
                "the reconciler keeps retrying it, see its logs"
            )
            repo.record(row, "restore_failed", detail, now, actor)
    return RestoreOutcome(instance.id, backup.id, failure is None, detail)
