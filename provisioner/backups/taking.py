"""Taking one backup, and retention: the steps, each under a lease the caller holds."""

from __future__ import annotations

import secrets

from plans import CatalogError
from plans.model import DEFAULT_BACKUPS, BackupPolicy
from provisioner.backends.base import WorkloadSpec
from provisioner.backups.archive import Digests, digest_of, pack
from provisioner.backups.read_ahead import read_ahead
from provisioner.backups.repository import BackupRepository
from provisioner.backups.storage import BackupStorage
from provisioner.context import ProvisionerContext
from provisioner.errors import BackupError, EngineUnavailable, ProvisioningError
from provisioner.models import Backup, BackupKind, BackupStatus, Instance
from provisioner.repository import InstanceRepository
from provisioner.specs import hosting_plan, workload_spec

INTERRUPTED = "interrupted: the process taking it stopped"


def policy_of(ctx: ProvisionerContext, instance: Instance) -> BackupPolicy:
    """The instance's plan's backup policy (the default if its plan left the catalog)."""
    try:
        plan = hosting_plan(ctx.catalog().get(instance.plan_id, instance.plan_version))
    except (CatalogError, ProvisioningError):
        return DEFAULT_BACKUPS
    return plan.backups


def current_spec(ctx: ProvisionerContext, instance: Instance) -> WorkloadSpec:
    """What the instance runs now: its image (the helper's) and its volumes."""
    plan = hosting_plan(ctx.catalog().get(instance.plan_id, instance.plan_version))
    return workload_spec(instance, plan, ctx.settings)


async def take(
    ctx: ProvisionerContext,
    storage: BackupStorage,
    instance_id: str,
    kind: BackupKind,
    actor: str,
) -> Backup:
    """Archive the instance's volumes into storage and record it; the row says failed
    (and BackupError is raised) when that did not work."""
    now = ctx.clock()
    backup_id = "b" + secrets.token_hex(6)
    async with ctx.sessions() as session, session.begin():
        instance = await InstanceRepository(session).get(instance_id)
        spec = current_spec(ctx, instance)
        repo = BackupRepository(session)
        await repo.interrupt_running(instance_id, now, INTERRUPTED)
        compress = ctx.settings.backup_compress
        backup = Backup(
            id=backup_id,
            instance_id=instance_id,
            kind=kind.value,
            status=BackupStatus.RUNNING.value,
            started_at=now,
            key=f"{instance_id}/{backup_id}.tar{'.gz' if compress else ''}",
            compressed=compress,
            actor=actor,
        )
        repo.add(backup)
    digests = Digests()
    error: ProvisioningError | None = None
    tar = read_ahead(ctx.backend.volume_archive.export(spec))
    try:
        await ctx.engine(storage.write, backup.key, pack(tar, digests, compress=compress))
    except ProvisioningError as failure:
        error = failure
    finally:
        await ctx.engine(tar.close)  # the reader stops, the helper container goes
    async with ctx.sessions() as session, session.begin():
        backup = await BackupRepository(session).get(backup_id)
        instances = InstanceRepository(session)
        instance = await instances.get(instance_id)
        backup.finished_at = ctx.clock()
        if error is None:
            backup.status = BackupStatus.SUCCEEDED.value
            backup.size_bytes = digests.size
            backup.sha256 = digests.stored.hexdigest()
            backup.data_sha256 = digests.data.hexdigest()
            if kind is not BackupKind.SCHEDULED:  # scheduled ones would crowd the history
                note = f"backup {backup_id} ({kind.value}, {_size(digests.size)})"
                instances.record(instance, "backup_taken", note, backup.finished_at, actor)
        else:
            backup.status = BackupStatus.FAILED.value
            backup.error = str(error)
            note = f"backup {backup_id} ({kind.value}) failed: {error}"
            instances.record(instance, "backup_failed", note, backup.finished_at, actor)
    if isinstance(error, EngineUnavailable):
        raise error  # what it is: the engine is down (a 503 on the portal)
    if error is not None:
        raise BackupError(f"backup of instance {instance_id} failed: {error}") from error
    return backup


async def data_changed(ctx: ProvisionerContext, instance_id: str, backup: Backup) -> bool:
    """Whether the instance's volumes differ from what ``backup`` holds."""
    async with ctx.sessions() as session:
        spec = current_spec(ctx, await InstanceRepository(session).get(instance_id))
    now = await ctx.engine(lambda: digest_of(ctx.backend.volume_archive.export(spec)))
    return now != backup.data_sha256


async def prune(
    ctx: ProvisionerContext, storage: BackupStorage, instance_id: str, keep: int
) -> int:
    """Remove the instance's backups beyond the newest ``keep``; returns how many."""
    async with ctx.sessions() as session, session.begin():
        repo = BackupRepository(session)
        gone = await repo.beyond(instance_id, keep)
        for backup in gone:
            await repo.delete(backup)
    for backup in gone:
        await ctx.engine(storage.delete, backup.key)
    return len(gone)


async def drop_all(ctx: ProvisionerContext, storage: BackupStorage, instance_id: str) -> int:
    """Every backup of the instance (its data's retention ended)."""
    async with ctx.sessions() as session, session.begin():
        repo = BackupRepository(session)
        gone = await repo.of_instance(instance_id)
        for backup in gone:
            await repo.delete(backup)
    for backup in gone:
        await ctx.engine(storage.delete, backup.key)
    return len(gone)


def _size(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size / 1000:.1f} kB"
