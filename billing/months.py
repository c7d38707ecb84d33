"""Calendar months in UTC, and plan fees over spans of them, exactly (minor units)."""

from __future__ import annotations

import calendar
import math
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


def fees_between(plan: Plan, start: datetime, end: datetime) -> int:
    """The plan's fees for [start, end) in minor units: whole months at the monthly price,
    partial months by the share of the month they cover, rounded half up once at the end."""
    per_month = monthly_price(plan)
    total = Fraction(0)
    cursor = month_start(start)
    while cursor < end:
        following = add_months(cursor, 1)
        covered = min(end, following) - max(start, cursor)
        if covered.total_seconds() > 0:
            total += per_month * Fraction(
                int(covered.total_seconds()), int((following - cursor).total_seconds())
            )
        cursor = following
    return math.floor(total + Fraction(1, 2))
