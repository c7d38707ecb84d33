"""The public catalog as customers read it: plans offered today, grouped, in plain words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from plans import Catalog, Money, Plan, PlanKind, UnknownPlan
from plans.model import (
    ApplicationHostingPlan,
    EarlyCancellation,
    Interval,
    Pricing,
    ServerHostingPlan,
    ServiceCategory,
    ServicePlan,
    SupportPlan,
)
from plans.render import hours, support_rows

_PER = {
    Interval.MONTH: "per month",
    Interval.YEAR: "per year",
    Interval.HOUR: "per hour",
    Interval.ONCE: "once",
}

# The order and words of the catalog page's sections.
_GROUPS: tuple[tuple[PlanKind, str, str], ...] = (
    (
        PlanKind.APPLICATION_HOSTING,
        "Application hosting",
        "We run your application for you. Maintenance and updates are included in the fee.",
    ),
    (
        PlanKind.SERVER_HOSTING,
        "Server hosting",
        "A server with fixed CPU, memory and disk that we keep running. "
        "Administering it and supporting its users stays with you.",
    ),
    (
        PlanKind.SUPPORT,
        "Support",
        "Help with using and running your systems: a flat rate, a monthly bank of hours, "
        "or pay as you go with a cap you approve.",
    ),
    (
        PlanKind.SERVICE,
        "Services",
        "Developer services by the hour and training packages for your end users.",
    ),
)

_CATEGORY = {
    ServiceCategory.DEVELOPER_SERVICE: "Developer service",
    ServiceCategory.TRAINING: "Training",
}


@dataclass(frozen=True, slots=True)
class PlanCard:
    """One plan, with every fact a customer compares plans by already in words."""

    plan: Plan
    label: str  # e.g. "Application hosting", "Training"
    price: str  # "29.00 EUR"
    per: str  # "per month"
    monthly_equivalent: str | None  # a yearly fee spread over months
    setup_fee: str | None
    trial: str | None  # "First month free"
    commitment: str | None
    facts: tuple[tuple[str, str], ...]  # resources, maintenance window, support terms...
    included: tuple[str, ...]
    excluded: tuple[str, ...]

    @property
    def id(self) -> str:
        return self.plan.id

    @property
    def is_hosting(self) -> bool:
        return isinstance(self.plan, ApplicationHostingPlan | ServerHostingPlan)


@dataclass(frozen=True, slots=True)
class PlanGroup:
    kind: PlanKind
    title: str
    blurb: str
    cards: tuple[PlanCard, ...]


def catalog_groups(catalog: Catalog, today: date) -> list[PlanGroup]:
    """The plans a new customer can buy today, one group per kind (empty groups left out)."""
    groups = []
    for kind, title, blurb in _GROUPS:
        offered = sorted(catalog.offered(today, kind), key=_price_order)
        cards = tuple(plan_card(plan) for plan in offered)
        if cards:
            groups.append(PlanGroup(kind, title, blurb, cards))
    return groups


def _price_order(plan: Plan) -> tuple[int, Fraction, str]:
    """Cheapest first: per-period plans by their price per month, then hourly and one-off."""
    pricing = plan.pricing
    months = pricing.interval.months
    if months:
        return (0, Fraction(pricing.amount.minor, months), plan.id)
    return (1, Fraction(pricing.amount.minor), plan.id)


def offered_plan(catalog: Catalog, plan_id: str, today: date) -> Plan:
    """The version of ``plan_id`` on sale today; UnknownPlan (404) if it is not for sale."""
    for plan in catalog.offered(today):
        if plan.id == plan_id:
            return plan
    raise UnknownPlan(plan_id)


def plan_card(plan: Plan) -> PlanCard:
    pricing = plan.pricing
    return PlanCard(
        plan=plan,
        label=_label(plan),
        price=str(pricing.amount),
        per=_PER[pricing.interval],
        monthly_equivalent=_monthly_equivalent(pricing),
        setup_fee=str(pricing.setup_fee) if pricing.setup_fee else None,
        trial=_trial(pricing),
        commitment=commitment_text(pricing),
        facts=tuple(_facts(plan)),
        included=_included(plan),
        excluded=plan.excludes,
    )


def commitment_text(pricing: Pricing) -> str | None:
    term = pricing.commitment
    if term is None:
        return None
    length = f"{term.months}-month commitment"
    if term.early_cancellation is EarlyCancellation.END_OF_TERM:
        return f"{length}; a cancellation takes effect when the commitment ends"
    if term.early_cancellation is EarlyCancellation.PAY_REMAINING:
        return f"{length}; leaving early, the remaining months are invoiced"
    fee = term.early_cancellation_fee
    return f"{length}; leaving early costs {fee}" if fee else length


def _label(plan: Plan) -> str:
    if isinstance(plan, ServicePlan):
        return _CATEGORY[plan.terms.category]
    return next(title for kind, title, _ in _GROUPS if kind is plan.kind)


def _trial(pricing: Pricing) -> str | None:
    count = pricing.trial_months
    if not count:
        return None
    return "First month free" if count == 1 else f"First {count} months free"


def _monthly_equivalent(pricing: Pricing) -> str | None:
    if pricing.interval is not Interval.YEAR:
        return None
    # Rounded down: "about" is the honest word, the invoice says the exact yearly fee.
    return f"about {Money(pricing.currency, pricing.amount.minor // 12)} per month"


def _facts(plan: Plan) -> list[tuple[str, str]]:
    if isinstance(plan, ApplicationHostingPlan | ServerHostingPlan):
        spec = plan.resources
        rows = [
            ("CPU", f"{spec.cpus} vCPU"),
            ("Memory", _memory(spec.memory_mb)),
            ("Disk", f"{spec.disk_gb} GB"),
        ]
        if isinstance(plan, ApplicationHostingPlan):
            window = plan.maintenance
            days = ", ".join(day.name.capitalize() for day in window.days)
            rows.append(
                (
                    "Maintenance window",
                    f"{days} {window.start:%H:%M} for {hours(window.duration_minutes)} "
                    f"({window.timezone})",
                )
            )
        return rows
    if isinstance(plan, SupportPlan):
        return support_rows(plan)
    if isinstance(plan, ServicePlan):
        terms = plan.terms
        if terms.package_minutes:
            return [("Package", hours(terms.package_minutes))]
        rounding = terms.rounding
        billed = f"per {rounding.increment_minutes} min"
        if rounding.minimum_minutes:
            billed += f", at least {hours(rounding.minimum_minutes)}"
        return [("Billed", billed)]
    return []


def _memory(megabytes: int) -> str:
    if megabytes >= 1024 and megabytes % 1024 == 0:
        return f"{megabytes // 1024} GB"
    return f"{megabytes} MB"


def _included(plan: Plan) -> tuple[str, ...]:
    if isinstance(plan, ApplicationHostingPlan):
        return (
            "Running the application for you",
            "Maintenance in the maintenance window",
            "Updates of the application",
        )
    return tuple(item[:1].upper() + item[1:] for item in plan.includes)
