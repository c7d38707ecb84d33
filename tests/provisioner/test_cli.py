"""``dockyard instances`` end to end: the real engine, a scratch SQLite file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from portal.cli import dockyard

pytestmark = pytest.mark.docker


def invoke(tmp_path: Path, run: str, *args: str) -> tuple[int, str]:
    env = {
        "DOCKYARD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}",
        "DOCKYARD_NAMESPACE": run,
        "DOCKYARD_HEALTH_TIMEOUT_SECONDS": "30",
        "DOCKYARD_HEALTH_INTERVAL_SECONDS": "1",
        "DOCKYARD_BACKUP_DIR": str(tmp_path / "backups"),
    }
    result = CliRunner().invoke(dockyard, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_an_operator_runs_an_instance_from_the_terminal(tmp_path: Path, run_id: str) -> None:
    code, out = invoke(tmp_path, run_id, "instances", "provision", f"{run_id}c0", "app-starter")
    assert code == 0, out
    instance_id = out.split()[0]
    assert re.fullmatch(r"i[0-9a-f]{10}", instance_id)

    code, out = invoke(tmp_path, run_id, "instances", "list")
    assert code == 0
    assert instance_id in out
    assert "app-starter@1" in out

    code, out = invoke(tmp_path, run_id, "instances", "suspend", instance_id, "--note", "abuse")
    assert (code, "stopped" in out, "suspended:manual" in out) == (0, True, True)
    code, out = invoke(tmp_path, run_id, "instances", "resume", instance_id)
    assert code == 0
    assert "suspended" not in out

    code, out = invoke(tmp_path, run_id, "instances", "show", instance_id)
    assert code == 0
    for event in ("created", "suspended", "resumed"):
        assert event in out

    code, out = invoke(tmp_path, run_id, "instances", "reconcile")
    assert code == 0, out
    assert "1 instances" in out

    code, out = invoke(tmp_path, run_id, "instances", "terminate", instance_id, "--yes")
    assert (code, "terminated" in out) == (0, True)


def test_unknown_instance_and_plan_are_clear_errors(tmp_path: Path, run_id: str) -> None:
    code, out = invoke(tmp_path, run_id, "instances", "show", "i0000000000")
    assert code == 1
    assert "Error: no instance 'i0000000000'" in out

    code, out = invoke(tmp_path, run_id, "instances", "provision", "acme", "support-flat")
    assert code == 1
    assert "only hosting plans run as instances" in out


def test_an_unreachable_engine_is_one_line_not_a_traceback(tmp_path: Path, run_id: str) -> None:
    env = {
        "DOCKYARD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}",
        "DOCKYARD_DOCKER_URL": "tcp://127.0.0.1:1",
    }
    result = CliRunner().invoke(dockyard, ["instances", "list"], env=env)

    assert result.exit_code == 1
    assert "does not answer" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DOCKYARD_BACKEND", "kubernetes", "DOCKYARD_BACKEND='kubernetes': use docker or swarm"),
        ("DOCKYARD_HEALTH_TIMEOUT_SECONDS", "soon", "expected a number"),
        ("DOCKYARD_VOLUME_RETENTION_DAYS", "-1", "must not be negative"),
    ],
)
def test_a_bad_setting_names_the_variable(variable: str, value: str, message: str) -> None:
    result = CliRunner().invoke(dockyard, ["instances", "list"], env={variable: value})

    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_an_unknown_plan_is_a_clear_error(tmp_path: Path, run_id: str) -> None:
    code, out = invoke(tmp_path, run_id, "instances", "provision", "acme", "app-huge")

    assert code == 1
    assert "plan 'app-huge' is not in the catalog" in out
