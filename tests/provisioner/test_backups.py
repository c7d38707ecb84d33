"""Backups and restores of instances' volumes on the real engine, on both backends."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import docker
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from plans import load_catalog
from provisioner.backends.volume_archive import Chunk
from provisioner.backups.service import Backups
from provisioner.context import ProvisionerContext
from provisioner.errors import (
    BackendError,
    BackupBusy,
    BackupCorrupt,
    EngineUnavailable,
    UnknownBackup,
    UnknownInstance,
)
from provisioner.models import BackupKind, BackupStatus, Instance, InstanceState, UpdateStatus
from provisioner.repository import InstanceRepository
from provisioner.settings import BackendKind, ProvisionerSettings
from tests.fixtures.catalog import copy_sample, edit_file
from tests.fixtures.provisioning import Fleet, build_fleet, wait_for_page
from tests.fixtures.volume_data import read_file, write_file
from tests.provisioner.test_lifecycle import running

pytestmark = [pytest.mark.docker, pytest.mark.backup]


def backups_of(fleet: Fleet, **options: float) -> Backups:
    return Backups(fleet.provisioner.ctx, **options)  # type: ignore[arg-type]


def stored(fleet: Fleet, key: str) -> Path:
    return Path(fleet.provisioner.ctx.settings.backup_dir) / key


async def test_backup_destroy_restore_reads_the_data_back(fleet: Fleet) -> None:
    instance, address = await running(fleet)
    write_file(fleet.client, instance, "hello.txt", "the customer's data")
    backups = backups_of(fleet)

    backup = await backups.take(instance.id, actor="test")

    archive = stored(fleet, backup.key).read_bytes()
    assert backup.status == BackupStatus.SUCCEEDED
    assert backup.size_bytes == len(archive)
    assert backup.sha256 == hashlib.sha256(archive).hexdigest()
    assert backup.kind == BackupKind.MANUAL
    # The data is gone: workload and volume removed behind Dockyard's back.
    for workload in fleet.backend.list_workloads(instance.id):
        fleet.backend.remove(workload.id)
    await asyncio.sleep(0.5)  # Swarm's task containers go a moment after their service
    fleet.backend.remove_volumes(instance.id)
    assert read_file(fleet.client, instance, "hello.txt").strip() == "MISSING"

    outcome = await backups.restore(instance.id, backup.id, actor="test")

    assert outcome.restored, outcome.detail
    assert read_file(fleet.client, instance, "hello.txt") == "the customer's data"
    await wait_for_page(address, "Dockyard demo application")
    events = [event.kind for event in (await fleet.provisioner.view(instance.id)).events]
    assert events[-2:] == ["backup_taken", "restored"]


async def test_a_failed_update_that_changed_the_data_puts_it_back(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance, address = await running(fleet)
    write_file(fleet.client, instance, "schema.txt", "version 1 schema")
    create = fleet.backend.create

    def create_and_migrate(spec):  # type: ignore[no-untyped-def]
        # The new version "migrates" the shared data, then never becomes healthy.
        if spec.revision > instance.revision:
            write_file(fleet.client, instance, "schema.txt", "half-migrated")
        return create(spec)

    monkeypatch.setattr(fleet.backend, "create", create_and_migrate)

    outcome = await fleet.provisioner.update(instance.id, "broken")

    assert outcome.status is UpdateStatus.FAILED
    assert "its data changed: data restored from backup" in outcome.detail
    assert read_file(fleet.client, instance, "schema.txt") == "version 1 schema"
    await wait_for_page(address, "version 1")
    view = await fleet.provisioner.view(instance.id)
    kinds = [event.kind for event in view.events]
    assert kinds[-4:] == ["update_started", "backup_taken", "restored", "update_failed"]
    assert view.instance.image_version == "1"
    assert view.instance.lease_owner is None


async def test_a_failed_update_that_left_the_data_alone_restores_nothing(
    docker_fleet: Fleet,
) -> None:
    fleet = docker_fleet
    instance, _ = await running(fleet)
    before = instance.workload_id

    outcome = await fleet.provisioner.update(instance.id, "broken")

    assert outcome.status is UpdateStatus.FAILED
    assert "nothing to restore" in outcome.detail
    assert (await fleet.provisioner.get(instance.id)).workload_id == before
    [backup] = await backups_of(fleet).list(instance.id)
    assert backup.kind == BackupKind.BEFORE_UPDATE


async def test_a_damaged_archive_is_refused_before_anything_is_touched(
    docker_fleet: Fleet,
) -> None:
    fleet = docker_fleet
    instance, _ = await running(fleet)
    write_file(fleet.client, instance, "keep.txt", "current")
    backups = backups_of(fleet)
    backup = await backups.take(instance.id)
    write_file(fleet.client, instance, "keep.txt", "newer")
    path = stored(fleet, backup.key)
    damaged = bytearray(path.read_bytes())
    damaged[600] ^= 0xFF
    path.write_bytes(bytes(damaged))

    with pytest.raises(BackupCorrupt, match=rf"backup {backup.id} is damaged: its sha256"):
        await backups.restore(instance.id, backup.id)

    path.write_bytes(bytes(damaged[:-1024]))
    with pytest.raises(BackupCorrupt, match="bytes stored"):
        await backups.restore(instance.id, backup.id)
    assert read_file(fleet.client, instance, "keep.txt") == "newer"
    assert (await fleet.provisioner.get(instance.id)).workload_id == instance.workload_id


async def test_one_backup_at_a_time_per_instance(docker_fleet: Fleet) -> None:
    fleet = docker_fleet
    instance, _ = await running(fleet)
    backups = backups_of(fleet)
    writing: list[int] = []
    most = 0
    write = backups.storage.write

    def counted_write(key: str, chunks: Iterable[Chunk]) -> None:
        nonlocal most
        writing.append(1)
        most = max(most, len(writing))
        try:
            time.sleep(0.3)  # long enough for the other one to try
            write(key, chunks)
        finally:
            writing.pop()

    backups.storage.write = counted_write  # type: ignore[method-assign]

    first, second = await asyncio.gather(backups.take(instance.id), backups.take(instance.id))

    assert first.status == second.status == BackupStatus.SUCCEEDED
    assert most == 1  # the second waited for the first
    # An update (or anything else) holding the instance: refused after the wait.
    ctx = fleet.provisioner.ctx
    async with ctx.sessions() as session, session.begin():
        held = await InstanceRepository(session).claim(
            instance.id, "an-update", ctx.clock(), timedelta(minutes=5)
        )
    assert held
    with pytest.raises(BackupBusy, match="another backup, restore or update"):
        await backups_of(fleet, wait_seconds=0.3).take(instance.id)


async def test_retention_keeps_the_plans_count(docker_fleet: Fleet, tmp_path: Path) -> None:
    fleet = docker_fleet
    folder = copy_sample(tmp_path / "catalog")
    edit_file(
        folder / "application-hosting.yaml",
        'daily_at: "01:00", keep: 7',
        'daily_at: "01:00", keep: 2',
    )
    catalog = load_catalog(folder)
    ctx = replace(fleet.provisioner.ctx, catalog=lambda: catalog)
    instance, _ = await running(fleet)
    backups = Backups(ctx)

    taken = []
    for _ in range(3):
        taken.append(await backups.take(instance.id))
        fleet.clock.advance(minutes=1)

    kept = await backups.list(instance.id)
    assert [backup.id for backup in kept] == [taken[2].id, taken[1].id]
    assert not stored(fleet, taken[0].key).exists()


async def test_scheduled_backups_and_the_end_of_a_purged_instances_backups(
    docker_fleet: Fleet,
) -> None:
    fleet = docker_fleet
    instance, _ = await running(fleet)
    backups = backups_of(fleet)

    first = await backups.run_due()  # a new instance is due at once
    again = await backups.run_due()
    fleet.clock.advance(days=1)
    next_day = await backups.run_due()

    assert (len(first.taken), len(again.taken), len(next_day.taken)) == (1, 0, 1)
    listed = await backups.list(instance.id)
    assert {backup.kind for backup in listed} == {BackupKind.SCHEDULED}
    await _set_state(fleet.provisioner.ctx, instance, InstanceState.PURGED)
    purged = await backups.run_due()
    assert purged.purged == 2
    assert await backups.list(instance.id) == []
    assert all(not stored(fleet, backup.key).exists() for backup in listed)


async def test_a_customer_sees_only_their_own_backups(docker_fleet: Fleet) -> None:
    fleet = docker_fleet
    instance, _ = await running(fleet)
    backups = backups_of(fleet)
    backup = await backups.take(instance.id)

    with pytest.raises(UnknownInstance):
        await backups.list(instance.id, customer_ref="someone-else")
    with pytest.raises(UnknownInstance):
        await backups.download(instance.id, backup.id, customer_ref="someone-else")
    with pytest.raises(UnknownBackup):
        await backups.download(instance.id, "bnosuchbackup", customer_ref=instance.customer_ref)
    download = await backups.download(instance.id, backup.id, instance.customer_ref)
    assert b"".join(download.chunks) == stored(fleet, backup.key).read_bytes()
    assert download.size == backup.size_bytes


async def _set_state(ctx: ProvisionerContext, instance: Instance, state: InstanceState) -> None:
    async with ctx.sessions() as session, session.begin():
        await session.execute(
            update(Instance).where(Instance.id == instance.id).values(state=state.value)
        )


async def test_an_unreachable_engine_fails_the_backup_with_its_reason(
    sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    settings = ProvisionerSettings(
        docker_url="tcp://127.0.0.1:1",
        health_timeout_seconds=5,
        backup_dir=str(tmp_path / "backups"),
    )
    client = docker.DockerClient(base_url="tcp://127.0.0.1:1", version="1.41", timeout=2)
    fleet = build_fleet(client, sqlite_engine, BackendKind.DOCKER, settings=settings, ping=False)
    instance = await fleet.provisioner.provision("nobody", "app-starter")
    backups = backups_of(fleet)

    with pytest.raises(EngineUnavailable, match="does not answer"):
        await backups.take(instance.id)

    [failed] = await backups.list(instance.id)
    assert failed.status == BackupStatus.FAILED
    assert failed.error is not None
    assert "does not answer" in failed.error
    assert _files(tmp_path / "backups") == []  # no partial archive left behind
    with pytest.raises(UnknownBackup):
        await backups.restore(instance.id, "bnosuch")


def _files(directory: Path) -> list[Path]:
    return [path for path in directory.rglob("*") if path.is_file()]


async def test_a_restore_whose_application_does_not_start_says_so(
    docker_fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet = docker_fleet
    instance, _ = await running(fleet)
    write_file(fleet.client, instance, "kept.txt", "backed up")
    backups = backups_of(fleet)
    backup = await backups.take(instance.id)

    def refuse(spec: object) -> object:
        raise BackendError("instance: the engine refused: no space for the container")

    monkeypatch.setattr(fleet.backend, "create", refuse)
    outcome = await backups.restore(instance.id, backup.id, actor="test")

    assert not outcome.restored
    assert "the application could not start: instance: the engine refused" in outcome.detail
    assert read_file(fleet.client, instance, "kept.txt") == "backed up"  # the data is back
    [*_, last] = (await fleet.provisioner.view(instance.id)).events
    assert (last.kind, last.message) == ("restore_failed", outcome.detail)


async def test_a_scheduled_backup_does_not_wait_for_a_busy_instance(docker_fleet: Fleet) -> None:
    fleet = docker_fleet
    instance, _ = await running(fleet)
    ctx = fleet.provisioner.ctx
    async with ctx.sessions() as session, session.begin():
        repo = InstanceRepository(session)
        assert await repo.claim(instance.id, "an-update", ctx.clock(), timedelta(minutes=5))
    backups = backups_of(fleet)

    report = await backups.run_due()

    assert (report.taken, report.failed, report.deferred) == ([], {}, 1)
    assert await backups.list(instance.id) == []
