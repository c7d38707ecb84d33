"""The gateway's host key: made once, the same at every start, readable by its owner only."""

from __future__ import annotations

from pathlib import Path

from portal.ssh.host_key import HOST_KEY_FILE, load_or_create_host_key


def test_the_host_key_is_made_once_and_kept(tmp_path: Path) -> None:
    directory = tmp_path / "var" / "ssh"

    first = load_or_create_host_key(directory)
    again = load_or_create_host_key(directory)

    assert first.get_fingerprint() == again.get_fingerprint()
    assert (directory / HOST_KEY_FILE).stat().st_mode & 0o777 == 0o600
