"""Paths inside one directory, resolved so that nothing can lead out of it.

The kernel resolves each component of a path on its own, from the directory before it
(``dir_fd``), and never follows a link (``O_NOFOLLOW``): a link made inside, or swapped
in while a request runs, is refused rather than followed out of the directory. What
this returns (the directory holding the last component, and that component's name) is
then used with ``dir_fd`` calls, so nothing resolves the path a second time.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
from collections.abc import Iterator
from contextlib import contextmanager

import asyncssh

DIRECTORY = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
LINKS_REFUSED = "links are not followed over SFTP; use ssh to work with them"


def clean(path: bytes) -> bytes:
    """The path as seen from the directory's root: absolute, without ``.`` and ``..``."""
    return posixpath.normpath(posixpath.join(b"/", path))


@contextmanager
def located(root: str, path: bytes) -> Iterator[tuple[int, bytes]]:
    """(directory fd, name) of ``path``'s last component; the root itself is (root, ".")."""
    parts = [part for part in clean(path).split(b"/") if part]
    directory = os.open(root, DIRECTORY)
    try:
        for part in parts[:-1]:
            try:
                deeper = os.open(part, DIRECTORY, dir_fd=directory)
            except OSError as error:
                raise _refusal(error) from None
            os.close(directory)
            directory = deeper
        yield directory, parts[-1] if parts else b"."
    finally:
        os.close(directory)


@contextmanager
def leaf(root: str, path: bytes) -> Iterator[int]:
    """An ``O_PATH`` descriptor of the path's object itself, refused if it is a link."""
    with located(root, path) as (directory, name):
        try:
            handle = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory)
        except OSError as error:
            raise _refusal(error) from None
    try:
        if stat.S_ISLNK(os.fstat(handle).st_mode):
            raise asyncssh.SFTPPermissionDenied(LINKS_REFUSED)
        yield handle
    finally:
        os.close(handle)


def by_descriptor(handle: int) -> str:
    """A path that reaches the very object ``handle`` holds (Linux's /proc magic link)."""
    return f"/proc/self/fd/{handle}"


def _refusal(error: OSError) -> OSError | asyncssh.SFTPError:
    if error.errno in (errno.ELOOP, errno.ENOTDIR):  # a link where a directory should be
        return asyncssh.SFTPPermissionDenied(LINKS_REFUSED)
    return error
