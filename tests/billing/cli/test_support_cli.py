"""``support`` commands over a scratch SQLite database, through a tiny fake runtime."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from billing.cli.support import support_group
from billing.support_time.ledger import Ledger
from portal import migrate
from portal.database import create_engine, create_session_factory
from portal.settings import DatabaseSettings
from tests.fixtures.billing import billing_context, make_customer, make_subscription
from tests.fixtures.clock import MovableClock


class FakeRuntime:
    """Provides ``ledger()`` the way portal's runtime does, over one SQLite file."""

    def __init__(self, url: str, clock: MovableClock) -> None:
        self.url = url
        self.clock = clock

    @asynccontextmanager
    async def ledger(self) -> AsyncIterator[Ledger]:
        # Each command runs its own event loop, so each gets its own engine.
        engine = create_engine(DatabaseSettings(url=self.url))
        try:
            yield Ledger(billing_context(engine, self.clock))
        finally:
            await engine.dispose()


@pytest.fixture
def runtime(tmp_path: Path) -> FakeRuntime:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    clock = MovableClock(datetime(2026, 11, 2, 9, tzinfo=UTC))

    async def prepare() -> None:
        engine = create_engine(DatabaseSettings(url=url))
        await migrate.upgrade(engine)
        async with create_session_factory(engine)() as session, session.begin():
            payg = await make_customer(session, clock(), id="cpayg")
            await make_subscription(session, payg, "support-payg", clock(), monthly_cap_minutes=60)
            await make_customer(session, clock(), id="cnone")
        await engine.dispose()

    asyncio.run(prepare())
    clock.advance(days=10)
    return FakeRuntime(url, clock)


def invoke(runtime: FakeRuntime, *args: str) -> Result:
    return CliRunner().invoke(support_group, list(args), obj=runtime)


def test_log_summary_approve_and_reject(runtime: FakeRuntime) -> None:
    logged = invoke(runtime, "log", "cpayg", "40", "--note", "password reset", "--staff", "ana")
    assert logged.exit_code == 0, logged.output
    assert "2026-11     40 min  support" in logged.output
    assert "recorded billable +45 min" in logged.output

    over = invoke(
        runtime,
        "log",
        "cpayg",
        "30",
        "--note",
        "export",
        "--staff",
        "ana",
        "--at",
        "2026-11-05T10:00",
    )
    assert over.exit_code == 0, over.output
    assert "pending_approval" in over.output
    assert "waiting for their approval" in over.output
    waiting = over.output.split()[0]

    third = invoke(runtime, "log", "cpayg", "200", "--note", "long call", "--staff", "ana")
    declined = third.output.split()[0]

    approved = invoke(runtime, "approve", waiting, "--by", "Ms Customer")
    assert approved.exit_code == 0, approved.output
    assert "approved billable +30 min" in approved.output
    assert "rejected" in invoke(runtime, "reject", declined).output

    summary = invoke(runtime, "summary", "cpayg", "--period", "2026-11")
    assert summary.exit_code == 0, summary.output
    assert "period     2026-11 (per_hour)" in summary.output
    assert "billable   1 h 15 min" in summary.output
    assert "export" in summary.output
    assert "[approved by Ms Customer" not in summary.output  # notes show their first line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("log", "nobody", "30", "--note", "x"), "Error: no customer 'nobody'"),
        (("log", "cnone", "30", "--note", "x"), "has no support plan subscription"),
        (("log", "cpayg", "0", "--note", "x"), "1 to 1440 minutes"),
        (("log", "cpayg", "30", "--note", "x", "--at", "soon"), "2026-11-20T14:30"),
        (("summary", "cpayg", "--period", "2026-13"), "YYYY-MM"),
        (("approve", "se_missing"), "Error: no support entry 'se_missing'"),
    ],
)
def test_errors_are_one_line(runtime: FakeRuntime, args: tuple[str, ...], message: str) -> None:
    result = invoke(runtime, *args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
