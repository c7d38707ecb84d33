"""The gateway's host key: generated on first start, then the same at every start (and
in every process that runs a gateway), so customers' ``known_hosts`` stay valid."""

from __future__ import annotations

import os
from pathlib import Path

import asyncssh

HOST_KEY_FILE = "ssh_host_ed25519_key"


def load_or_create_host_key(directory: Path) -> asyncssh.SSHKey:
    path = directory / HOST_KEY_FILE
    if path.exists():
        return asyncssh.read_private_key(path)
    directory.mkdir(parents=True, exist_ok=True)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="dockyard ssh gateway")
    # Written once, readable by this user alone; O_EXCL: two processes starting at once
    # must not each write their own (the loser reads the winner's).
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return asyncssh.read_private_key(path)
    with os.fdopen(descriptor, "wb") as file:
        file.write(key.export_private_key())
    return key
