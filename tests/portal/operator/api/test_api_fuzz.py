"""The operator API fuzzed by schemathesis against its own OpenAPI document (issue 11):
generated requests (examples, coverage, fuzzing and stateful phases, bounded) with an
operator token and a finance token, every check on: no server error, no status code the
document does not list, no response that contradicts its schema, no request the schema
allows refused as malformed; and a finance token never changes anything. Each runs on
SQLite and on PostgreSQL (a database of its own), whose types are stricter: a NUL in a
string or an id past a column's integer range must be a 4xx there too, never a 500."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from portal.accounts.models import Role
from portal.accounts.service import Accounts
from portal.mail import make_mailer
from tests.fixtures.live_portal import LivePortal

pytestmark = pytest.mark.docker  # the live portal's worker reaches the engine

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EXAMPLES = 25  # per operation and phase: bounded, so the run stays well under a minute


def token_for(portal: LivePortal, email: str, role: Role) -> str:
    async def issue() -> str:
        runtime = portal.runtime
        async with runtime.database() as sessions:
            billing = runtime.billing_context(sessions)
            accounts = Accounts(sessions, billing, make_mailer(runtime.settings.mail), portal.url)
            user, _ = await accounts.create_staff(email, role, "", "a long enough password")
            return await accounts.issue_token(user.id, "fuzz")

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, issue()).result()


def fuzz(
    portal: LivePortal, token: str, phases: str, workdir: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{portal.url}/api/v1/schema/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "all",
            "--phases",
            phases,
            "--max-examples",
            str(EXAMPLES),
            "--seed",
            "20261207",
            "--no-color",
        ],
        # Schemathesis keeps a crash cache (.schemathesis/) in its working directory and
        # replays it on the next run: the test's own directory keeps every run independent.
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    ("role", "phases"),
    [
        (Role.OPERATOR, "examples,coverage,fuzzing,stateful"),
        (Role.FINANCE, "examples,coverage,fuzzing"),
    ],
)
def test_the_operator_api_holds_under_schemathesis(
    live_portal_on_each_database: LivePortal, role: Role, phases: str, tmp_path: Path
) -> None:
    portal = live_portal_on_each_database
    token = token_for(portal, f"{role.value}@example.com", role)

    run = fuzz(portal, token, phases, tmp_path)

    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in run.stdout


def test_a_finance_token_changes_nothing(live_portal_on_each_database: LivePortal) -> None:
    """Every write the document lists, with a finance token: 403, nothing changed."""
    portal = live_portal_on_each_database
    token = token_for(portal, "fin@example.com", Role.FINANCE)
    headers = {"Authorization": f"Bearer {token}"}
    document = httpx.get(f"{portal.url}/api/v1/schema/openapi.json").json()
    writes = [
        (method, path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in ("post", "put", "patch", "delete")
    ]
    assert writes
    for method, path in writes:
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        answer = httpx.request(method, f"{portal.url}{concrete}", headers=headers, json={})
        assert answer.status_code == 403, (method, path, answer.status_code)
