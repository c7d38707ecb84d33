"""``dockyard outbox list|retry|drain`` on a real database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import stripe
from click.testing import CliRunner
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.cli.outbox import outbox_group
from billing.context import BillingContext
from billing.outbox import OutboxKind
from billing.stripe.client import make_client
from portal import migrate
from portal.database import create_engine
from portal.settings import DatabaseSettings
from tests.fixtures.billing import make_customer, outbox_row
from tests.fixtures.clock import MovableClock
from tests.fixtures.stripe_double.fake import FakeStripe
from tests.fixtures.stripe_double.wiring import mocked_stripe, rows, stripe_ctx


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    yield from mocked_stripe()


@dataclass
class Runtime:
    ctx: BillingContext

    @asynccontextmanager
    async def billing(self) -> AsyncIterator[BillingContext]:
        yield self.ctx

    def stripe_client(self) -> stripe.StripeClient:
        return make_client(self.ctx.stripe)


async def _invoke(ctx: BillingContext, *args: str) -> tuple[int, str]:
    # The CLI runs its own event loop (asyncio.run): give it a thread of its own.
    result = await asyncio.to_thread(CliRunner().invoke, outbox_group, list(args), obj=Runtime(ctx))
    return result.exit_code, result.output


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """SQLite only: the CLI runs its own event loop, and asyncpg connections cannot cross
    loops. The queries are the same ones the PostgreSQL tests of the sender run."""
    engine = create_engine(DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"))
    await migrate.upgrade(engine)
    yield engine
    await engine.dispose()


async def test_list_retry_and_drain(sqlite_engine: AsyncEngine, fake: FakeStripe) -> None:
    engine = sqlite_engine
    clock = MovableClock()
    fake.clock = clock  # Stripe's "now" too
    ctx = stripe_ctx(engine, clock)
    async with ctx.sessions() as session, session.begin():
        customer = await make_customer(session, clock(), stripe_customer_id="cus_1")
        await outbox_row(session, kind=OutboxKind.METER_EVENT,
                      payload={"customer_id": customer.id, "entry_id": "e1", "minutes": 30,
                               "timestamp": 1_795_000_000},
                      key="meter:e1", now=clock())  # fmt: skip
    fake.fail(1, 400)
    await engine.dispose()

    code, output = await _invoke(ctx, "drain")
    assert (code, output.strip()) == (0, "sent 0, retrying 0, dead 1, waiting 0")
    code, output = await _invoke(ctx, "list", "--state", "dead")
    assert code == 0
    assert "meter:e1" in output
    assert "No such customer: 'cus_missing'" in output

    [row] = await rows(ctx)
    await engine.dispose()
    code, output = await _invoke(ctx, "retry", str(row.id))
    assert (code, output.strip()) == (0, f"outbox message {row.id} is pending again")
    code, output = await _invoke(ctx, "retry", str(row.id))
    assert code == 1
    assert output.strip() == f"Error: outbox message {row.id} is not dead; nothing to retry"
    code, output = await _invoke(ctx, "retry", "999")
    assert output.strip() == "Error: no outbox message 999"

    code, output = await _invoke(ctx, "drain")
    assert output.strip() == "sent 1, retrying 0, dead 0, waiting 0"
    await engine.dispose()
    assert [(r.state, r.stripe_id) for r in await rows(ctx)] == [("sent", "meter:e1")]
