"""Calendar months in UTC: billing periods (written "YYYY-MM"), month arithmetic, and a
plan's price per month, exactly (minor units).

What Stripe invoices over a span of time follows its billing cycles:
billing/reconcile/expected/cycles.py.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction

from billing.errors import InvalidPeriod, InvalidTransition
from plans import Plan

_PATTERN = re.compile(r"^(?P<year>[0-9]{4})-(?P<month>[0-9]{2})$")


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """One calendar month in UTC; ordered, so periods compare and sort by time."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not (1 <= self.month <= 12 and 1 <= self.year <= 9998):
            raise InvalidPeriod(f"{self.year}-{self.month}")

    @classmethod
    def of(cls, moment: datetime) -> Period:
        """The period ``moment`` (timezone-aware) falls in, in UTC."""
        if moment.tzinfo is None:
            raise ValueError(f"{moment!r} has no timezone; billing uses aware UTC datetimes")
        utc = moment.astimezone(UTC)
        return cls(utc.year, utc.month)

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PATTERN.match(text.strip())
        if match is None or not 1 <= int(match["month"]) <= 12 or int(match["year"]) == 0:
            raise InvalidPeriod(text)
        return cls(int(match["year"]), int(match["month"]))

    @property
    def index(self) -> int:
        """Months since year 0: the distance between two periods is a subtraction."""
        return self.year * 12 + self.month - 1

    @classmethod
    def from_index(cls, index: int) -> Period:
        year, month = divmod(index, 12)
        return cls(year, month + 1)

    def shift(self, months: int) -> Period:
        return Period.from_index(self.index + months)

    def next(self) -> Period:
        return self.shift(1)

    def previous(self) -> Period:
        return self.shift(-1)

    @property
    def start(self) -> datetime:
        """The first instant of the month (inclusive)."""
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first instant of the next month (exclusive)."""
        if self.month == 12:  # next() checks that the year stays in range
            return self.next().start
        # Asked often (per subscription and cycle): no Period built and validated for it.
        return datetime(self.year, self.month + 1, 1, tzinfo=UTC)

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.start <= moment < self.end

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def periods_between(first: Period, last: Period) -> list[Period]:
    """Every period from ``first`` to ``last``, both included (empty if ``last`` is earlier)."""
    return [Period.from_index(i) for i in range(first.index, last.index + 1)]


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
