"""Process sessions on this host, read from /proc: what a terminal's hang-up reaches.

An exec'd shell is the leader of a session of its own (the engine gives it a terminal);
the programs it starts, in their own process groups, keep that session id. Closing a
real terminal signals them; an exec's terminal is never closed, so this does it.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

PROC = Path("/proc")


def hang_up_session(leader: int) -> int:
    """SIGHUP to every process whose session ``leader`` leads; how many were signalled."""
    if _session_of(leader) != leader:  # gone, reused, or not a session leader
        return 0
    members = [
        int(entry.name)
        for entry in PROC.iterdir()
        if entry.name.isdigit() and _session_of(int(entry.name)) == leader
    ]
    signalled = 0
    for pid in members:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGHUP)
            signalled += 1
    return signalled


def _session_of(pid: int) -> int | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # pid (comm) state ppid pgrp session ...; comm may hold spaces and parentheses.
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[3]) if len(fields) > 3 else None
