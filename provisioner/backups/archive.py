"""An archive on its way to storage and back: optional gzip, size and checksums.

``pack`` digests the raw tar (``data_sha256``: whether the volumes changed since) and the
stored bytes (``sha256``, ``size``: whether the file is still what was written) in the
same pass. ``verify`` reads a stored archive once, before anything is overwritten, and
refuses one that is not what was recorded.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from provisioner.backends.volume_archive import Chunk
from provisioner.errors import BackupCorrupt

GZIP_WBITS = 31  # zlib with a gzip wrapper (mtime 0: the same tar gives the same file)
GZIP_LEVEL = 1  # the fastest: volumes are often already-compressed files


@dataclass
class Digests:
    data: hashlib._Hash = field(default_factory=hashlib.sha256)
    stored: hashlib._Hash = field(default_factory=hashlib.sha256)
    size: int = 0


def pack(tar: Iterable[Chunk], digests: Digests, *, compress: bool) -> Iterator[Chunk]:
    """The bytes to store for ``tar``; ``digests`` is complete once this is exhausted."""
    if not compress:  # the stored bytes are the tar's: one checksum serves for both
        digests.stored = digests.data
    squeeze = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, GZIP_WBITS) if compress else None
    for chunk in tar:
        digests.data.update(chunk)
        if squeeze is None:
            digests.size += len(chunk)
            yield chunk
            continue
        out = squeeze.compress(chunk)
        if out:
            digests.stored.update(out)
            digests.size += len(out)
            yield out
    if squeeze:
        tail = squeeze.flush()
        digests.stored.update(tail)
        digests.size += len(tail)
        yield tail


def unpack(stored: Iterable[bytes], *, compressed: bool) -> Iterator[bytes]:
    """The tar inside a stored archive."""
    if not compressed:
        yield from stored
        return
    inflate = zlib.decompressobj(GZIP_WBITS)
    for chunk in stored:
        yield inflate.decompress(chunk)
    yield inflate.flush()


def digest_of(tar: Iterable[Chunk]) -> str:
    """The data checksum of a tar stream (nothing is stored)."""
    digest = hashlib.sha256()
    for chunk in tar:
        digest.update(chunk)
    return digest.hexdigest()


def verify(stored: Iterable[bytes], *, size: int | None, sha256: str | None, name: str) -> None:
    """Raise BackupCorrupt unless ``stored`` has the recorded size and checksum."""
    digest, seen = hashlib.sha256(), 0
    for chunk in stored:
        digest.update(chunk)
        seen += len(chunk)
    if size is not None and seen != size:
        raise BackupCorrupt(
            f"backup {name} is damaged: {seen} bytes stored, {size} were written; "
            "it was not restored (choose another backup)"
        )
    if sha256 is not None and digest.hexdigest() != sha256:
        raise BackupCorrupt(
            f"backup {name} is damaged: its sha256 checksum does not match the one "
            "recorded when it was taken; it was not restored (choose another backup)"
        )
