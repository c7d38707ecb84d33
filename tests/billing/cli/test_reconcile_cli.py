"""``dockyard reconcile`` from cron's point of view: the summary, exit 0 when clean, 1 with
findings (and the CSV for accounting), 2 when it could not run, JSON for scripts."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from portal import migrate
from portal.cli import dockyard
from portal.database import create_engine, create_session_factory
from portal.settings import DatabaseSettings
from tests.fixtures.billing import make_customer, make_subscription
from tests.fixtures.reconcile import SERVER_M, monthly_fee_invoices
from tests.fixtures.stripe_double.fake import (
    API,
    SECRET_KEY,
    FakeStripe,
)
from tests.fixtures.stripe_double.wiring import mocked_stripe

OCT = 1_790_812_800  # 2026-10-01 UTC
NOV = 1_793_491_200  # 2026-11-01 UTC


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    yield from mocked_stripe()


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A database with one customer on Server M since September, known to Stripe."""
    monkeypatch.chdir(tmp_path)  # the checkpoint goes to ./var
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"

    async def prepare() -> None:
        engine = create_engine(DatabaseSettings(url=url))
        await migrate.upgrade(engine)
        september = datetime(2026, 9, 1, tzinfo=UTC)
        async with create_session_factory(engine)() as session, session.begin():
            holder = await make_customer(session, september, id="c_cli", stripe_customer_id="cus_c")
            await make_subscription(
                session, holder, "server-m", september, stripe_subscription_id="sub_c"
            )
        await engine.dispose()

    asyncio.run(prepare())
    return {
        "DOCKYARD_DATABASE_URL": url,
        "DOCKYARD_STRIPE_SECRET_KEY": SECRET_KEY,
        "DOCKYARD_STRIPE_API_BASE": API,
    }


def issue(fake: FakeStripe, october_amount: int = SERVER_M) -> None:
    monthly_fee_invoices(fake, "c", ((OCT, october_amount), (NOV, SERVER_M)))


def test_a_clean_month_exits_0_with_its_totals(
    environment: dict[str, str], fake_stripe: FakeStripe
) -> None:
    issue(fake_stripe)

    result = CliRunner().invoke(dockyard, ["reconcile", "--period", "2026-10"], env=environment)

    assert result.exit_code == 0, result.output
    assert "EUR: expected 24.00 EUR, invoiced 24.00 EUR, paid 24.00 EUR" in result.output
    assert "Everything matches." in result.output


def test_findings_exit_1_and_the_csv_lists_them(
    environment: dict[str, str], fake_stripe: FakeStripe, tmp_path: Path
) -> None:
    issue(fake_stripe, october_amount=2000)
    target = tmp_path / "october.csv"

    result = CliRunner().invoke(
        dockyard, ["reconcile", "--period", "2026-10", "--csv", str(target)], env=environment
    )

    assert result.exit_code == 1, result.output
    assert "amount_mismatch · customer c_cli · expected 24.00 EUR, actual 20.00 EUR" in (
        result.output
    )
    rows = list(csv.DictReader(target.read_text().splitlines()))
    assert [(r["key"].split(":")[0], r["difference_minor"], r["status"]) for r in rows] == [
        ("fee", "-400", "amount_mismatch")
    ]
    assert "credit note" in rows[0]["action"]


def test_json_for_scripts(environment: dict[str, str], fake_stripe: FakeStripe) -> None:
    issue(fake_stripe)

    result = CliRunner().invoke(
        dockyard, ["reconcile", "--period", "2026-10", "--json"], env=environment
    )

    report = json.loads(result.output)
    assert report["clean"] is True
    assert report["totals"] == {
        "EUR": {"expected": 2400, "invoiced": 2400, "paid": 2400, "credited": 0, "difference": 0}
    }


def test_stripe_down_exits_2_and_says_how_to_resume(
    environment: dict[str, str], fake_stripe: FakeStripe
) -> None:
    issue(fake_stripe)
    fake_stripe.fail(50, 503)

    result = CliRunner().invoke(dockyard, ["reconcile", "--period", "2026-10"], env=environment)

    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "Run it again" in result.output


def test_a_malformed_period_and_missing_stripe_key_are_one_line_errors(
    environment: dict[str, str],
) -> None:
    bad = CliRunner().invoke(dockyard, ["reconcile", "--period", "October"], env=environment)
    offline = CliRunner().invoke(
        dockyard,
        ["reconcile", "--period", "2026-10"],
        env={**environment, "DOCKYARD_STRIPE_SECRET_KEY": ""},
    )

    assert bad.exit_code != 0
    assert "October" in bad.output
    assert offline.exit_code != 0
    assert "DOCKYARD_STRIPE_SECRET_KEY" in offline.output
    assert "Traceback" not in bad.output + offline.output
