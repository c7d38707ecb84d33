"""``dockyard instances backups | backup | restore`` end to end on the real engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.provisioner.test_cli import invoke

pytestmark = [pytest.mark.docker, pytest.mark.backup]


def test_an_operator_backs_up_lists_and_restores(tmp_path: Path, run_id: str) -> None:
    code, out = invoke(tmp_path, run_id, "instances", "provision", f"{run_id}c0", "app-starter")
    assert code == 0, out
    instance_id = out.split()[0]

    code, out = invoke(tmp_path, run_id, "instances", "backup", instance_id)
    assert code == 0, out
    backup_id = out.split()[0]
    assert "manual" in out
    assert "succeeded" in out

    code, out = invoke(tmp_path, run_id, "instances", "backups", instance_id)
    assert code == 0
    assert backup_id in out
    assert "sha256:" in out

    code, out = invoke(tmp_path, run_id, "instances", "restore", instance_id, backup_id)
    assert code == 0, out
    assert f"{instance_id}: restored: data restored from backup {backup_id}" in out

    [archive] = (tmp_path / "backups" / instance_id).iterdir()
    archive.write_bytes(archive.read_bytes()[:-10])
    code, out = invoke(tmp_path, run_id, "instances", "restore", instance_id, backup_id)
    assert code == 1
    assert f"Error: backup {backup_id} is damaged" in out
    assert "Traceback" not in out


def test_unknown_backups_and_instances_are_clear_errors(tmp_path: Path, run_id: str) -> None:
    code, out = invoke(tmp_path, run_id, "instances", "backups", "i0000000000")
    assert (code, out.strip()) == (1, "Error: no instance 'i0000000000'")

    code, out = invoke(tmp_path, run_id, "instances", "provision", f"{run_id}c0", "app-starter")
    instance_id = out.split()[0]
    code, out = invoke(tmp_path, run_id, "instances", "restore", instance_id, "b000")
    assert (code, out.strip()) == (1, "Error: no backup 'b000'")
    code, out = invoke(tmp_path, run_id, "instances", "backups", instance_id)
    assert (code, out.strip()) == (0, "no backups")
