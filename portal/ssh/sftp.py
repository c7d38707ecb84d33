"""SFTP (and so OpenSSH 9's scp) into a server's /data: asyncssh's SFTP server, chrooted
at the data volume's directory on this host.

Why the host directory and not the container: the server image is busybox, with no SFTP
server inside to run through ``docker exec``, and the volume is where /data's files live
anyway (a write here is in the container at once, the container need not even run).

Serving a directory the customer's own root can change from inside brings two duties:

- Links: a link made inside the container (``ln -s / /data/x``) would lead the gateway,
  which runs as root on the host, out of the volume. Every path is resolved on the host,
  links included, and refused unless it stays inside; links cannot be made over SFTP.
- Ownership and modes: files and directories made here get the owner of the directory
  they are made in (the container's user, not the gateway's), set-id bits are dropped and
  the client cannot give files away to other users.

Left open: a link swapped in by the container between the check of a path and its use
is not caught (Python has no ``openat2(RESOLVE_IN_ROOT)``); a helper process chrooted
into the volume would close that. File operations run on the event loop, as asyncssh's
SFTP server does them.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from typing import Any

import asyncssh

OUTSIDE = "that path leads outside /data"
MODE_BITS = 0o1777  # permissions and the sticky bit; never set-user-id or set-group-id


class DataVolumeSftp(asyncssh.SFTPServer):
    def __init__(self, chan: asyncssh.SSHServerChannel[bytes], root: str) -> None:
        super().__init__(chan, chroot=root.encode())
        self._root = os.path.realpath(root).encode()

    def map_path(self, path: bytes) -> bytes:
        mapped = super().map_path(path)
        real = os.path.realpath(mapped)
        if real != self._root and not real.startswith(self._root + b"/"):
            raise asyncssh.SFTPPermissionDenied(OUTSIDE)
        return mapped

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        mapped = self.map_path(path)
        created = not os.path.lexists(mapped)
        opened = super().open(path, pflags, _safe(attrs))
        if created:
            _own_like_parent(mapped)
        return opened

    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        super().mkdir(path, _safe(attrs))
        _own_like_parent(self.map_path(path))

    def setstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        super().setstat(path, _safe(attrs))

    def fsetstat(self, file_obj: object, attrs: asyncssh.SFTPAttrs) -> None:
        super().fsetstat(file_obj, _safe(attrs))

    def exit(self) -> None:
        # OpenSSH's scp judges the transfer by the session's exit status, which
        # asyncssh's SFTP server does not send on its own.
        with contextlib.suppress(OSError, asyncssh.Error):
            self.channel.exit(0)
        super().exit()

    def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPOpUnsupported("links cannot be made over SFTP; use ssh")

    def link(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPOpUnsupported("links cannot be made over SFTP; use ssh")


def _safe(attrs: asyncssh.SFTPAttrs) -> asyncssh.SFTPAttrs:
    """The attributes a client may set: no owner, no group, no set-id bits."""
    attrs.uid = attrs.gid = None
    attrs.owner = attrs.group = None
    if attrs.permissions is not None:
        attrs.permissions &= MODE_BITS
    return attrs


def _own_like_parent(path: bytes) -> None:
    parent: Any = os.stat(posixpath.dirname(path))
    if os.geteuid() == 0:  # only root can give a file away; otherwise it is ours already
        os.chown(path, parent.st_uid, parent.st_gid, follow_symlinks=False)
