"""Blocks of support and service plans: the billing model, its rounding, the coverage."""

from __future__ import annotations

from plans import reader as r
from plans.model import (
    Coverage,
    CoverageHours,
    FlatRate,
    HourBank,
    PerHour,
    Rollover,
    Rounding,
    ServiceBilling,
    ServiceCategory,
    ServiceTerms,
    SupportScope,
    SupportTerms,
    UnusedHours,
)

MAX_MINUTES = 744 * 60  # every hour of a 31-day month
ROUNDING_KEYS = ("increment_minutes", "minimum_minutes")
MODEL_KEYS = {
    "flat_rate": ("extra_work_rate",),
    "per_hour": ("hourly_rate", "monthly_cap_hours", *ROUNDING_KEYS),
    "hour_bank": ("included_hours", "unused", "rollover", "overage_rate", *ROUNDING_KEYS),
}
ROLLOVER_KEYS = ("max_hours", "months")
COVERAGE_KEYS = ("scopes", "hours")
SERVICE_KEYS = ("category", "billing", "package_hours", *ROUNDING_KEYS)
_hours = r.scaled("hours", 60, 1, MAX_MINUTES, "minutes")


def _misplaced(model: str) -> dict[str, str]:
    """Keys that belong to another support model get a message of their own."""
    hints = {
        "monthly_cap_hours": "a monthly cap protects per-hour customers; "
        f"{model} plans have none (only per_hour plans take monthly_cap_hours)",
        "rollover": "rollover needs included hours: only hour_bank plans roll hours over",
        "included_hours": "only hour_bank plans include hours",
        "unused": "only hour_bank plans have unused hours to expire or roll over",
    }
    if model == "flat_rate":
        hints["monthly_cap_hours"] = (
            "flat_rate support is unlimited, so it cannot have a cap; "
            "use a per_hour or hour_bank plan for capped support"
        )
    other = {key for keys in MODEL_KEYS.values() for key in keys} - set(MODEL_KEYS[model])
    return {key: message for key, message in hints.items() if key in other} | {
        key: f"{key} does not apply to {model} plans" for key in other if key not in hints
    }


def parse_support_terms(where: r.Field, code: str | None) -> SupportTerms | None:
    models = ", ".join(MODEL_KEYS)
    given = dict(where.node.entries) if isinstance(where.node, r.Mapping) else {}
    model_node = next((value for key, value in given.items() if key.text == "model"), None)
    if isinstance(where.node, r.Mapping) and model_node is None:
        where.child(where.node, "model").fail(f"required field is missing; allowed: {models}")
        return None
    model_field = where.child(model_node or where.node, "model")
    model = r.text(description=f"one of {models}")(model_field)
    if model is not None and model not in MODEL_KEYS:
        model_field.fail(f"{model!r} is not a support model; allowed: {models}")
        return None
    if model is None:
        return None
    section = r.Section(where, ("model", *MODEL_KEYS[model]), _misplaced(model))
    if model == "flat_rate":
        extra = section.field("extra_work_rate")
        rate = r.money(code, allow_zero=False)(extra) if extra else None
        return None if extra and rate is None else FlatRate(extra_work_rate=rate)
    rounding = parse_rounding(section)
    if model == "per_hour":
        hourly = section.require("hourly_rate", r.money(code, allow_zero=False))
        cap = section.require(
            "monthly_cap_hours", _hours, "per-hour support needs a cap against runaway cost"
        )
        if hourly is None or cap is None or rounding is None:
            return None
        return PerHour(hourly_rate=hourly, monthly_cap_minutes=cap, rounding=rounding)
    return _hour_bank(section, code, rounding)


def _hour_bank(section: r.Section, code: str | None, rounding: Rounding | None) -> HourBank | None:
    included = section.require("included_hours", r.scaled("hours", 60, 0, MAX_MINUTES, "minutes"))
    unused = section.require("unused", r.choice(UnusedHours), "expire or rollover")
    overage = section.require("overage_rate", r.money(code, allow_zero=False))
    rollover_field = section.field("rollover")
    rollover = None
    if unused is UnusedHours.ROLLOVER:
        if included == 0:
            where = section.field("included_hours")
            assert where is not None
            where.fail("rollover needs included hours; with 0 included hours nothing rolls over")
            return None
        if rollover_field is None:
            section.require("rollover", _rollover, "unused: rollover needs max_hours and months")
            return None
        rollover = _rollover(rollover_field)
        if rollover is None:
            return None
    elif rollover_field is not None and unused is UnusedHours.EXPIRE:
        rollover_field.fail("unused hours expire on this plan; set unused: rollover to roll over")
        return None
    if included is None or unused is None or overage is None or rounding is None:
        return None
    return HourBank(
        included_minutes=included, overage_rate=overage, rollover=rollover, rounding=rounding
    )


def _rollover(where: r.Field) -> Rollover | None:
    section = r.Section(where, ROLLOVER_KEYS)
    maximum = section.require("max_hours", _hours)
    months = section.require("months", r.integer(1, 12))
    if maximum is None or months is None:
        return None
    return Rollover(maximum, months)


def parse_rounding(section: r.Section) -> Rounding | None:
    increment = section.optional("increment_minutes", r.integer(1, 60), 15)
    minimum = section.optional("minimum_minutes", r.integer(0, 8 * 60), 0)
    if increment is None or minimum is None:
        return None
    return Rounding(increment, minimum)


def parse_coverage(where: r.Field) -> Coverage | None:
    section = r.Section(where, COVERAGE_KEYS)
    scopes = section.require("scopes", r.sequence(r.choice(SupportScope), min_items=1))
    hours = section.require("hours", r.choice(CoverageHours))
    if scopes is None or hours is None:
        return None
    return Coverage(tuple(dict.fromkeys(scopes)), hours)


def parse_service_terms(where: r.Field) -> ServiceTerms | None:
    section = r.Section(where, SERVICE_KEYS)
    category = section.require("category", r.choice(ServiceCategory))
    billing = section.require("billing", r.choice(ServiceBilling))
    rounding = parse_rounding(section)
    package = section.field("package_hours")
    minutes = _hours(package) if package else None
    if billing is ServiceBilling.PACKAGE and package is None:
        section.require("package_hours", _hours, "a package says how many hours it covers")
        return None
    if billing is ServiceBilling.PER_HOUR and package is not None:
        package.fail("only billing: package has package_hours")
        return None
    if category is None or billing is None or rounding is None or (package and minutes is None):
        return None
    return ServiceTerms(category, billing, rounding, minutes)
