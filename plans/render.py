"""Human-readable text for plans: prices, terms, what is and is not included."""

from __future__ import annotations

from plans.model import (
    ApplicationHostingPlan,
    BackupPolicy,
    FlatRate,
    HourBank,
    Interval,
    PerHour,
    Plan,
    Pricing,
    Resources,
    ServerHostingPlan,
    ServicePlan,
    SupportPlan,
)


def hours(minutes: int) -> str:
    """Whole minutes as "3 h 05 min" (support time is kept in minutes, shown in hours):
    the one way the portal, the CLI and the catalog write a duration."""
    sign = "-" if minutes < 0 else ""
    whole, rest = divmod(abs(minutes), 60)
    if whole and rest:
        return f"{sign}{whole} h {rest:02d} min"
    return f"{sign}{whole} h" if whole else f"{sign}{rest} min"


def months(count: int) -> str:
    return f"{count} month" if count == 1 else f"{count} months"


def price(pricing: Pricing) -> str:
    per = {Interval.MONTH: "/month", Interval.YEAR: "/year", Interval.HOUR: "/hour"}
    return f"{pricing.amount}{per.get(pricing.interval, ' once')}"


def commitment(pricing: Pricing) -> str:
    term = pricing.commitment
    if term is None:
        return "-"
    text = f"{months(term.months)}, early exit: {term.early_cancellation.value.replace('_', ' ')}"
    return text + (f" {term.early_cancellation_fee}" if term.early_cancellation_fee else "")


def resources(spec: Resources) -> str:
    return (
        f"{spec.cpus} CPU, {spec.memory_mb} MB memory, {spec.disk_gb} GB disk, "
        f"{spec.max_processes} processes"
    )


def backups(policy: BackupPolicy) -> str:
    when = (
        f"every {policy.every_hours} h"
        if policy.every_hours is not None
        else f"daily at {policy.daily_at:%H:%M} UTC"
    )
    return f"{when}, newest {policy.keep} kept"


def terms(plan: Plan) -> list[tuple[str, str]]:
    """Kind-specific rows for ``plans show``."""
    rows: list[tuple[str, str]] = []
    if isinstance(plan, ServerHostingPlan):
        rows += [
            ("Server", f"{plan.server.image.reference} on port {plan.server.port}"),
            ("Resources", resources(plan.resources)),
            ("Backups", backups(plan.backups)),
        ]
    elif isinstance(plan, ApplicationHostingPlan):
        app, window = plan.application, plan.maintenance
        days = ", ".join(day.name.capitalize() for day in window.days)
        rows += [
            ("Application", f"{app.image.reference} on port {app.port}"),
            ("Health check", app.health_check_path),
            ("Resources", resources(plan.resources)),
            (
                "Maintenance window",
                f"{days} {window.start:%H:%M} for "
                f"{window.duration_minutes} min ({window.timezone})",
            ),
            ("Backups", backups(plan.backups)),
        ]
    elif isinstance(plan, SupportPlan):
        rows += support_rows(plan)
    elif isinstance(plan, ServicePlan):
        rows.append(("Service", plan.terms.category.value.replace("_", " ")))
        if plan.terms.package_minutes:
            rows.append(("Package", hours(plan.terms.package_minutes)))
        else:
            rows.append(("Billed per", f"{plan.terms.rounding.increment_minutes} min"))
    return rows


def support_rows(plan: SupportPlan) -> list[tuple[str, str]]:
    support = plan.terms
    scopes = ", ".join(scope.value.replace("_", " ") for scope in plan.coverage.scopes)
    rows = [("Coverage", f"{scopes}; {plan.coverage.hours.value.replace('_', ' ')}")]
    if isinstance(support, FlatRate):
        extra = (
            f", agreed extra work at {support.extra_work_rate}/hour"
            if support.extra_work_rate
            else ""
        )
        rows.append(("Model", f"flat rate: unlimited support{extra}"))
    elif isinstance(support, PerHour):
        rows += [
            ("Model", f"per hour at {support.hourly_rate}"),
            (
                "Billing",
                f"per {support.rounding.increment_minutes} min, "
                f"minimum {support.rounding.minimum_minutes} min",
            ),
            ("Monthly cap", f"{hours(support.monthly_cap_minutes)}; more needs your approval"),
        ]
    elif isinstance(support, HourBank):
        if support.rollover is None:
            unused = "expire at the end of the month"
        else:
            unused = (
                f"roll over, up to {hours(support.rollover.max_minutes)} "
                f"for {support.rollover.months} months"
            )
        rows += [
            ("Model", f"{hours(support.included_minutes)} included per month"),
            ("Unused hours", unused),
            ("Overage", f"{support.overage_rate}/hour"),
        ]
    return rows


def describe(plan: Plan) -> list[tuple[str, str]]:
    pricing = plan.pricing
    rows = [
        ("Plan", f"{plan.id} version {plan.version} ({plan.kind.value.replace('_', ' ')})"),
        ("Name", plan.name),
        ("Price", price(pricing)),
        ("Setup fee", str(pricing.setup_fee) if pricing.setup_fee else "-"),
        ("Free trial", months(pricing.trial_months) if pricing.trial_months else "-"),
        ("Commitment", commitment(pricing)),
        *terms(plan),
    ]
    if plan.includes:
        rows.append(("Included", ", ".join(plan.includes)))
    if plan.excludes:
        rows.append(("Not included", ", ".join(plan.excludes)))
    window = plan.availability
    rows += [
        ("Visibility", plan.visibility.value),
        ("Available", f"{window.starts or 'always'} to {window.ends or 'open-ended'}"),
        (
            "Existing customers",
            f"move here from {plan.migrate_existing_from}"
            if plan.migrate_existing_from
            else "keep the version they bought",
        ),
        ("Defined at", str(plan.source)),
    ]
    return rows
