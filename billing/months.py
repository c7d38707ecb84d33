"""Calendar months in UTC, and a plan's price per month, exactly (minor units).

What Stripe invoices over a span of time follows its billing cycles:
billing/reconcile/expected_cycles.py.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from fractions import Fraction

from billing.errors import InvalidTransition
from billing.periods import Period
from plans import Plan


def month_start(at: datetime) -> datetime:
    """Midnight UTC on the first of ``at``'s month."""
    return Period.of(at).start


def add_months(at: datetime, months: int) -> datetime:
    """The same day and time ``months`` later; a day the month lacks becomes its last."""
    years, month_index = divmod(at.month - 1 + months, 12)
    year, month = at.year + years, month_index + 1
    return at.replace(year=year, month=month, day=min(at.day, calendar.monthrange(year, month)[1]))


def epoch(at: datetime | None) -> int | None:
    return None if at is None else int(at.timestamp())


def monthly_price(plan: Plan) -> Fraction:
    """The plan's fee per month in minor units (a yearly fee spread over 12 months)."""
    months = plan.pricing.interval.months
    if months == 0:
        raise InvalidTransition(
            f"plan {plan.id!r} is billed per {plan.pricing.interval}, not per period"
        )
    return Fraction(plan.pricing.amount.minor, months)
