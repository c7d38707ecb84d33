"""What a customer agrees to when they order a plan, worked out before they confirm.

Every line with its amount, what is due today and what follows per period, when a trial
ends, the commitment and what leaving early costs, and whether prices include VAT: the
same figures billing will charge (the first period is Stripe's first cycle,
billing.subscriptions.service_period), so the confirmation page never promises one thing and the
invoice says another.

A support plan ordered with a hosting plan is agreed to in the same words: its own terms
(and, for support time, the hours included, what happens to unused ones, the hourly rate
and the monthly cap), and the order's totals with it (:func:`support_choices`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from billing import add_months, cycles, minutes_amount
from plans import Plan
from plans.model import (
    EarlyCancellation,
    FlatRate,
    HourBank,
    Interval,
    PerHour,
    Rounding,
    SupportPlan,
)
from plans.money import Money
from portal.customer.catalog import PlanCard, commitment_text, plan_card
from portal.web.templating import hours


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
    # Charged when the trial ends: the rest of the month it ends in, up to the first full
    # period (None: no trial, or it ends on a period's first day).
    after_trial: OrderLine | None
    commitment: str | None
    leaving_early: str | None  # what leaving before the commitment ends costs, at most
    vat: str
    # Support time: hours included and what happens to unused ones, the hourly rate, the cap.
    support: tuple[str, ...] = ()
    usage: str | None = None  # what is billed by use on top of the fee, for the totals


@dataclass(frozen=True, slots=True)
class OrderTotal:
    """A whole order (a plan, and the support plan with it): every line due today, their
    total, and what follows per period."""

    today: tuple[OrderLine, ...]
    due_today: Money
    per_period: tuple[tuple[Money, str], ...]  # (amount, "month" or "year"), fees only
    usage: tuple[str, ...]  # billed by use on top of the fees

    @property
    def then(self) -> str | None:
        """What follows, in words: "79.00 EUR a month and 8400.00 EUR a year, plus …"."""
        fees = " and ".join(f"{amount} a {per}" for amount, per in self.per_period)
        used = " and ".join(self.usage)
        if fees and used:
            return f"{fees}, plus {used}"
        return fees or used or None


@dataclass(frozen=True, slots=True)
class SupportChoice:
    """A support plan offered with a plan: its terms, and the order's totals with it."""

    card: PlanCard
    terms: OrderTerms
    total: OrderTotal


def order_terms(plan: Plan, now: datetime, prices_include_vat: bool) -> OrderTerms:
    pricing = plan.pricing
    currency = pricing.currency
    trial_ends = add_months(now, pricing.trial_months) if pricing.trial_months else None
    lines: list[OrderLine] = []
    if pricing.setup_fee is not None and pricing.setup_fee.minor:
        lines.append(OrderLine("Setup fee, once", pricing.setup_fee))
    months = pricing.interval.months
    then = then_from = after_trial = None
    if months:
        # Stripe's cycles of a subscription starting now, as billing will hold it.
        ahead = cycles(now, trial_ends, months, add_months(now, months * 2 + 1))
        first = ahead[0]
        if first.trial:
            lines.append(OrderLine(f"Free trial until {first.end:%Y-%m-%d}", Money(currency, 0)))
            rest = ahead[1]
            if rest.partial:
                after_trial = OrderLine(
                    f"{rest.start:%Y-%m-%d} to {rest.end:%Y-%m-%d}",
                    Money(currency, rest.charge(pricing.amount.minor)),
                )
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
    support, usage = _support_time(plan) if isinstance(plan, SupportPlan) else ((), None)
    return OrderTerms(
        today=lines,
        due_today=due,
        then=then,
        then_per="year" if months == 12 else "month",
        then_from=then_from,
        trial_ends=trial_ends,
        after_trial=after_trial,
        commitment=commitment_text(pricing),
        leaving_early=_leaving_early(plan),
        vat="Prices include VAT."
        if prices_include_vat
        else "Prices exclude VAT, added at the rate due.",
        support=support,
        usage=usage,
    )


def order_total(parts: Sequence[OrderTerms]) -> OrderTotal:
    """The totals of an order made of ``parts`` (one currency: the customer's)."""
    today = tuple(line for part in parts for line in part.today)
    due = parts[0].due_today
    for part in parts[1:]:
        due += part.due_today
    per_period: dict[str, Money] = {}
    for part in parts:
        if part.then is not None:
            held = per_period.get(part.then_per)
            per_period[part.then_per] = part.then if held is None else held + part.then
    return OrderTotal(
        today=today,
        due_today=due,
        per_period=tuple((amount, per) for per, amount in per_period.items() if amount.minor),
        usage=tuple(part.usage for part in parts if part.usage),
    )


def support_choices(
    main: OrderTerms, supports: Sequence[Plan], now: datetime, prices_include_vat: bool
) -> list[SupportChoice]:
    """Each support plan that may come with the plan whose terms are ``main``: its own
    terms, and the order's totals with it."""
    choices = []
    for plan in supports:
        terms = order_terms(plan, now, prices_include_vat)
        choices.append(SupportChoice(plan_card(plan), terms, order_total([main, terms])))
    return choices


def _leaving_early(plan: Plan) -> str | None:
    term = plan.pricing.commitment
    if term is None:
        return None
    if term.early_cancellation is EarlyCancellation.FEE and term.early_cancellation_fee:
        return (
            f"Leaving before the commitment ends costs {term.early_cancellation_fee}, "
            "never more than the committed time left."
        )
    periods = max(term.months // max(plan.pricing.interval.months, 1), 1)
    most = Money(plan.pricing.currency, plan.pricing.amount.minor * periods)
    if term.early_cancellation is EarlyCancellation.END_OF_TERM:
        if not most.minor:
            return None
        return (
            "Cancelling early does not stop the fees: they are invoiced until the commitment "
            f"ends, {most} over the whole commitment ({periods} x {plan.pricing.amount})."
        )
    return (
        "Leaving before the commitment ends, the committed time left is invoiced: at most "
        f"{most} ({periods} x {plan.pricing.amount})."
    )


def _support_time(plan: SupportPlan) -> tuple[tuple[str, ...], str | None]:
    """Support time in words (the same rules as billing.support_time.allowance), and what it adds to
    the totals."""
    terms = plan.terms
    if isinstance(terms, HourBank):
        included = hours(terms.included_minutes)
        yearly = " (on the yearly fee)" if plan.pricing.interval is Interval.YEAR else ""
        if terms.rollover is None:
            unused = "unused hours expire at the end of the month"
        else:
            unused = (
                f"unused hours roll over for {terms.rollover.months} months, "
                f"at most {hours(terms.rollover.max_minutes)} in all"
            )
        return (
            (
                f"{included} of support included each month{yearly}; {unused}.",
                f"Hours beyond them: {terms.overage_rate} an hour, {_counted(terms.rounding)}, "
                "invoiced at the end of each month.",
            ),
            f"hours beyond the {included} included, at {terms.overage_rate} an hour",
        )
    if isinstance(terms, PerHour):
        cap = Money(
            terms.hourly_rate.currency,
            minutes_amount(terms.monthly_cap_minutes, terms.hourly_rate.minor),
        )
        return (
            (
                f"Support is billed by the hour at {terms.hourly_rate}, "
                f"{_counted(terms.rounding)}, invoiced at the end of each month.",
                f"Monthly cap: {hours(terms.monthly_cap_minutes)} ({cap}); "
                "more only with your approval.",
            ),
            f"the hours used, at {terms.hourly_rate} an hour "
            f"(at most {cap} a month without your approval)",
        )
    if isinstance(terms, FlatRate):
        rows = ["Unlimited support: no hours are counted."]
        if terms.extra_work_rate is None:
            return tuple(rows), None
        rows.append(
            "Extra work beyond usual support, only once agreed with you: "
            f"{terms.extra_work_rate} an hour."
        )
        return tuple(rows), f"extra work you agree to, at {terms.extra_work_rate} an hour"
    return (), None


def _counted(rounding: Rounding) -> str:
    text = f"counted per {rounding.increment_minutes} min"
    if rounding.minimum_minutes:
        text += f", at least {hours(rounding.minimum_minutes)} each time"
    return text
