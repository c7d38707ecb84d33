"""A shell or a command: an SSH session bridged to a process in the instance's container.

``ssh inst@host`` asks for a terminal: the process gets one (``docker exec -t``) and the
bytes go both ways as they are; a size change from the client resizes it. ``ssh
inst@host 'cmd'`` runs ``sh -c cmd`` without one: stdout and stderr come back apart, and
the client's end of input is passed on (so ``ssh inst@host 'cat > f' < file`` works).
The command's exit status becomes the session's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable

import asyncssh

from portal.ssh.access import Grant
from portal.ssh.output import STDERR, FrameReader
from provisioner import ExecStream, Provisioner, ProvisioningError

log = logging.getLogger(__name__)

FleetSource = Callable[[], Awaitable[Provisioner]]
SHELL = ["/bin/busybox", "sh"]  # the server image's shell: busybox, no applet links
CHUNK = 65536
END_OF_TEXT = b"\x04"  # Ctrl-D
UNREACHABLE = "dockyard: your server cannot be reached right now; please try again in a minute"
CONNECTION_LOST = 255  # OpenSSH's status when the session broke off
# How long to wait for the engine to record the exit status once the output has ended.
EXIT_STATUS_WAIT = 2.0


async def run_session(
    process: asyncssh.SSHServerProcess[bytes], grant: Grant, fleet: FleetSource
) -> None:
    terminal = process.get_terminal_type()
    tty = terminal is not None
    command = process.command
    argv = SHELL if command is None else [*SHELL, "-c", command]
    columns, rows, _, _ = process.get_terminal_size()
    try:
        provisioner = await fleet()
        size = (columns, rows) if tty and columns and rows else None
        environment = {"TERM": terminal} if terminal else {}
        stream = await provisioner.shell.open(
            grant.instance_id, argv, tty=tty, size=size, environment=environment
        )
    except ProvisioningError as error:
        log.warning("ssh: no session into %s: %s", grant.instance_id, error)
        process.stderr.write(UNREACHABLE.encode() + (b"\r\n" if tty else b"\n"))
        process.exit(1)
        return
    status = CONNECTION_LOST
    try:
        status = await _bridge(process, provisioner, stream)
    except (OSError, asyncssh.Error) as error:  # the client or the engine went away
        log.info("ssh: session into %s ended: %s", grant.instance_id, error)
    finally:
        stream.close()
    with contextlib.suppress(OSError, asyncssh.Error):
        process.exit(status)


async def _bridge(
    process: asyncssh.SSHServerProcess[bytes], provisioner: Provisioner, stream: ExecStream
) -> int:
    stream.sock.setblocking(False)
    feeding = asyncio.create_task(_feed_input(process, provisioner, stream))
    output = asyncio.create_task(_pass_output(process, stream))
    # The client may go away with a program still running in the shell: then the session
    # ends here, without waiting for output that has nowhere to go.
    gone = asyncio.create_task(process.wait_closed())
    try:
        await asyncio.wait({output, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (feeding, output, gone):
            task.cancel()
        for task in (feeding, gone):
            with contextlib.suppress(asyncio.CancelledError, OSError, asyncssh.Error):
                await task
    if gone.done() and not gone.cancelled():
        with contextlib.suppress(ProvisioningError):
            await provisioner.shell.hang_up(stream)
        raise ConnectionAbortedError("the client went away")
    await output  # its error, if it failed
    return await _exit_status(provisioner, stream)


async def _pass_output(process: asyncssh.SSHServerProcess[bytes], stream: ExecStream) -> None:
    loop = asyncio.get_running_loop()
    frames = None if stream.tty else FrameReader()
    while True:
        data = await loop.sock_recv(stream.sock, CHUNK)
        if not data:
            return
        if frames is None:
            process.stdout.write(data)
        else:
            for kind, payload in frames.feed(data):
                (process.stderr if kind == STDERR else process.stdout).write(payload)
        await process.stdout.drain()


async def _feed_input(
    process: asyncssh.SSHServerProcess[bytes], provisioner: Provisioner, stream: ExecStream
) -> None:
    loop = asyncio.get_running_loop()
    while True:
        try:
            data = await process.stdin.read(CHUNK)
        except asyncssh.TerminalSizeChanged as change:
            if stream.tty and change.width and change.height:
                with contextlib.suppress(ProvisioningError):
                    await provisioner.shell.resize(stream, change.width, change.height)
            continue
        if not data:
            await _end_input(stream)
            return
        await loop.sock_sendall(stream.sock, data)


async def _end_input(stream: ExecStream) -> None:
    """The client's end of input (or the connection gone). Without a terminal, the
    process's stdin ends too. A terminal gets what a person would type, Ctrl-D: closing
    its input would make the engine end the output as well, losing what is on its way."""
    if stream.tty:
        with contextlib.suppress(OSError):
            await asyncio.get_running_loop().sock_sendall(stream.sock, END_OF_TEXT)
        return
    with contextlib.suppress(OSError):
        stream.sock.shutdown(socket.SHUT_WR)


async def _exit_status(provisioner: Provisioner, stream: ExecStream) -> int:
    deadline = asyncio.get_running_loop().time() + EXIT_STATUS_WAIT
    while True:
        try:
            code = await provisioner.shell.exit_code(stream)
        except ProvisioningError:
            return CONNECTION_LOST
        if code is not None:
            return code
        if asyncio.get_running_loop().time() > deadline:
            return CONNECTION_LOST  # still running with its output closed: the session ends anyway
        await asyncio.sleep(0.05)
