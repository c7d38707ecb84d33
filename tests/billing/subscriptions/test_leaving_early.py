"""Leaving a commitment early never costs more than staying: a property over every policy.

What the customer pays is worked out here by plain arithmetic on Stripe's billing, not by
billing's own cycle code: a trial [start, trial end) is free; billing is anchored on the
1st at 00:00 UTC, with a first partial cycle up to it charged as the price x its seconds
/ the seconds of the full cycle ending there; then full months (or years); each cycle is
invoiced in advance at its start. A cancellation known before a cycle starts makes Stripe
prorate that cycle to the end; one that comes during a cycle leaves it invoiced in full.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.models import Subscription, SubscriptionState
from billing.periods import Period
from billing.subscriptions.cancellation import cancellation_terms
from plans import Plan
from plans.model import Commitment, EarlyCancellation, Interval, Pricing
from plans.money import Money
from tests.fixtures.billing import sample_catalog

EARLIEST = datetime(2025, 1, 1, tzinfo=UTC)  # subscriptions start in the six years from here
SIX_YEARS = 6 * 366 * 24 * 3600


def plus_months(at: datetime, months: int) -> datetime:
    """The same day and time ``months`` later (a day the month lacks becomes its last)."""
    year, month = divmod(at.year * 12 + at.month - 1 + months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return at.replace(year=year, month=month + 1, day=min(at.day, last))


def seconds(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds())


@dataclass(frozen=True)
class Bill:
    """One cycle Stripe invoices: [start, end) of the full cycle [full_start, full_end)."""

    start: datetime
    end: datetime
    full_start: datetime
    full_end: datetime
    trial: bool

    def charge(self, price: int, until: datetime | None = None) -> int:
        """The cycle's fee, for [start, until) when the end was known before it began."""
        if self.trial:
            return 0
        end = self.end if until is None else min(self.end, until)
        part, whole = seconds(self.start, end), seconds(self.full_start, self.full_end)
        return (2 * price * part + whole) // (2 * whole)  # to the nearest, a half up


def bills(start: datetime, trial_end: datetime | None, months: int) -> Iterator[Bill]:
    billing_from = start
    if trial_end is not None:
        yield Bill(start, trial_end, start, trial_end, trial=True)
        billing_from = trial_end
    anchor = billing_from.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if anchor < billing_from:
        anchor = plus_months(anchor, 1)
        yield Bill(billing_from, anchor, plus_months(anchor, -months), anchor, trial=False)
    while True:
        following = plus_months(anchor, months)
        yield Bill(anchor, following, anchor, following, trial=False)
        anchor = following


def bills_before(
    start: datetime, trial_end: datetime | None, months: int, end: datetime
) -> list[Bill]:
    found: list[Bill] = []
    for bill in bills(start, trial_end, months):
        if bill.start >= end:
            return found
        found.append(bill)
    raise AssertionError("unreachable")  # pragma: no cover


class Case:
    """A subscription to a committed plan, cancelled at ``now``."""

    def __init__(self, plan: Plan, subscription: Subscription, now: datetime) -> None:
        self.plan, self.subscription, self.now = plan, subscription, now

    def __repr__(self) -> str:  # what hypothesis prints for a failing case
        pricing, subscription = self.plan.pricing, self.subscription
        return (
            f"Case({pricing.amount.minor} per {pricing.interval.value}, {pricing.commitment}, "
            f"trial {pricing.trial_months} months, started {subscription.started_at}, "
            f"committed until {subscription.commitment_ends_at}, cancelled {self.now})"
        )

    @property
    def price(self) -> int:
        return self.plan.pricing.amount.minor

    @property
    def months(self) -> int:
        return self.plan.pricing.interval.months

    @property
    def committed_until(self) -> datetime:
        assert self.subscription.commitment_ends_at is not None
        return self.subscription.commitment_ends_at

    def bills_before(self, end: datetime) -> list[Bill]:
        subscription = self.subscription
        return bills_before(subscription.started_at, subscription.trial_ends_at, self.months, end)

    def paid_through(self) -> datetime:
        """The end of the cycle running when the customer cancels: invoiced already."""
        return self.bills_before(self.now + timedelta(seconds=1))[-1].end


def plan_with(
    interval: Interval, months: int, policy: EarlyCancellation, trial: int, price: int, fee: int
) -> Plan:
    commitment = Commitment(
        months, policy, Money("EUR", fee) if policy is EarlyCancellation.FEE else None
    )
    pricing = Pricing(Money("EUR", price), interval, trial, commitment)
    return replace(sample_catalog().get("server-m"), pricing=pricing)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    interval = draw(st.sampled_from([Interval.MONTH, Interval.YEAR]))
    per = interval.months
    months = per * draw(st.integers(1, 36 // per))
    policy = draw(st.sampled_from(EarlyCancellation))
    trial = draw(st.one_of(st.just(0), st.integers(1, 12)))
    price = draw(st.integers(1, 5_000_000))
    fee = draw(st.integers(0, 3 * price * max(months // per, 1)))
    plan = plan_with(interval, months, policy, trial, price, fee)
    start = EARLIEST + timedelta(seconds=draw(st.integers(0, SIX_YEARS)))
    trial_end = plus_months(start, trial) if trial else None
    committed_until = plus_months(trial_end or start, months)
    # Any second before the commitment ends; now and then exactly on a 1st (a cycle start).
    offset = draw(st.integers(0, seconds(start, committed_until) - 1))
    now = start + timedelta(seconds=offset)
    if draw(st.booleans()):
        first = Period.of(now).start
        now = first if first >= start else now
    period = Period.of(now)
    trialing = trial_end is not None and now < trial_end
    state = SubscriptionState.TRIALING if trialing else SubscriptionState.ACTIVE
    subscription = Subscription(
        id="s000000000001",
        customer_id="c000001",
        plan_id=plan.id,
        plan_version=plan.version,
        state=state.value,
        started_at=start,
        trial_ends_at=trial_end,
        commitment_ends_at=committed_until,
        period_start=period.start,
        period_end=period.end,
        created_at=start,
    )
    return Case(plan, subscription, now)


def paid_when_leaving(case: Case) -> tuple[int, datetime]:
    """What the customer pays in all (every cycle invoiced until the service ends, plus the
    cancellation charge), and when the service ends."""
    terms = cancellation_terms(case.subscription, case.plan, case.now)
    fees = sum(
        # Invoiced before the cancellation: in full. After it: prorated to the end.
        bill.charge(case.price)
        if bill.start <= case.now
        else bill.charge(case.price, terms.ends_at)
        for bill in case.bills_before(terms.ends_at)
    )
    return fees + terms.charge_minor, terms.ends_at


@settings(max_examples=400, deadline=None)
@given(cases())
def test_leaving_early_never_costs_more_than_staying(case: Case) -> None:
    # Staying: every cycle that starts before the commitment ends, invoiced in full at its
    # start (the customer who stays says nothing before the last one is invoiced).
    staying = sum(bill.charge(case.price) for bill in case.bills_before(case.committed_until))

    paid, ends_at = paid_when_leaving(case)

    assert paid <= staying
    assert ends_at >= case.paid_through(), "the service stops before what was paid for"


@settings(max_examples=400, deadline=None)
@given(cases())
def test_leaving_before_the_last_committed_cycle_costs_at_most_the_committed_time(
    case: Case,
) -> None:
    """Known before the cycle the commitment ends in, the end could be prorated there: so
    leaving costs at most the fees for the committed time itself."""
    committed = case.committed_until
    if case.paid_through() > committed:
        return  # the cycle the commitment ends in is invoiced in full already
    committed_fees = sum(
        bill.charge(case.price, committed) for bill in case.bills_before(committed)
    )

    paid, _ = paid_when_leaving(case)

    assert paid <= committed_fees
