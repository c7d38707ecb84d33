"""``dockyard plans``: validate, list, show and diff from the command line."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from plans.cli import plans_group
from tests.fixtures.catalog import (
    CODE_REVIEW,
    DEVELOPER_V2,
    MIGRATE,
    append_plan,
    copy_sample,
    edit_file,
    line_of,
    plan_yaml,
    remove_plan,
    set_line,
)

SAMPLE_IDS = (
    "server-s",
    "server-m",
    "server-l",
    "app-starter",
    "app-business",
    "support-flat",
    "support-10h",
    "support-20h",
    "support-payg",
    "developer-service",
    "training-onboarding",
)


def _root() -> tuple[click.Group, list[str]]:
    """The real ``dockyard`` command when portal is importable, else the plans group alone."""
    try:
        from portal.cli import dockyard
    except ImportError:
        return plans_group, []
    return dockyard, ["plans"]


@pytest.fixture(autouse=True)
def _bundled_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKYARD_CATALOG_DIR", raising=False)


def run(*args: str | Path) -> Result:
    command, prefix = _root()
    return CliRunner().invoke(command, [*prefix, *map(str, args)])


def test_validate_the_sample() -> None:
    result = run("validate")

    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == "ok: 12 plan versions (11 plans)\n"


def test_validate_a_broken_directory(tmp_path: Path) -> None:
    text = set_line(plan_yaml("server_hosting"), "currency:", "currency: eur")
    (tmp_path / "broken.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "bad.yaml").write_bytes(b"plans: \xff\n")

    result = run("validate", tmp_path)

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a crash
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{tmp_path / 'bad.yaml'}:1:1: not UTF-8 text (byte 7)",
        f"{tmp_path / 'broken.yaml'}:{line_of(text, 'currency:')}:17: plan 'server-test': "
        "pricing.currency: "
        "unknown currency 'eur' (codes are upper case: 'EUR'); "
        "expected an ISO 4217 code such as EUR",
    ]


def test_validate_reads_the_directory_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if _root()[0] is plans_group:
        pytest.skip("portal.cli is not importable: DOCKYARD_CATALOG_DIR is read by dockyard")
    (tmp_path / "one.yaml").write_text(plan_yaml("service_package"), encoding="utf-8")
    monkeypatch.setenv("DOCKYARD_CATALOG_DIR", str(tmp_path))

    assert run("validate").stdout == "ok: 1 plan versions (1 plans)\n"


def test_list_shows_every_plan() -> None:
    result = run("list", "--on", "2026-11-30")

    assert result.exit_code == 0
    rows = [line.split("│")[1].strip() for line in result.stdout.splitlines() if "│" in line]
    assert sorted(rows) == sorted([*SAMPLE_IDS, "server-s"])  # two versions of server-s
    assert "offered on 2026-11-30" in result.stdout


def test_show_application_hosting_says_what_is_included() -> None:
    result = run("show", "app-starter")

    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "Included            running the application, maintenance, updates" in lines
    assert "Price               29.00 EUR/month" in lines
    assert "Free trial          1 month" in lines
    assert not any(line.startswith("Not included") for line in lines)


def test_show_server_hosting_says_what_is_not_included() -> None:
    result = run("show", "server-s")

    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "Not included        server administration, end-user support" in lines
    assert "Plan                server-s version 2 (server hosting)" in lines
    assert "Existing customers  move here from 2027-01-01" in lines


def test_show_a_specific_version() -> None:
    result = run("show", "server-s", "--version", "1")

    assert "Plan                server-s version 1 (server hosting)" in result.stdout.splitlines()


def test_show_an_unknown_plan() -> None:
    result = run("show", "nope")

    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert result.stderr.startswith(
        "Error: plan 'nope' is not in the catalog; known plans: server-l, server-m, server-s,"
    )


def test_diff(tmp_path: Path) -> None:
    old = copy_sample(tmp_path / "old")
    new = copy_sample(tmp_path / "new")
    append_plan(new / "services.yaml", CODE_REVIEW)
    append_plan(new / "services.yaml", DEVELOPER_V2 + MIGRATE)
    remove_plan(new / "server-hosting.yaml", "server-m")
    edit_file(new / "support.yaml", 'amount: "390.00"', 'amount: "420.00"')

    result = run("diff", old, new)

    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "+ code-review v1 added: no existing customer affected",
        "    new plan: no existing customers",
        "+ developer-service v2 added: AFFECTS EXISTING CUSTOMERS",
        "    customers on earlier versions move to version 2 from 2027-03-01",
        "- server-m v1 removed: AFFECTS EXISTING CUSTOMERS",
        "    customers holding this version lose its definition; keep it in the catalog and "
        "close it with available.until instead",
        "~ support-flat v1 changed: AFFECTS EXISTING CUSTOMERS",
        "    existing customers on version 1 are affected at once (pricing.amount.minor); "
        "publish version 2 instead to grandfather them",
        "    pricing.amount.minor: 39000 -> 42000",
        "4 changes, 3 affecting existing customers",
    ]


def test_diff_without_changes(tmp_path: Path) -> None:
    result = run("diff", copy_sample(tmp_path / "a"), copy_sample(tmp_path / "b"))

    assert (result.exit_code, result.stdout) == (0, "no changes\n")


def test_diff_against_a_broken_catalog(tmp_path: Path) -> None:
    new = copy_sample(tmp_path / "new")
    edit_file(new / "services.yaml", "interval: once", "interval: monthly")

    result = run("diff", copy_sample(tmp_path / "old"), new)

    assert result.exit_code == 1
    assert "pricing.interval: 'monthly' is not allowed; allowed: once" in result.stderr
    assert "Traceback" not in result.output
