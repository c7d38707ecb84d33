"""``dockyard ssh-gateway`` says plainly when it cannot listen."""

from __future__ import annotations

import socket
from pathlib import Path

from click.testing import CliRunner

from portal.cli import dockyard


def test_a_taken_port_is_named_with_the_variables_to_change(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        environment = {
            "DOCKYARD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}",
            "DOCKYARD_SSH_PORT": str(port),
            "DOCKYARD_SSH_KEY_DIR": str(tmp_path / "ssh"),
        }

        result = CliRunner().invoke(dockyard, ["ssh-gateway"], env=environment)

    assert result.exit_code == 1, result.output
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "DOCKYARD_SSH_PORT" in result.output


def test_a_bad_port_setting_is_named() -> None:
    result = CliRunner().invoke(dockyard, ["ssh-gateway"], env={"DOCKYARD_SSH_PORT": "22x"})

    assert result.exit_code == 1
    assert "configuration: DOCKYARD_SSH_PORT='22x'" in result.output
