"""``dockyard plans sync``: what it creates in Stripe, that it is idempotent, and its errors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import click
import httpx
import pytest
import stripe
from click.testing import CliRunner

from billing.cli.stripe_sync import sync_command
from billing.settings import StripeSettings
from billing.stripe.catalog import _increment_price
from billing.stripe.client import make_client
from plans import Catalog
from plans.model import Interval, SupportPlan
from tests.fixtures.billing import sample_catalog
from tests.fixtures.stripe_double.fake import FakeStripe, stripe_settings
from tests.fixtures.stripe_double.wiring import mocked_stripe


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    yield from mocked_stripe()


@dataclass
class Runtime:
    settings: StripeSettings

    def current_catalog(self) -> Catalog:
        return sample_catalog()

    def stripe_client(self) -> stripe.StripeClient:
        return make_client(self.settings)


@click.group()
def cli() -> None:
    pass


cli.add_command(sync_command)


def _sync(*args: str, settings: StripeSettings | None = None) -> tuple[int, str]:
    runtime = Runtime(settings or stripe_settings())
    result = CliRunner().invoke(cli, ["sync", *args], obj=runtime)
    return result.exit_code, result.output


def _expected_counts() -> tuple[int, int, int]:
    catalog = sample_catalog()
    products = len(catalog.ids)
    fees = sum(1 for plan in catalog if plan.pricing.interval is not Interval.HOUR)
    minutes = sum(
        1
        for plan in catalog
        if isinstance(plan, SupportPlan)
        and plan.terms.model in ("per_hour", "hour_bank")
        # A yearly plan's minutes are invoiced monthly as items, not metered.
        and plan.pricing.interval is Interval.MONTH
    )
    return products, fees, minutes


def test_sync_creates_everything_once_and_nothing_the_second_time(fake: FakeStripe) -> None:
    code, output = _sync()
    assert code == 0, output
    products, fees, minutes = _expected_counts()
    assert len(fake.posts("/v1/billing/meters")) == 1
    assert len(fake.posts("/v1/products")) == products
    assert len(fake.posts("/v1/prices")) == fees + minutes
    assert f"created {1 + products + fees + minutes}, already in Stripe 0" in output

    before = len(fake.posts())
    code, output = _sync()
    assert code == 0, output
    assert len(fake.posts()) == before  # nothing new: no POST at all
    assert "created 0," in output


def test_created_objects_carry_exact_parameters(fake: FakeStripe) -> None:
    assert _sync()[0] == 0
    [meter] = fake.posts("/v1/billing/meters")
    assert meter.form == {
        "display_name": "Dockyard support minutes",
        "event_name": "dockyard_support_minutes",
        "default_aggregation[formula]": "sum",
        "customer_mapping[type]": "by_id",
        "customer_mapping[event_payload_key]": "stripe_customer_id",
        "value_settings[event_payload_key]": "value",
    }
    assert meter.idempotency_key == "dockyard-sync:dockyard_support_minutes"
    prices = {call.form["lookup_key"]: call for call in fake.posts("/v1/prices")}
    product = {call.form["metadata[dockyard_plan_id]"]: call for call in fake.posts("/v1/products")}
    assert product["support-20h"].form == {
        "name": "Support Contract 20 h",
        "description": "Twenty hours a month; up to 10 unused hours roll over for 3 months.",
        "metadata[dockyard_plan_id]": "support-20h",
        "metadata[dockyard_plan_kind]": "support",
    }
    support_product = fake.objects  # product ids were assigned by the fake
    product_id = next(
        o["id"] for o in support_product.values()
        if o["object"] == "product" and o["metadata"]["dockyard_plan_id"] == "support-20h"
    )  # fmt: skip
    assert prices["dockyard:support-20h:v1"].form == {
        "product": product_id,
        "currency": "eur",
        "unit_amount": "150000",
        "lookup_key": "dockyard:support-20h:v1",
        "nickname": "Support Contract 20 h v1",
        "recurring[interval]": "month",
        "recurring[usage_type]": "licensed",
        "metadata[dockyard_plan_id]": "support-20h",
        "metadata[dockyard_plan_version]": "1",
        "metadata[dockyard_price_role]": "fee",
    }
    meter_id = next(o["id"] for o in fake.objects.values() if o["object"] == "billing.meter")
    # 80.00 EUR an hour in 15-minute increments: 20.00 EUR an increment.
    assert prices["dockyard:support-20h:v1:minutes"].form == {
        "product": product_id,
        "currency": "eur",
        "lookup_key": "dockyard:support-20h:v1:minutes",
        "nickname": "Support Contract 20 h v1: support minutes",
        "recurring[interval]": "month",
        "recurring[usage_type]": "metered",
        "recurring[meter]": meter_id,
        "transform_quantity[divide_by]": "15",
        "transform_quantity[round]": "up",
        "unit_amount": "2000",
        "metadata[dockyard_plan_id]": "support-20h",
        "metadata[dockyard_plan_version]": "1",
        "metadata[dockyard_price_role]": "minutes",
    }
    # A one-off package: a one-time price; per-hour services: none.
    assert "recurring[interval]" not in prices["dockyard:training-onboarding:v1"].form
    assert not any(key.startswith("dockyard:developer-service:") for key in prices)
    assert "dockyard:support-flat:v1:minutes" not in prices
    # A yearly hour bank: a metered price would bill a year's minutes at the year's end;
    # its months' minutes are invoiced as items instead (billing.support_time.usage_invoicing).
    assert "dockyard:support-10h:v1:minutes" not in prices


def test_inexact_increment_prices_use_a_decimal() -> None:
    assert _increment_price(9500, 15) == (2375, None)
    whole, exact = _increment_price(9999, 7)
    assert whole is None
    assert str(exact) == "1166.550000000000"


def test_dry_run_sends_nothing(fake: FakeStripe) -> None:
    code, output = _sync("--dry-run")
    assert code == 0, output
    assert fake.posts() == []
    assert "dockyard:support-payg:v1:minutes" in output
    assert "dry run: would create" in output


def test_a_missing_key_is_one_clear_line() -> None:
    code, output = _sync(settings=StripeSettings())
    assert code == 1
    assert output.strip().splitlines() == [
        "Error: no Stripe key configured: set DOCKYARD_STRIPE_SECRET_KEY (billing stays offline)"
    ]


def test_stripe_unreachable_is_one_clear_line(fake: FakeStripe) -> None:
    fake.fail(1, httpx.ConnectError)
    code, output = _sync()
    assert code == 1
    [line] = output.strip().splitlines()
    assert line.startswith("Error: Stripe unreachable")
