"""Where archives are kept: a small interface, so object storage can come later; local
files now (``DOCKYARD_BACKUP_DIR``, default ``var/backups/``).

A write lands under a temporary name and is renamed into place once complete, so a key
either holds a whole archive or nothing.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from provisioner.backends.volume_archive import Chunk
from provisioner.errors import BackupError

CHUNK_BYTES = 1024 * 1024


class BackupStorage(Protocol):
    def write(self, key: str, chunks: Iterable[Chunk]) -> None:
        """Store ``chunks`` under ``key``, whole or not at all (BackupError otherwise)."""

    def read(self, key: str) -> Iterator[bytes]:
        """The stored bytes in chunks; BackupError if the key holds nothing."""

    def size(self, key: str) -> int | None:
        """Bytes stored under ``key``; None if nothing is."""

    def delete(self, key: str) -> None:
        """Remove ``key``; nothing there is fine."""


class LocalStorage:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key

    def write(self, key: str, chunks: Iterable[Chunk]) -> None:
        target = self.path(key)
        partial = target.with_name(target.name + ".partial")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with partial.open("wb") as out:
                for chunk in chunks:
                    out.write(chunk)
            os.replace(partial, target)
        except OSError as error:
            with contextlib.suppress(OSError):
                partial.unlink()
            raise BackupError(self._trouble("write", target, error)) from error
        except BaseException:
            with contextlib.suppress(OSError):
                partial.unlink()
            raise

    def read(self, key: str) -> Iterator[bytes]:
        target = self.path(key)
        try:
            stored = target.open("rb")
        except OSError as error:
            raise BackupError(self._trouble("read", target, error)) from error
        with stored:
            while chunk := stored.read(CHUNK_BYTES):
                yield chunk

    def size(self, key: str) -> int | None:
        try:
            return self.path(key).stat().st_size
        except OSError:
            return None

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(key).unlink()

    def _trouble(self, doing: str, path: Path, error: OSError) -> str:
        if error.errno == errno.ENOSPC:
            return (
                f"the backup storage is full: cannot write {path} (no space left on the "
                "device); free space there or set DOCKYARD_BACKUP_DIR to a larger disk"
            )
        if isinstance(error, FileNotFoundError) and doing == "read":
            return f"the archive {path} is missing from the backup storage"
        return f"cannot {doing} {path}: {error.strerror or error}"
