"""The parts of backups that need no engine: schedule, tar joining, storage, checksums."""

from __future__ import annotations

import errno
import io
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from plans.model import BackupPolicy
from provisioner.backends.volume_archive import joined
from provisioner.backups.archive import Digests, pack, unpack, verify
from provisioner.backups.read_ahead import read_ahead
from provisioner.backups.schedule import is_due
from provisioner.backups.storage import LocalStorage
from provisioner.errors import BackendError, BackupCorrupt, BackupError

pytestmark = pytest.mark.backup

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("policy", "last", "due"),
    [
        (BackupPolicy(daily_at=time(3, 0)), None, True),
        (BackupPolicy(daily_at=time(3, 0)), NOW.replace(hour=3, minute=1), False),
        (BackupPolicy(daily_at=time(3, 0)), NOW.replace(hour=2, minute=59), True),
        (BackupPolicy(daily_at=time(13, 0)), NOW - timedelta(hours=20), False),  # 16:00 ok
        (BackupPolicy(daily_at=time(13, 0)), NOW - timedelta(hours=24), True),
        (BackupPolicy(daily_at=None, every_hours=6), NOW - timedelta(hours=5), False),
        (BackupPolicy(daily_at=None, every_hours=6), NOW - timedelta(hours=6), True),
    ],
)
def test_when_a_backup_is_due(policy: BackupPolicy, last: datetime | None, due: bool) -> None:
    assert is_due(policy, last, NOW) is due


def _tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    raw = out.getvalue()
    return raw.rstrip(b"\0") + bytes(-len(raw.rstrip(b"\0")) % 512) + bytes(1024)


def _chunks(data: bytes, size: int = 100) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_volume_tars_join_into_one_tar() -> None:
    first = _tar({"data/a.txt": b"A" * 700})
    second = _tar({"uploads/b.txt": b"B" * 10})

    whole = b"".join(joined([_chunks(first), _chunks(second, 7)]))

    with tarfile.open(fileobj=io.BytesIO(whole)) as archive:
        read = {m.name: archive.extractfile(m).read() for m in archive if m.isfile()}  # type: ignore[union-attr]
    assert read == {"data/a.txt": b"A" * 700, "uploads/b.txt": b"B" * 10}


def test_a_cut_off_engine_archive_is_not_joined() -> None:
    with pytest.raises(BackendError, match="ended unexpectedly"):
        list(joined([_chunks(_tar({"a": b"x"})[:-512])]))


@pytest.mark.parametrize("compress", [False, True])
def test_pack_and_unpack_keep_the_data_and_its_checksums(compress: bool) -> None:
    tar = _tar({"data/f": bytes(range(256)) * 100})
    digests = Digests()

    stored = b"".join(pack(_chunks(tar, 4096), digests, compress=compress))

    assert digests.size == len(stored)
    assert b"".join(unpack(_chunks(stored), compressed=compress)) == tar
    verify(_chunks(stored), size=len(stored), sha256=digests.stored.hexdigest(), name="b1")
    with pytest.raises(BackupCorrupt, match="backup b1 is damaged"):
        verify(
            _chunks(stored[:-1] + b"?"),
            size=len(stored),
            sha256=digests.stored.hexdigest(),
            name="b1",
        )


def test_a_full_disk_is_said_plainly_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = LocalStorage(tmp_path)

    def full() -> Iterator[bytes]:
        yield b"some"
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(BackupError, match="the backup storage is full") as failure:
        storage.write("i1/b1.tar", full())

    assert "DOCKYARD_BACKUP_DIR" in str(failure.value)
    assert list((tmp_path / "i1").iterdir()) == []
    with pytest.raises(BackupError, match="missing from the backup storage"):
        list(storage.read("i1/b1.tar"))


def test_reading_ahead_keeps_order_and_closes_its_source_when_the_reader_stops() -> None:
    closed: list[bool] = []

    def source() -> Iterator[int]:
        try:
            yield from range(1000)
        finally:
            closed.append(True)

    assert list(read_ahead(source(), depth=4)) == list(range(1000))
    assert closed == [True]
    early = read_ahead(source(), depth=4)
    assert [next(early) for _ in range(3)] == [0, 1, 2]
    early.close()
    assert closed == [True, True]


def test_a_failure_while_reading_ahead_reaches_the_consumer() -> None:
    def source() -> Iterator[bytes]:
        yield b"a"
        raise BackendError("the engine went away")

    with pytest.raises(BackendError, match="went away"):
        list(read_ahead(source()))
