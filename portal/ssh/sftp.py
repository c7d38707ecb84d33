"""SFTP (and so OpenSSH 9's scp) into a server's /data: asyncssh's SFTP server, chrooted
at the data volume's directory on this host.

Why the host directory and not the container: the server image is busybox, with no SFTP
server inside to run through ``docker exec``, and the volume is where /data's files live
anyway (a write here is in the container at once; the container need not even run).

Serving a directory the customer's own root can change from inside brings two duties:

- Links: a link made inside the container (``ln -s / /data/x``) would lead the gateway,
  which runs as root on the host, out of the volume. Every operation resolves its path
  one component at a time without following links (``portal.ssh.confined``), so a link,
  even one swapped in mid-request, is refused, never followed; links cannot be made here.
- Ownership and modes: files and directories made here get the owner of the directory
  they are made in (the container's user, not the gateway's), set-id bits are dropped and
  the client cannot give files away to other users.

File operations run on the event loop, as asyncssh's SFTP server does them.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import AsyncIterator

import asyncssh

from portal.ssh.confined import by_descriptor, clean, leaf, located

MODE_BITS = 0o1777  # permissions and the sticky bit; never set-user-id or set-group-id
NO_LINKS = "links cannot be made over SFTP; use ssh"


class DataVolumeSftp(asyncssh.SFTPServer):
    def __init__(self, chan: asyncssh.SSHServerChannel[bytes], root: str) -> None:
        super().__init__(chan, chroot=root.encode())
        self._root = os.path.realpath(root)

    def map_path(self, path: bytes) -> bytes:
        # Only what is not overridden below still maps paths (SFTP v5+ opens): checked.
        mapped = super().map_path(path)
        real = os.path.realpath(mapped)
        root = self._root.encode()
        if real != root and not real.startswith(root + b"/"):
            raise asyncssh.SFTPPermissionDenied("that path leads outside /data")
        return mapped

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        flags, mode = _open_flags(pflags)
        permissions = 0o666 if attrs.permissions is None else attrs.permissions & MODE_BITS
        with located(self._root, path) as (directory, name):
            created = not _exists(directory, name)
            handle = os.open(name, flags, permissions, dir_fd=directory)
            try:
                if created:
                    _own_like(handle, directory)
                return open(handle, mode, buffering=0)  # the SFTP session closes it
            except BaseException:
                os.close(handle)
                raise

    def stat(self, path: bytes) -> os.stat_result:
        return self.lstat(path)  # links are shown as links, never followed

    def lstat(self, path: bytes) -> os.stat_result:
        with located(self._root, path) as (directory, name):
            return os.stat(name, dir_fd=directory, follow_symlinks=False)

    def setstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        with leaf(self._root, path) as handle:
            _apply(by_descriptor(handle), attrs)

    def lsetstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        self.setstat(path, attrs)

    def fsetstat(self, file_obj: object, attrs: asyncssh.SFTPAttrs) -> None:
        fileno = getattr(file_obj, "fileno", None)
        if fileno is None:
            raise asyncssh.SFTPOpUnsupported("not a file")
        _apply(by_descriptor(fileno()), attrs)

    async def scandir(self, path: bytes) -> AsyncIterator[asyncssh.SFTPName]:
        with located(self._root, path) as (parent, name):
            flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
            directory = os.open(name, flags, dir_fd=parent)
        try:
            here = asyncssh.SFTPAttrs.from_local(os.fstat(directory))
            for dot in (b".", b".."):
                yield asyncssh.SFTPName(dot, attrs=here)
            with os.scandir(directory) as entries:
                for entry in entries:
                    found = asyncssh.SFTPAttrs.from_local(entry.stat(follow_symlinks=False))
                    yield asyncssh.SFTPName(os.fsencode(entry.name), attrs=found)
        finally:
            os.close(directory)

    def remove(self, path: bytes) -> None:
        with located(self._root, path) as (directory, name):
            os.unlink(name, dir_fd=directory)

    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        permissions = 0o777 if attrs.permissions is None else attrs.permissions & MODE_BITS
        with located(self._root, path) as (directory, name):
            os.mkdir(name, permissions, dir_fd=directory)
            made = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory)
            try:
                _own_like(made, directory)
            finally:
                os.close(made)

    def rmdir(self, path: bytes) -> None:
        with located(self._root, path) as (directory, name):
            os.rmdir(name, dir_fd=directory)

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        with located(self._root, oldpath) as old, located(self._root, newpath) as new:
            if _exists(*new):  # SFTP v3's rename never replaces
                raise asyncssh.SFTPFailure("File already exists")
            os.rename(old[1], new[1], src_dir_fd=old[0], dst_dir_fd=new[0])

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        with located(self._root, oldpath) as old, located(self._root, newpath) as new:
            os.replace(old[1], new[1], src_dir_fd=old[0], dst_dir_fd=new[0])

    def realpath(self, path: bytes) -> bytes:
        return clean(path)

    def readlink(self, path: bytes) -> bytes:
        with located(self._root, path) as (directory, name):
            return os.fsencode(os.readlink(name, dir_fd=directory))

    def statvfs(self, path: bytes) -> os.statvfs_result:
        return os.statvfs(self._root)  # one volume, one file system

    def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPOpUnsupported(NO_LINKS)

    def link(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPOpUnsupported(NO_LINKS)

    def exit(self) -> None:
        # OpenSSH's scp judges the transfer by the session's exit status, which
        # asyncssh's SFTP server does not send on its own.
        with contextlib.suppress(OSError, asyncssh.Error):
            self.channel.exit(0)
        super().exit()


def _open_flags(pflags: int) -> tuple[int, str]:
    """os.open's flags and the file object's mode for SFTP v3's open flags."""
    read, write = bool(pflags & asyncssh.FXF_READ), bool(pflags & asyncssh.FXF_WRITE)
    flags = os.O_NOFOLLOW | os.O_CLOEXEC
    if read and write:
        flags, mode = flags | os.O_RDWR, "r+b"
    elif write:
        flags, mode = flags | os.O_WRONLY, "wb"
    else:
        flags, mode = flags | os.O_RDONLY, "rb"
    for sftp_flag, os_flag in (
        (asyncssh.FXF_APPEND, os.O_APPEND),
        (asyncssh.FXF_CREAT, os.O_CREAT),
        (asyncssh.FXF_TRUNC, os.O_TRUNC),
        (asyncssh.FXF_EXCL, os.O_EXCL),
    ):
        if pflags & sftp_flag:
            flags |= os_flag
    return flags, mode


def _exists(directory: int, name: bytes) -> bool:
    try:
        os.stat(name, dir_fd=directory, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _apply(path: str, attrs: asyncssh.SFTPAttrs) -> None:
    """Size, mode and times; never the owner (see the module's docstring)."""
    if attrs.size is not None:
        os.truncate(path, attrs.size)
    if attrs.permissions is not None:
        os.chmod(path, attrs.permissions & MODE_BITS)
    if attrs.atime is not None and attrs.mtime is not None:
        os.utime(path, (attrs.atime, attrs.mtime))


def _own_like(handle: int, directory: int) -> None:
    """A new file or directory takes the owner of the directory it is made in. ``handle``
    is an open file, or an ``O_PATH`` one of a directory (reached through /proc)."""
    if os.geteuid() != 0:  # only root can give a file away; otherwise it is ours already
        return
    parent = os.fstat(directory)
    made = os.fstat(handle)
    if stat.S_ISREG(made.st_mode):
        os.fchown(handle, parent.st_uid, parent.st_gid)
    elif stat.S_ISDIR(made.st_mode):  # not a link someone swapped in meanwhile
        os.chown(by_descriptor(handle), parent.st_uid, parent.st_gid)
