"""The allowance arithmetic: readable examples on the sample catalog, then properties."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from random import Random

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.models import EntryState
from billing.periods import Period
from billing.support_time.allowance import (
    Bucket,
    PeriodSummary,
    Terms,
    Work,
    billable_delta,
    round_minutes,
    summarize_period,
    summarize_range,
)
from plans.model import FlatRate, HourBank, PerHour, Rollover, Rounding, SupportPlan
from plans.money import Money
from tests.fixtures.billing import sample_catalog

JAN = Period(2027, 1)


def terms_of(plan_id: str) -> Terms:
    plan = sample_catalog().get(plan_id)
    assert isinstance(plan, SupportPlan)
    return plan.terms


def work(*minutes: int, state: EntryState = EntryState.RECORDED, extra: bool = False) -> list[Work]:
    return [
        Work(id=f"e{i}-{m}", minutes=m, state=state.value, extra_work=extra)
        for i, m in enumerate(minutes)
    ]


def months(terms: Terms, *per_month: Sequence[Work]) -> list[PeriodSummary]:
    """Summaries of consecutive months from January 2027, one entry list per month."""
    entries = {JAN.shift(i): list(month) for i, month in enumerate(per_month)}
    return summarize_range(terms, entries, JAN, JAN.shift(len(per_month) - 1))


# -- rounding -------------------------------------------------------------------------


def test_round_minutes_rounds_up_to_the_increment_with_a_minimum() -> None:
    payg = Rounding(increment_minutes=15, minimum_minutes=30)
    assert [round_minutes(m, payg) for m in (0, 1, 29, 30, 31, 45, 46)] == [
        0,
        30,
        30,
        30,
        45,
        45,
        60,
    ]
    assert round_minutes(-20, payg) == 0
    assert round_minutes(7, Rounding(increment_minutes=1)) == 7


# -- examples on the sample catalog ---------------------------------------------------


def test_support_10h_expires_unused_hours_and_bills_the_overage() -> None:
    terms = terms_of("support-10h")  # 600 min a month, use it or lose it, 15-min steps
    nov, dec = months(terms, work(400, 250), work(100))
    # Each entry is rounded up on its own: 405 + 255 = 660 used, 600 included, 60 billed.
    assert (nov.used_minutes, nov.logged_minutes) == (660, 650)
    assert (nov.covered_by_included, nov.overage_minutes, nov.billable_minutes) == (600, 60, 60)
    assert nov.rolled_out == ()
    assert nov.expired_minutes == 0
    # December: nothing carried in, 500 of its 600 minutes expire.
    assert dec.rolled_in == ()
    assert (dec.covered_by_included, dec.billable_minutes, dec.expired_minutes) == (105, 0, 495)


def test_support_20h_rolls_over_at_most_ten_hours() -> None:
    terms = terms_of("support-20h")  # 1200 min a month; up to 600 roll over, for 3 months
    jan, feb, mar, apr = months(terms, work(300), work(900, 600), [], work(60))
    # January: 900 unused, 600 roll over (the maximum), 300 expire.
    assert jan.rolled_out == (Bucket(JAN, 600),)
    assert jan.expired_minutes == 300
    # February: 1500 used: January's 600 first (oldest first), then 900 of February's own.
    assert (feb.covered_by_rollover, feb.covered_by_included, feb.billable_minutes) == (600, 900, 0)
    assert feb.rolled_out == (Bucket(JAN.shift(1), 300),)
    # March uses nothing: its own 1200 are newer, so they fill the 600 and February's go.
    assert mar.rolled_in == (Bucket(JAN.shift(1), 300),)
    assert mar.rolled_out == (Bucket(JAN.shift(2), 600),)
    assert mar.expired_minutes == 300 + 600
    assert (apr.covered_by_rollover, apr.covered_by_included) == (60, 0)


def test_support_20h_overage_after_rollover_and_included() -> None:
    terms = terms_of("support-20h")
    _, feb = months(terms, work(600), work(1440, 420))
    assert feb.rolled_in_minutes == 600
    assert (feb.covered_by_rollover, feb.covered_by_included, feb.overage_minutes) == (
        600,
        1200,
        60,
    )
    assert feb.billable_minutes == 60
    assert feb.rolled_out == ()


def test_rolled_over_minutes_expire_after_their_months() -> None:
    # A generous bank, so buckets survive the maximum and only their age ends them.
    terms = HourBank(
        included_minutes=600,
        overage_rate=Money("EUR", 8000),
        rollover=Rollover(max_minutes=6000, months=2),
        rounding=Rounding(increment_minutes=1),
    )
    jan, feb, mar, apr = months(terms, work(100), work(600), work(600), [])
    assert jan.rolled_out == (Bucket(JAN, 500),)
    # February and March use the oldest minutes first: 500 of January, then their own.
    assert feb.covered_by_rollover == 500
    assert feb.rolled_out == (Bucket(JAN.shift(1), 500),)
    assert mar.covered_by_rollover == 500
    assert mar.rolled_out == (Bucket(JAN.shift(2), 500),)
    assert apr.rolled_in == (Bucket(JAN.shift(2), 500),)
    # March's minutes are usable in April and May, so they roll on beside April's own.
    assert apr.rolled_out == (Bucket(JAN.shift(2), 500), Bucket(JAN.shift(3), 600))
    five = months(terms, work(100), [], [], [])
    # January's 500 are usable in February and March, then gone at March's end.
    assert five[2].rolled_out == (Bucket(JAN.shift(1), 600), Bucket(JAN.shift(2), 600))
    assert five[2].expired_minutes == 500


def test_support_payg_bills_every_rounded_minute_but_not_pending_or_rejected() -> None:
    terms = terms_of("support-payg")  # 15-min steps, 30 min minimum, cap 600
    [nov] = months(
        terms,
        [
            *work(10, 31),
            *work(200, state=EntryState.PENDING_APPROVAL),
            *work(90, state=EntryState.REJECTED),
            *work(45, state=EntryState.APPROVED),
        ],
    )
    assert nov.used_minutes == 30 + 45 + 45
    assert nov.billable_minutes == nov.overage_minutes == 120
    assert (nov.pending_minutes, nov.rejected_minutes) == (210, 90)
    assert nov.included_minutes == 0
    assert nov.rolled_out == ()


def test_support_flat_bills_only_agreed_extra_work() -> None:
    terms = terms_of("support-flat")
    [nov] = months(terms, [*work(120, 50), *work(50, extra=True)])
    assert nov.included_minutes is None
    assert nov.covered_by_included == 120 + 60
    assert nov.billable_minutes == nov.overage_minutes == 60  # 50 rounded to 15-min steps


def test_a_correction_is_rounded_together_with_its_entry() -> None:
    terms = terms_of("support-payg")
    original = Work(id="a", minutes=50)
    before = summarize_period(terms, JAN, [original])
    after = summarize_period(terms, JAN, [original, Work(id="b", minutes=-20, corrects_id="a")])
    assert (before.billable_minutes, after.billable_minutes) == (60, 30)
    assert billable_delta([before], [after]) == -30


# -- properties -----------------------------------------------------------------------

roundings = st.builds(
    Rounding,
    increment_minutes=st.integers(1, 60),
    minimum_minutes=st.integers(0, 120),
)
hour_banks = st.builds(
    HourBank,
    included_minutes=st.integers(0, 3000),
    overage_rate=st.just(Money("EUR", 8000)),
    rollover=st.none() | st.builds(Rollover, st.integers(0, 3000), st.integers(1, 6)),
    rounding=roundings,
)
per_hours = st.builds(
    PerHour,
    hourly_rate=st.just(Money("EUR", 9500)),
    monthly_cap_minutes=st.integers(0, 3000),
    rounding=roundings,
)
flat_rates = st.builds(FlatRate, extra_work_rate=st.just(Money("EUR", 9500)))
all_terms = hour_banks | per_hours | flat_rates
states = st.sampled_from(list(EntryState))


@st.composite
def histories(draw: st.DrawFn) -> dict[Period, list[Work]]:
    """Up to eight months of entries, some of them corrections of earlier ones."""
    history: dict[Period, list[Work]] = {}
    serial = 0
    for offset in range(draw(st.integers(1, 8))):
        month: list[Work] = []
        for _ in range(draw(st.integers(0, 6))):
            serial += 1
            month.append(
                Work(
                    id=f"e{serial}",
                    minutes=draw(st.integers(1, 1440)),
                    state=draw(states).value,
                    extra_work=draw(st.booleans()),
                )
            )
            if draw(st.integers(0, 4)) == 0:  # a correction, never below zero in total
                serial += 1
                root = month[-1]
                delta = draw(st.integers(-root.minutes, 300).filter(bool))
                month.append(Work(id=f"e{serial}", minutes=delta, corrects_id=root.id))
        history[JAN.shift(offset)] = month
    return history


def run(terms: Terms, history: Mapping[Period, Sequence[Work]]) -> list[PeriodSummary]:
    return summarize_range(terms, history, JAN, max(history))


@settings(max_examples=300, deadline=None)
@given(all_terms, histories())
def test_every_minute_is_accounted_for_and_nothing_is_negative(
    terms: Terms, history: dict[Period, list[Work]]
) -> None:
    for summary in run(terms, history):
        covered = summary.covered_by_included + summary.covered_by_rollover
        assert covered + summary.overage_minutes == summary.used_minutes
        assert summary.billable_minutes <= summary.used_minutes
        numbers = [
            summary.logged_minutes,
            summary.used_minutes,
            summary.covered_by_included,
            summary.covered_by_rollover,
            summary.overage_minutes,
            summary.billable_minutes,
            summary.pending_minutes,
            summary.rejected_minutes,
            summary.expired_minutes,
        ]
        assert all(number >= 0 for number in numbers)
        assert all(b.minutes > 0 for b in (*summary.rolled_in, *summary.rolled_out))
        if summary.included_minutes is not None:
            assert summary.covered_by_included <= summary.included_minutes


@settings(max_examples=300, deadline=None)
@given(hour_banks, histories())
def test_rollover_stays_within_its_maximum_and_expiry(
    terms: HourBank, history: dict[Period, list[Work]]
) -> None:
    summaries = run(terms, history)
    for previous, summary in itertools.pairwise(summaries):
        assert summary.rolled_in == previous.rolled_out
    for summary in summaries:
        # What came in and what was included went somewhere: used, carried or expired.
        assert summary.included_minutes is not None
        assert (
            summary.rolled_in_minutes + summary.included_minutes
            == summary.covered_by_included
            + summary.covered_by_rollover
            + summary.rolled_out_minutes
            + summary.expired_minutes
        )
        if terms.rollover is None:
            assert summary.rolled_out == ()
            continue
        assert summary.rolled_out_minutes <= terms.rollover.max_minutes
        for bucket in summary.rolled_out:
            assert bucket.origin <= summary.period
            assert summary.period.next().index - bucket.origin.index <= terms.rollover.months
        assert summary.covered_by_rollover <= summary.rolled_in_minutes


@settings(max_examples=200, deadline=None)
@given(all_terms, histories(), st.randoms(use_true_random=False))
def test_the_order_of_entries_never_changes_the_summary(
    terms: Terms, history: dict[Period, list[Work]], random: Random
) -> None:
    shuffled = {}
    for period, entries in history.items():
        copy = list(entries)
        random.shuffle(copy)
        shuffled[period] = copy
    assert run(terms, shuffled) == run(terms, history)


@settings(max_examples=100, deadline=None)
@given(all_terms, histories(), st.randoms(use_true_random=False))
def test_billing_entries_as_they_arrive_adds_up_to_the_bill(
    terms: Terms, history: dict[Period, list[Work]], random: Random
) -> None:
    """Entries arriving one by one, in any order and into any month, bill the total once."""
    arrivals = [(period, entry) for period, entries in history.items() for entry in entries]
    random.shuffle(arrivals)
    last = max(history)
    seen: dict[Period, list[Work]] = {}
    billed = 0
    for period, entry in arrivals:
        before = summarize_range(terms, seen, JAN, last)
        seen.setdefault(period, []).append(entry)
        after = summarize_range(terms, seen, JAN, last)
        delta = billable_delta(before, after)
        billed += delta
    assert billed == sum(s.billable_minutes for s in run(terms, history))
