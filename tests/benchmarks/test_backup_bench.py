"""Backup and restore throughput of a 200 MB volume against plain ``tar`` of the same
directory on the host (the volume's mount point, as root reads it). Dockyard's backup
streams the engine's archive of the volume through Python (checksums, optional gzip)
into the backup directory while the application runs; its restore checks the archive,
removes the workload, replaces the volume and starts the application, health-gated.
Half the data is random (incompressible), half repetitive text.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import docker
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from provisioner.backends.engine_terms import volume_name
from provisioner.backups.service import Backups
from provisioner.models import Instance
from provisioner.settings import BackendKind
from tests.benchmarks.harness import Report, Sample
from tests.fixtures.docker import remove_everything_of
from tests.fixtures.provisioning import Fleet, backups_of, build_fleet
from tests.provisioner.test_lifecycle import running

pytestmark = [pytest.mark.benchmark, pytest.mark.docker, pytest.mark.backup]

ROUNDS = 5
RESTORE_ROUNDS = 3
MB = 1024 * 1024
FILE_MB = 4
VOLUME_MB = 200


@pytest.fixture
def bench_fleet(engine_client: docker.DockerClient, sqlite_engine: AsyncEngine) -> Iterator[Fleet]:
    world = build_fleet(engine_client, sqlite_engine, BackendKind.DOCKER)
    try:
        yield world
    finally:
        remove_everything_of(engine_client, world.run)
        shutil.rmtree(backups_of(world.run), ignore_errors=True)


def _mountpoint(client: docker.DockerClient, instance: Instance) -> Path:
    return Path(client.api.inspect_volume(volume_name(instance.id, "data"))["Mountpoint"])


def _fill(directory: Path) -> None:
    text = b"".join(
        b"line %08d of a customer's log file, compressible\n" % n for n in range(80_000)
    )
    for index in range(VOLUME_MB // FILE_MB):
        content = (
            os.urandom(FILE_MB * MB)
            if index % 2
            else text[: FILE_MB * MB].ljust(FILE_MB * MB, b"x")
        )
        (directory / f"file{index:03d}.bin").write_bytes(content)


def _timed(call: Callable[[], object]) -> int:
    start = time.perf_counter_ns()
    call()
    return time.perf_counter_ns() - start


async def test_backup_and_restore_against_plain_tar(
    bench_fleet: Fleet, bench_report: Report, tmp_path: Path
) -> None:
    fleet = bench_fleet
    instance, _ = await running(fleet)
    data = _mountpoint(fleet.client, instance)
    _fill(data)
    plain = tmp_path / "plain.tar"

    def tar_create() -> None:
        subprocess.run(["tar", "-cf", str(plain), "-C", str(data), "."], check=True)

    def tar_extract() -> None:
        for entry in data.iterdir():
            entry.unlink()
        subprocess.run(["tar", "-xf", str(plain), "-C", str(data)], check=True)

    tar_create()  # warm the page cache as the backups find it
    baseline = Sample(tuple(_timed(tar_create) for _ in range(ROUNDS)))
    bench_report.add(f"tar -c of a {VOLUME_MB} MB volume", baseline)
    backups = Backups(fleet.provisioner.ctx)
    taken, times = [], []
    for _ in range(ROUNDS):
        start = time.perf_counter_ns()
        taken.append(await backups.take(instance.id))
        times.append(time.perf_counter_ns() - start)
        fleet.clock.advance(minutes=1)
    ours = Sample(tuple(times))
    size = taken[-1].size_bytes or 0
    bench_report.add(
        f"backup of a {VOLUME_MB} MB volume (tar)", ours,
        baseline=f"tar -c of a {VOLUME_MB} MB volume",
        extra={"MB/s": round(size / MB / ours.median, 1), "archive_MB": round(size / MB, 1)},
    )  # fmt: skip
    gzip_ctx = replace(
        fleet.provisioner.ctx,
        settings=replace(fleet.provisioner.ctx.settings, backup_compress=True),
    )
    zipped = Backups(gzip_ctx)
    gzip_times = []
    for _ in range(ROUNDS):
        start = time.perf_counter_ns()
        packed = await zipped.take(instance.id)
        gzip_times.append(time.perf_counter_ns() - start)
        fleet.clock.advance(minutes=1)
    gzip_sample = Sample(tuple(gzip_times))
    bench_report.add(
        f"backup of a {VOLUME_MB} MB volume (tar.gz, level 1)", gzip_sample,
        baseline=f"tar -c of a {VOLUME_MB} MB volume",
        extra={
            "MB/s": round(size / MB / gzip_sample.median, 1),
            "archive_MB": round((packed.size_bytes or 0) / MB, 1),
        },
    )  # fmt: skip

    tar_extract()
    restore_baseline = Sample(tuple(_timed(tar_extract) for _ in range(RESTORE_ROUNDS)))
    bench_report.add(f"tar -x into a {VOLUME_MB} MB volume", restore_baseline)
    restore_times = []
    for _ in range(RESTORE_ROUNDS):
        start = time.perf_counter_ns()
        outcome = await backups.restore(instance.id, taken[-1].id)
        restore_times.append(time.perf_counter_ns() - start)
        assert outcome.restored, outcome.detail
    restored = Sample(tuple(restore_times))
    bench_report.add(
        f"restore of a {VOLUME_MB} MB volume, health-gated (tar)", restored,
        baseline=f"tar -x into a {VOLUME_MB} MB volume",
        extra={"MB/s": round(size / MB / restored.median, 1)},
    )  # fmt: skip
