"""What a customer agrees to when they order a plan, worked out before they confirm.

Every line with its amount, what is due today and what follows per period, when a trial
ends, the commitment and what leaving early costs, and whether prices include VAT: the
same figures billing will charge (the first period is Stripe's first cycle,
billing.service_period), so the confirmation page never promises one thing and the
invoice says another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from billing.months import add_months
from billing.reconcile.expected_cycles import cycles
from plans import Plan
from plans.model import EarlyCancellation
from plans.money import Money
from portal.customer_views.catalog import commitment_text


@dataclass(frozen=True, slots=True)
class OrderLine:
    what: str
    amount: Money


@dataclass(frozen=True, slots=True)
class OrderTerms:
    today: list[OrderLine]  # charged when the order is placed
    due_today: Money
    then: Money | None  # per period afterwards (None: a one-off)
    then_per: str  # "month", "year"
    then_from: datetime | None  # when the first full-price period starts
    trial_ends: datetime | None
    commitment: str | None
    leaving_early: str | None  # what leaving before the commitment ends costs, at most
    vat: str


def order_terms(plan: Plan, now: datetime, prices_include_vat: bool) -> OrderTerms:
    pricing = plan.pricing
    currency = pricing.currency
    trial_ends = add_months(now, pricing.trial_months) if pricing.trial_months else None
    lines: list[OrderLine] = []
    if pricing.setup_fee is not None and pricing.setup_fee.minor:
        lines.append(OrderLine("Setup fee, once", pricing.setup_fee))
    months = pricing.interval.months
    then = then_from = None
    if months:
        # Stripe's cycles of a subscription starting now, as billing will hold it.
        ahead = cycles(now, trial_ends, months, add_months(now, months * 2 + 1))
        first = ahead[0]
        if first.trial:
            lines.append(OrderLine(f"Free trial until {first.end:%Y-%m-%d}", Money(currency, 0)))
        else:
            part = "" if not first.partial else " (the rest of this period)"
            lines.append(
                OrderLine(
                    f"{plan.name}, {first.start:%Y-%m-%d} to {first.end:%Y-%m-%d}{part}",
                    Money(currency, first.charge(pricing.amount.minor)),
                )
            )
        full = next(c for c in ahead if not c.trial and not c.partial)
        then, then_from = pricing.amount, full.start
    elif pricing.amount.minor:
        lines.append(OrderLine(f"{plan.name}, once", pricing.amount))
    due = Money(currency, sum(line.amount.minor for line in lines))
    return OrderTerms(
        today=lines,
        due_today=due,
        then=then,
        then_per="year" if months == 12 else "month",
        then_from=then_from,
        trial_ends=trial_ends,
        commitment=commitment_text(pricing),
        leaving_early=_leaving_early(plan),
        vat="Prices include VAT."
        if prices_include_vat
        else "Prices exclude VAT, added at the rate due.",
    )


def _leaving_early(plan: Plan) -> str | None:
    term = plan.pricing.commitment
    if term is None or term.early_cancellation is EarlyCancellation.END_OF_TERM:
        return None
    if term.early_cancellation is EarlyCancellation.FEE and term.early_cancellation_fee:
        return (
            f"Leaving before the commitment ends costs {term.early_cancellation_fee}, "
            "never more than the committed time left."
        )
    periods = max(term.months // max(plan.pricing.interval.months, 1), 1)
    most = Money(plan.pricing.currency, plan.pricing.amount.minor * periods)
    return (
        "Leaving before the commitment ends, the committed time left is invoiced: at most "
        f"{most} ({periods} x {plan.pricing.amount})."
    )
