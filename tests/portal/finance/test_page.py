"""/finance: the reconciliation for the finance role, its chart and its CSV download."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from litestar.testing import TestClient

from billing.models import Customer, Subscription
from portal.accounts.models import Role
from portal.app import create_app
from portal.runtime import Runtime
from tests.fixtures.billing import make_customer, make_subscription
from tests.fixtures.clock import MovableClock
from tests.fixtures.portal import Portal, portal_settings
from tests.fixtures.reconcile import SERVER_M, monthly_fee_invoices
from tests.fixtures.stripe_double.fake import (
    FakeStripe,
    stripe_settings,
)
from tests.fixtures.stripe_double.wiring import mocked_stripe

NOV = 1_793_491_200  # 2026-11-01 UTC
DEC = 1_796_083_200  # 2026-12-01 UTC


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    yield from mocked_stripe()


@pytest.fixture
def finance(tmp_path: Path, portal_namespace: str, fake_stripe: FakeStripe) -> Iterator[Portal]:
    """A portal with billing online, on 20 December, a finance user signed in."""
    clock = MovableClock(datetime(2026, 12, 20, tzinfo=UTC))
    fake_stripe.clock = clock  # Stripe's "now" too
    settings = portal_settings(tmp_path, portal_namespace, stripe=stripe_settings())
    with TestClient(create_app(Runtime(settings, clock=clock))) as client:
        browser = Portal(client, clock, settings)
        browser.staff("fiona@dockyard.example", Role.FINANCE)
        yield browser


async def _holder(portal: Portal) -> tuple[Customer, Subscription]:
    october = datetime(2026, 10, 1, tzinfo=UTC)
    async with portal.services.sessions() as session, session.begin():
        holder = await make_customer(
            session, october, id="c_fin", name="Harbour <Bakery>", stripe_customer_id="cus_f"
        )
        held = await make_subscription(
            session, holder, "server-m", october, stripe_subscription_id="sub_f"
        )
        return holder, held


def issue(fake: FakeStripe, november_amount: int) -> None:
    monthly_fee_invoices(fake, "f", ((NOV, november_amount), (DEC, SERVER_M)))


def test_the_form_proposes_last_month(finance: Portal) -> None:
    answer = finance.get("/finance")

    assert answer.status_code == 200
    assert 'value="2026-11"' in answer.text


def test_a_clean_month_says_so_with_its_totals_and_chart(
    finance: Portal, fake_stripe: FakeStripe
) -> None:
    finance.run(_holder, finance)
    issue(fake_stripe, SERVER_M)

    answer = finance.get("/finance?period=2026-11")

    assert answer.status_code == 200
    assert "Everything matches." in answer.text
    assert "24.00 EUR" in answer.text
    assert "<svg" in answer.text
    assert 'class="bar-expected"' in answer.text
    assert 'class="bar-invoiced"' in answer.text


def test_a_difference_is_listed_with_its_action_and_exported_as_csv(
    finance: Portal, fake_stripe: FakeStripe
) -> None:
    finance.run(_holder, finance)
    issue(fake_stripe, 2000)

    answer = finance.get("/finance?period=2026-11")
    export = finance.get("/finance/reconcile.csv?period=2026-11")

    assert "amount mismatch" in answer.text
    assert "credit note" in answer.text
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert 'filename="reconcile-2026-11.csv"' in export.headers["content-disposition"]
    header, row = export.text.splitlines()[:2]
    assert header.startswith("period,customer_id,key,kind")
    assert ",2400,2000,-400," in row


def test_a_malformed_period_is_a_message_not_a_crash(finance: Portal) -> None:
    answer = finance.get("/finance?period=november")

    assert answer.status_code == 400
    assert "november" in answer.text


def test_stripe_down_is_a_message(finance: Portal, fake_stripe: FakeStripe) -> None:
    fake_stripe.fail(50, 503)

    answer = finance.get("/finance?period=2026-11")

    assert answer.status_code == 400
    assert "Stripe" in answer.text


def test_operators_may_look_and_customers_may_not(finance: Portal) -> None:
    finance.sign_out()
    finance.staff("olga@dockyard.example", Role.OPERATOR)
    assert finance.get("/finance").status_code == 200

    finance.sign_out()
    finance.sign_up("ann@example.com")
    assert finance.get("/finance").status_code == 403
    assert finance.get("/finance/reconcile.csv?period=2026-11").status_code == 403
