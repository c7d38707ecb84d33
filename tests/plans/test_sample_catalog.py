"""The bundled sample catalog (plans/catalog/*.yaml) loads and says what it should."""

from __future__ import annotations

import pytest

from plans import (
    ApplicationHostingPlan,
    Catalog,
    Interval,
    Money,
    PlanKind,
    ServerHostingPlan,
    ServicePlan,
    SupportPlan,
    load_catalog,
)
from plans.model import (
    EarlyCancellation,
    FlatRate,
    HourBank,
    PerHour,
    Rollover,
    ServiceBilling,
    ServiceCategory,
    SupportScope,
)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _ids(catalog: Catalog, kind: PlanKind) -> set[str]:
    return {plan.id for plan in catalog if plan.kind is kind}


def test_sample_has_every_kind(catalog: Catalog) -> None:
    assert _ids(catalog, PlanKind.SERVER_HOSTING) == {"server-s", "server-m", "server-l"}
    assert _ids(catalog, PlanKind.APPLICATION_HOSTING) == {"app-starter", "app-business"}
    assert _ids(catalog, PlanKind.SUPPORT) == {
        "support-flat",
        "support-10h",
        "support-20h",
        "support-payg",
    }
    assert _ids(catalog, PlanKind.SERVICE) == {"developer-service", "training-onboarding"}


def test_server_sizes_grow(catalog: Catalog) -> None:
    sizes = [catalog.get(plan_id) for plan_id in ("server-s", "server-m", "server-l")]

    assert all(isinstance(plan, ServerHostingPlan) for plan in sizes)
    resources = [plan.resources for plan in sizes if isinstance(plan, ServerHostingPlan)]
    assert [r.memory_mb for r in resources] == [1024, 4096, 16384]
    assert [r.cpus for r in resources] == ["1", "2", "4"]


def test_application_tiers_run_the_demo_image(catalog: Catalog) -> None:
    for plan_id, tier in (("app-starter", "starter"), ("app-business", "business")):
        plan = catalog.get(plan_id)
        assert isinstance(plan, ApplicationHostingPlan)
        # Both merge the x-demo-app anchor and add their own environment.
        assert plan.application.image.reference == "dockyard-demo:1"
        assert plan.application.port == 8080
        assert plan.application.env == {"DOCKYARD_TIER": tier}
        assert [volume.path for volume in plan.application.volumes] == ["/data"]


def _support(catalog: Catalog, plan_id: str) -> SupportPlan:
    plan = catalog.get(plan_id)
    assert isinstance(plan, SupportPlan)
    return plan


def test_flat_rate_support(catalog: Catalog) -> None:
    plan = _support(catalog, "support-flat")

    assert plan.terms == FlatRate(extra_work_rate=Money("EUR", 9500))
    assert plan.coverage.scopes == (SupportScope.END_USER, SupportScope.USAGE)


def test_ten_hours_expire_on_a_yearly_price(catalog: Catalog) -> None:
    plan = _support(catalog, "support-10h")

    assert isinstance(plan.terms, HourBank)
    assert (plan.terms.included_minutes, plan.terms.rollover) == (600, None)
    assert plan.terms.unused.value == "expire"
    assert (plan.pricing.interval, plan.pricing.amount) == (Interval.YEAR, Money("EUR", 840000))
    commitment = plan.pricing.commitment
    assert commitment is not None
    assert commitment.early_cancellation is EarlyCancellation.FEE
    assert commitment.early_cancellation_fee == Money("EUR", 140000)


def test_twenty_hours_roll_over(catalog: Catalog) -> None:
    plan = _support(catalog, "support-20h")

    assert isinstance(plan.terms, HourBank)
    assert plan.terms.included_minutes == 1200
    assert plan.terms.rollover == Rollover(max_minutes=600, months=3)
    assert plan.terms.overage_rate == Money("EUR", 8000)


def test_pay_as_you_go_has_a_cap(catalog: Catalog) -> None:
    plan = _support(catalog, "support-payg")

    assert isinstance(plan.terms, PerHour)
    assert plan.terms.monthly_cap_minutes == 600
    assert plan.terms.hourly_rate == Money("EUR", 9500)
    assert (plan.terms.rounding.increment_minutes, plan.terms.rounding.minimum_minutes) == (15, 30)
    assert plan.pricing.amount.is_zero


def test_services_per_hour_and_as_a_package(catalog: Catalog) -> None:
    developer, training = catalog.get("developer-service"), catalog.get("training-onboarding")

    assert isinstance(developer, ServicePlan)
    assert isinstance(training, ServicePlan)
    assert developer.terms.category is ServiceCategory.DEVELOPER_SERVICE
    assert developer.terms.billing is ServiceBilling.PER_HOUR
    assert (developer.pricing.interval, developer.pricing.amount) == (
        Interval.HOUR,
        Money("EUR", 11000),
    )
    assert training.terms.category is ServiceCategory.TRAINING
    assert training.terms.package_minutes == 240
    assert training.pricing.interval is Interval.ONCE


def test_trials_and_commitments(catalog: Catalog) -> None:
    trials = {plan.id: plan.pricing.trial_months for plan in catalog if plan.pricing.trial_months}
    terms = {plan.id: plan.pricing.commitment.months for plan in catalog if plan.pricing.commitment}

    assert trials == {"app-starter": 1, "support-20h": 1}
    assert terms == {
        "app-business": 6,
        "support-20h": 6,
        "server-l": 12,
        "support-flat": 12,
        "support-10h": 12,
    }


def test_amounts_are_exact_minor_units(catalog: Catalog) -> None:
    starter, business = catalog.get("app-starter"), catalog.get("app-business")

    assert starter.pricing.amount == Money("EUR", 2900)
    assert business.pricing.setup_fee == Money("EUR", 4900)
    assert str(business.pricing.amount) == "79.00 EUR"


def test_server_s_version_2_moves_holders_on(catalog: Catalog) -> None:
    versions = catalog.versions("server-s")

    assert [plan.version for plan in versions] == [1, 2]
    assert versions[1].migrate_existing_from is not None
    assert versions[1].availability.starts is not None
