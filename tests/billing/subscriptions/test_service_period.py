"""What the dashboard tells a customer they are served and charged (issue 11): Stripe's
billing cycles, not the calendar month."""

from __future__ import annotations

from datetime import UTC, datetime

from billing.models import Subscription
from billing.subscriptions.service_period import next_charge, service_period
from plans.money import Money
from tests.fixtures.billing import sample_catalog

CATALOG = sample_catalog()


def at(month: int, day: int, hour: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def held(plan_id: str, started: datetime, **kw: object) -> Subscription:
    return Subscription(
        id="s1", customer_id="c1", plan_id=plan_id, plan_version=1, state="active",
        started_at=started, period_start=at(started.month, 1, year=started.year),
        period_end=at(12, 31), **kw,
    )  # fmt: skip


def test_a_subscription_started_on_the_7th_is_served_from_the_7th() -> None:
    """The dashboard showed 2026-12-01 to 2027-01-01 for one started on 7 December."""
    plan = CATALOG.get("server-m", 1)
    sub = held("server-m", at(12, 7, 10))
    period = service_period(sub, plan, at(12, 10))
    assert period is not None
    assert (period.start, period.end) == (at(12, 7, 10), at(1, 1, year=2027))
    charge = next_charge(sub, plan, at(12, 10))
    assert charge is not None
    assert (charge.at, charge.amount) == (at(1, 1, year=2027), plan.pricing.amount)


def test_a_trial_is_the_period_and_the_first_charge_is_prorated_to_the_1st() -> None:
    plan = CATALOG.get("app-starter", 1)
    sub = held("app-starter", at(12, 7, 10), trial_ends_at=at(1, 7, 10, year=2027))
    period = service_period(sub, plan, at(12, 10))
    assert period is not None
    assert (period.start, period.end, period.trial) == (
        at(12, 7, 10),
        at(1, 7, 10, year=2027),
        True,
    )
    charge = next_charge(sub, plan, at(12, 10))
    assert charge is not None
    assert charge.at == at(1, 7, 10, year=2027)
    assert charge.covers == (at(1, 7, 10, year=2027), at(2, 1, year=2027))
    # 24 days 14 hours of January's 31 days.
    price = plan.pricing.amount.minor
    assert charge.amount == Money(plan.pricing.currency, round(price * (24 * 24 + 14) / (31 * 24)))


def test_nothing_more_is_charged_after_a_cancellation_takes_effect() -> None:
    plan = CATALOG.get("server-m", 1)
    sub = held("server-m", at(11, 2), cancel_at=at(1, 1, year=2027))
    assert next_charge(sub, plan, at(12, 10)) is None
    period = service_period(sub, plan, at(12, 10))
    assert period is not None
    assert period.end == at(1, 1, year=2027)
