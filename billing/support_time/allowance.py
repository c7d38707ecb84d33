"""The allowance arithmetic of support time: pure functions, no database, no clock.

Given a plan's terms and the entries of each period, it says per period how many minutes
were included, rolled over, used, covered, billable, carried out and expired.

Rules, per model:

- Every entry is rounded on its own (up to the increment, at least the minimum) and the
  results are summed, so the bill never depends on the order entries arrive in. A
  correction joins the entry it corrects: the pair is rounded as one.
- Hour bank: minutes are taken oldest first (FIFO): rolled-over buckets by origin period,
  then this period's included minutes; the rest is overage, billed at the overage rate.
  Unused included minutes roll over as a bucket of their period (rollover plans) or
  expire. A bucket can be used for ``rollover.months`` periods after its own; the buckets
  carried out of a period never exceed ``rollover.max_minutes`` in total (the oldest are
  trimmed first, since they expire first anyway).
- Per hour: every counted minute is billable. Entries waiting for approval (over the cap)
  and rejected ones do not count.
- Flat rate: the fee covers everything; only agreed extra work is billable.
- Service plans billed per hour: like per hour, without a cap. Packages: covered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypedDict

from billing.models import EntryState, SupportEntry
from billing.periods import Period, periods_between
from plans.model import (
    FlatRate,
    HourBank,
    Rounding,
    ServiceBilling,
    ServiceTerms,
    SupportTerms,
)

Terms = SupportTerms | ServiceTerms


class _Common(TypedDict):
    """The fields every model's summary shares."""

    period: Period
    model: str
    logged_minutes: int
    used_minutes: int
    pending_minutes: int
    rejected_minutes: int
    entry_count: int


# States whose minutes count; pending ones wait for approval, rejected ones never count.
COUNTED = frozenset({EntryState.RECORDED, EntryState.APPROVED, EntryState.BILLED})


@dataclass(frozen=True, slots=True)
class Work:
    """What the arithmetic needs of one support entry."""

    id: str
    minutes: int  # negative only in a correction
    state: str = EntryState.RECORDED.value
    extra_work: bool = False
    corrects_id: str | None = None


@dataclass(frozen=True, slots=True, order=True)
class Bucket:
    """Unused minutes of ``origin``, still usable in later periods."""

    origin: Period
    minutes: int


@dataclass(frozen=True, slots=True)
class PeriodSummary:
    period: Period
    model: str
    included_minutes: int | None  # None: unlimited (flat rate, packages)
    logged_minutes: int  # counted minutes as logged, before rounding
    used_minutes: int  # counted minutes after rounding each entry
    covered_by_included: int
    covered_by_rollover: int
    overage_minutes: int  # used but not covered
    billable_minutes: int
    pending_minutes: int = 0  # waiting for the customer's approval (rounded)
    rejected_minutes: int = 0
    rolled_in: tuple[Bucket, ...] = ()
    rolled_out: tuple[Bucket, ...] = ()
    expired_minutes: int = 0
    entry_count: int = field(default=0, compare=False)

    @property
    def rolled_in_minutes(self) -> int:
        return sum(bucket.minutes for bucket in self.rolled_in)

    @property
    def rolled_out_minutes(self) -> int:
        return sum(bucket.minutes for bucket in self.rolled_out)


def rounding_of(terms: Terms) -> Rounding:
    """The rounding a plan bills by; a flat rate has none of its own, so the default."""
    if isinstance(terms, FlatRate):
        return Rounding()
    return terms.rounding


def round_minutes(minutes: int, rounding: Rounding) -> int:
    """``minutes`` rounded up to the increment, at least the minimum; nothing stays nothing."""
    if minutes <= 0:
        return 0
    increment = max(rounding.increment_minutes, 1)
    rounded = -(-minutes // increment) * increment
    return max(rounded, rounding.minimum_minutes)


def _model(terms: Terms) -> str:
    if isinstance(terms, ServiceTerms):
        return f"service_{terms.billing.value}"
    return terms.model


@dataclass(frozen=True, slots=True)
class _Group:
    """An entry with its corrections: rounded, billed and counted as one."""

    minutes: int
    state: str
    extra_work: bool


def _groups(entries: Iterable[Work]) -> list[_Group]:
    roots: dict[str, Work] = {}
    totals: dict[str, int] = {}
    for entry in entries:
        root = entry.corrects_id or entry.id
        totals[root] = totals.get(root, 0) + entry.minutes
        if entry.corrects_id is None:
            roots[entry.id] = entry
    groups = []
    for root_id, minutes in totals.items():
        original = roots.get(root_id)
        state = original.state if original else EntryState.RECORDED.value
        groups.append(_Group(minutes, state, original.extra_work if original else False))
    return groups


def summarize_period(
    terms: Terms, period: Period, entries: Iterable[Work], rolled_in: Sequence[Bucket] = ()
) -> PeriodSummary:
    """One period's summary, given the buckets carried into it."""
    rounding = rounding_of(terms)
    groups = _groups(entries)
    counted = [g for g in groups if g.state in COUNTED]
    logged = sum(max(g.minutes, 0) for g in counted)
    used = sum(round_minutes(g.minutes, rounding) for g in counted)
    pending = sum(
        round_minutes(g.minutes, rounding)
        for g in groups
        if g.state == EntryState.PENDING_APPROVAL.value
    )
    rejected = sum(
        round_minutes(g.minutes, rounding) for g in groups if g.state == EntryState.REJECTED.value
    )
    common: _Common = {
        "period": period,
        "model": _model(terms),
        "logged_minutes": logged,
        "used_minutes": used,
        "pending_minutes": pending,
        "rejected_minutes": rejected,
        "entry_count": len(groups),
    }
    if isinstance(terms, HourBank):
        return _hour_bank(terms, period, used, tuple(sorted(rolled_in)), common)
    if isinstance(terms, FlatRate):
        extra = sum(round_minutes(g.minutes, rounding) for g in counted if g.extra_work)
        return PeriodSummary(
            included_minutes=None,
            covered_by_included=used - extra,
            covered_by_rollover=0,
            overage_minutes=extra,
            billable_minutes=extra,
            **common,
        )
    if isinstance(terms, ServiceTerms) and terms.billing is ServiceBilling.PACKAGE:
        return PeriodSummary(
            included_minutes=None,
            covered_by_included=used,
            covered_by_rollover=0,
            overage_minutes=0,
            billable_minutes=0,
            **common,
        )
    # Per hour (support or service): every counted minute is billed.
    return PeriodSummary(
        included_minutes=0,
        covered_by_included=0,
        covered_by_rollover=0,
        overage_minutes=used,
        billable_minutes=used,
        **common,
    )


def _hour_bank(
    terms: HourBank,
    period: Period,
    used: int,
    rolled_in: tuple[Bucket, ...],
    common: _Common,
) -> PeriodSummary:
    remaining = used
    left: list[Bucket] = []
    from_rollover = 0
    for bucket in rolled_in:  # oldest first
        take = min(bucket.minutes, remaining)
        remaining -= take
        from_rollover += take
        if bucket.minutes > take:
            left.append(Bucket(bucket.origin, bucket.minutes - take))
    from_included = min(terms.included_minutes, remaining)
    overage = remaining - from_included
    unused_included = terms.included_minutes - from_included

    rollover = terms.rollover
    if rollover is None:
        kept: list[Bucket] = []
        expired = unused_included + sum(b.minutes for b in left)
    else:
        if unused_included:
            left.append(Bucket(period, unused_included))
        # A bucket of period O is usable in O+1 .. O+months.
        nxt = period.next()
        fresh = [b for b in left if nxt.index - b.origin.index <= rollover.months]
        expired = sum(b.minutes for b in left) - sum(b.minutes for b in fresh)
        # Keep the newest within the maximum: trimming the oldest loses the least time.
        kept = []
        room = rollover.max_minutes
        for bucket in sorted(fresh, reverse=True):
            keep = min(bucket.minutes, room)
            room -= keep
            expired += bucket.minutes - keep
            if keep:
                kept.append(Bucket(bucket.origin, keep))
        kept.sort()
    return PeriodSummary(
        included_minutes=terms.included_minutes,
        covered_by_included=from_included,
        covered_by_rollover=from_rollover,
        overage_minutes=overage,
        billable_minutes=overage,
        rolled_in=rolled_in,
        rolled_out=tuple(kept),
        expired_minutes=expired,
        **common,
    )


def summarize_range(
    terms: Terms,
    entries: Mapping[Period, Iterable[Work]],
    first: Period,
    last: Period,
    carried: Sequence[Bucket] = (),
) -> list[PeriodSummary]:
    """Summaries of every period from ``first`` to ``last`` under one set of terms."""
    return summarize_span(lambda _: terms, entries, first, last, carried)


def summarize_span(
    terms_of: Callable[[Period], Terms],
    entries: Mapping[Period, Iterable[Work]],
    first: Period,
    last: Period,
    carried: Sequence[Bucket] = (),
) -> list[PeriodSummary]:
    """Summaries of every period from ``first`` to ``last``, each under its own terms.

    Rolled-over minutes depend on every earlier period, so the periods are folded in
    order, each one's ``rolled_out`` becoming the next one's ``rolled_in``; ``carried`` is
    what the period before ``first`` rolled out (kept when it closed). Entries of periods
    outside the range are ignored.
    """
    summaries: list[PeriodSummary] = []
    buckets = tuple(carried)
    for period in periods_between(first, last):
        summary = summarize_period(terms_of(period), period, entries.get(period, ()), buckets)
        summaries.append(summary)
        buckets = summary.rolled_out
    return summaries


def billable_delta(before: Iterable[PeriodSummary], after: Iterable[PeriodSummary]) -> int:
    """How many billable minutes a change added (negative: removed), over all periods.

    Pass the summaries of the same range before and after the change: an entry late in
    an old period can use up rolled-over minutes a later period counted on, so the
    difference is taken over the whole range, not only the entry's own period.
    """
    return sum(s.billable_minutes for s in after) - sum(s.billable_minutes for s in before)


def cap_exceeded(
    summary: PeriodSummary, entry_minutes: int, cap_minutes: int, terms: Terms
) -> bool:
    """Whether adding an entry of ``entry_minutes`` would take the period past the cap."""
    return summary.used_minutes + round_minutes(entry_minutes, rounding_of(terms)) > cap_minutes


def works_by_period(entries: Iterable[SupportEntry]) -> dict[Period, list[Work]]:
    """Entries as the arithmetic sees them, grouped by the period that bills them (their
    own, or the open one a late entry went to)."""
    grouped: dict[Period, list[Work]] = defaultdict(list)
    for entry in entries:
        grouped[Period.parse(entry.billed_period or entry.period)].append(
            Work(
                id=entry.id,
                minutes=entry.minutes,
                state=entry.state,
                extra_work=entry.extra_work,
                corrects_id=entry.corrects_id,
            )
        )
    return grouped
