"""The support-hour ledger: staff log time, customers approve what passes their cap,
and every billable minute leaves through the outbox in the same transaction.

An entry's billable minutes are the difference it makes to the allowance arithmetic
(``billing.support_time.allowance``) over the subscription's open periods, from the
minutes the last closed one rolled out (``billing.support_time.closing``) to now, so
per-entry rounding, rollover and late entries are all accounted for exactly once, and
closed periods never change: an entry for one is billed in the first open period, a
correction of one as a new line priced by the difference it makes to that period alone.
What an entry must be to be recorded: ``entry_input``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from billing.context import BillingContext
from billing.errors import (
    EntryLocked,
    ExtraWorkNotOffered,
    InvalidEntry,
    InvalidTransition,
    UnknownEntry,
)
from billing.models import EntryCategory, EntryState, Subscription, SupportEntry
from billing.periods import Period
from billing.repository.customers import CustomerRepository
from billing.repository.ledger import LedgerRepository, ever_started
from billing.repository.subscriptions import SubscriptionRepository
from billing.support_time.allowance import (
    PeriodSummary,
    billable_delta,
    round_minutes,
    rounding_of,
)
from billing.support_time.charges import charge
from billing.support_time.closing import (
    OpenState,
    PeriodClosing,
    bills_in,
    closed_delta,
    open_state,
    open_state_after,
    summary_from_json,
)
from billing.support_time.coverage import covering, open_span, terms_held
from billing.support_time.entry_input import (
    MAX_ENTRY_MINUTES,
    category_of,
    in_utc,
    new_entry_id,
    validate,
)
from plans.model import FlatRate, PerHour

__all__ = ["Ledger"]


class Ledger:
    """Use cases of the support ledger."""

    def __init__(self, ctx: BillingContext) -> None:
        self.ctx = ctx

    # -- recording -------------------------------------------------------------------

    async def record(
        self,
        customer_id: str,
        minutes: int,
        note: str,
        staff: str,
        category: EntryCategory | str = EntryCategory.SUPPORT,
        worked_at: datetime | None = None,
        extra_work: bool = False,
    ) -> SupportEntry:
        """Log time for a customer; billable minutes go to the outbox in the same commit.

        Per-hour plans: an entry that would take the period it is billed in past the
        customer's monthly cap waits for approval (``pending_approval``), billing nothing.
        """
        now = self.ctx.clock()
        kind = category_of(category)
        at = in_utc(worked_at) if worked_at is not None else now
        validate(minutes, note, staff, at, now)
        async with self.ctx.sessions() as session, session.begin():
            repo = LedgerRepository(session)
            await CustomerRepository(session).lock(customer_id)
            subscription, terms = covering(
                self.ctx.catalog(),
                await SubscriptionRepository(session).started(customer_id),
                customer_id,
                kind,
                at,
            )
            if extra_work and not isinstance(terms, FlatRate):
                raise ExtraWorkNotOffered(
                    "extra work is for flat-rate support plans only; "
                    "on this customer's plan every minute is already billed by the hour"
                )
            if extra_work and isinstance(terms, FlatRate) and terms.extra_work_rate is None:
                raise ExtraWorkNotOffered(
                    "this customer's flat-rate plan has no extra_work_rate to bill extra work"
                )
            state = await open_state(repo, subscription)
            entry = SupportEntry(
                id=new_entry_id(),
                customer_id=customer_id,
                subscription_id=subscription.id,
                worked_at=at,
                period=str(Period.of(at)),
                billed_period=str(bills_in(Period.of(at), state, now)),
                minutes=minutes,
                note=note.strip(),
                staff=staff.strip(),
                category=kind.value,
                extra_work=extra_work,
                state=EntryState.RECORDED.value,
                recorded_at=now,
            )
            others = await repo.open_entries(subscription.id, str(state.first_open))
            if await self._over_cap(subscription, state, others, entry, minutes, now):
                entry.state = EntryState.PENDING_APPROVAL.value
                entry.billable_minutes = 0
                repo.add(entry)
                return entry
            await self._bill(session, subscription, state, entry, others, now)
            repo.add(entry)
            return entry

    async def approve(self, entry_id: str, by: str) -> SupportEntry:
        """The customer agrees to an entry over their cap: it is billed like any other, in
        the first open period if its own has closed meanwhile."""
        now = self.ctx.clock()
        async with self.ctx.sessions() as session, session.begin():
            repo = LedgerRepository(session)
            entry = await self._pending(repo, entry_id, "approve")
            await CustomerRepository(session).lock(entry.customer_id)
            subscription = await self._subscription_of(repo, entry)
            state = await open_state(repo, subscription)
            entry.billed_period = str(bills_in(Period.parse(entry.period), state, now))
            others = [
                e
                for e in await repo.open_entries(subscription.id, str(state.first_open))
                if e.id != entry.id
            ]
            entry.state = EntryState.APPROVED.value
            entry.note = f"{entry.note}\n[approved by {by} at {now:%Y-%m-%d %H:%M} UTC]"
            await self._bill(session, subscription, state, entry, others, now)
            return entry

    async def reject(self, entry_id: str, by: str) -> SupportEntry:
        """The customer declines an entry over their cap: it never counts nor bills."""
        now = self.ctx.clock()
        async with self.ctx.sessions() as session, session.begin():
            repo = LedgerRepository(session)
            entry = await self._pending(repo, entry_id, "reject")
            entry.state = EntryState.REJECTED.value
            entry.billable_minutes = 0
            entry.note = f"{entry.note}\n[rejected by {by} at {now:%Y-%m-%d %H:%M} UTC]"
            return entry

    async def correct(
        self, entry_id: str, minutes_delta: int, note: str, staff: str
    ) -> SupportEntry:
        """Add a visible correction to an entry; the entry itself is never changed.

        The correction joins its original (rounded together); the difference it makes is
        billed: more minutes as usual, fewer as a credit. If the original's period has
        closed, the difference is worked out in that period alone (which stays as it was
        invoiced) and billed in the first open one. On a per-hour plan, more minutes that
        would pass the monthly cap wait for the customer's approval like any entry.
        """
        now = self.ctx.clock()
        if isinstance(minutes_delta, bool) or not isinstance(minutes_delta, int):
            raise InvalidEntry(f"a correction is whole minutes, not {minutes_delta!r}")
        if minutes_delta == 0 or abs(minutes_delta) > MAX_ENTRY_MINUTES:
            raise InvalidEntry(
                f"a correction must change the minutes by 1 to {MAX_ENTRY_MINUTES} either way,"
                f" not {minutes_delta}"
            )
        if not note.strip() or not staff.strip():
            raise InvalidEntry("a correction needs a note saying why and the staff member's name")
        async with self.ctx.sessions() as session, session.begin():
            repo = LedgerRepository(session)
            target = await repo.entry(entry_id)
            original = await repo.entry(target.corrects_id) if target.corrects_id else target
            await CustomerRepository(session).lock(original.customer_id)
            subscription = await self._subscription_of(repo, original)
            group = await repo.group_of(original.id)
            so_far = sum(e.minutes for e in group)
            if so_far + minutes_delta < 0:
                raise InvalidEntry(
                    f"entry {original.id} has {so_far} minutes; it cannot lose {-minutes_delta}"
                )
            state = await open_state(repo, subscription)
            correction = SupportEntry(
                id=new_entry_id(),
                customer_id=original.customer_id,
                subscription_id=original.subscription_id,
                worked_at=original.worked_at,
                period=original.period,
                billed_period=str(
                    bills_in(Period.parse(original.billed_period or original.period), state, now)
                ),
                minutes=minutes_delta,
                note=note.strip(),
                staff=staff.strip(),
                category=original.category,
                extra_work=original.extra_work,
                state=EntryState.RECORDED.value,
                corrects_id=original.id,
                recorded_at=now,
            )
            others = await repo.open_entries(subscription.id, str(state.first_open))
            rounding = rounding_of(
                terms_held(
                    self.ctx.catalog(),
                    subscription,
                    Period.parse(correction.billed_period or ""),
                    now,
                )
            )
            added = round_minutes(so_far + minutes_delta, rounding) - round_minutes(
                so_far, rounding
            )
            if added > 0 and await self._over_cap(
                subscription, state, others, correction, added, now
            ):
                correction.state = EntryState.PENDING_APPROVAL.value
                correction.billable_minutes = 0
                repo.add(correction)
                return correction
            await self._bill(session, subscription, state, correction, others, now)
            repo.add(correction)
            return correction

    async def mark_billed(self, period: Period | str) -> int:
        """Close ``period`` for every subscription with it open, as Stripe's invoice
        webhooks do; returns how many entries were locked."""
        name = period if isinstance(period, Period) else Period.parse(period)
        return await PeriodClosing(self.ctx).close_period(name, "closed by hand")

    # -- reading ---------------------------------------------------------------------

    async def summary(
        self,
        customer_id: str,
        period: Period | None = None,
        category: EntryCategory | str = EntryCategory.SUPPORT,
        session: AsyncSession | None = None,
        subscriptions: Sequence[Subscription] | None = None,
    ) -> PeriodSummary:
        """The allowance of a customer's plan in ``period`` (default: the current one): as
        it was closed, or as it stands. ``subscriptions``: all the customer's, if the
        caller read them already (in ``session``): they are not read again."""
        now = self.ctx.clock()
        wanted = period or Period.of(now)
        kind = category_of(category)
        async with self.ctx.reading(session) as reading:
            repo = LedgerRepository(reading)
            await CustomerRepository(reading).get(customer_id)
            # The subscription in force at the period's last moment (so far), or its first.
            at = max(wanted.start, min(now, wanted.end - timedelta(microseconds=1)))
            started = (
                await SubscriptionRepository(reading).started(customer_id)
                if subscriptions is None
                else ever_started(subscriptions)
            )
            subscription, _ = covering(self.ctx.catalog(), started, customer_id, kind, at)
            # The latest closed period says where the open ones begin, and whether
            # ``wanted`` is closed: it is that one, or none after it is.
            last, entries = await repo.last_closed_and_open_entries(subscription)
            closed = last if last is not None and last.period == str(wanted) else None
            if last is not None and last.period > str(wanted):
                closed = await repo.closed(subscription.id, str(wanted))
            if closed is not None:
                return summary_from_json(closed.summary)
            state = open_state_after(subscription, last)
            first = min(state.first_open, wanted)
            return open_span(self.ctx.catalog(), subscription, state, entries, first, wanted, now)[
                -1
            ]

    async def entries(
        self, customer_id: str, period: Period | None = None, session: AsyncSession | None = None
    ) -> list[SupportEntry]:
        """A customer's entries of ``period`` (default: the current one), as worked."""
        wanted = period or Period.of(self.ctx.clock())
        async with self.ctx.reading(session) as reading:
            repo = LedgerRepository(reading)
            await CustomerRepository(reading).get(customer_id)
            return await repo.entries(customer_id, str(wanted))

    async def entry(self, entry_id: str, customer_id: str | None = None) -> SupportEntry:
        """One entry; with ``customer_id``, only if it is that customer's (UnknownEntry
        alike for an unknown entry and another customer's, so a page reveals nothing)."""
        async with self.ctx.sessions() as session:
            entry = await LedgerRepository(session).entry(entry_id)
        if customer_id is not None and entry.customer_id != customer_id:
            raise UnknownEntry(entry_id)
        return entry

    async def awaiting_approval(
        self, customer_id: str, session: AsyncSession | None = None
    ) -> list[SupportEntry]:
        """The customer's entries over their monthly cap, waiting for approve or reject."""
        async with self.ctx.reading(session) as reading:
            return await LedgerRepository(reading).awaiting_approval(customer_id)

    async def entries_and_awaiting_approval(
        self, customer_id: str, session: AsyncSession | None = None
    ) -> tuple[list[SupportEntry], list[SupportEntry]]:
        """``entries`` (of the current period) and ``awaiting_approval``, in one query."""
        period = str(Period.of(self.ctx.clock()))
        async with self.ctx.reading(session) as reading:
            await CustomerRepository(reading).get(customer_id)
            found = await LedgerRepository(reading).of_period_or_awaiting(customer_id, period)
        pending = EntryState.PENDING_APPROVAL.value
        return [e for e in found if e.period == period], [e for e in found if e.state == pending]

    # -- internals -------------------------------------------------------------------

    async def _subscription_of(self, repo: LedgerRepository, entry: SupportEntry) -> Subscription:
        subscription = (
            await SubscriptionRepository(repo.session).lookup(entry.subscription_id)
            if entry.subscription_id
            else None
        )
        if subscription is None:
            raise InvalidEntry(f"entry {entry.id} is not counted on any subscription")
        return subscription

    async def _pending(self, repo: LedgerRepository, entry_id: str, verb: str) -> SupportEntry:
        entry = await repo.entry(entry_id, lock=True)
        if entry.state == EntryState.BILLED.value:
            raise EntryLocked(f"entry {entry_id} is billed and locked; correct it instead")
        if entry.state != EntryState.PENDING_APPROVAL.value:
            raise InvalidTransition(
                f"cannot {verb} entry {entry_id}: it is {entry.state}, "
                "only entries pending approval can be approved or rejected"
            )
        return entry

    async def _over_cap(
        self,
        subscription: Subscription,
        state: OpenState,
        others: Sequence[SupportEntry],
        entry: SupportEntry,
        minutes: int,
        now: datetime,
    ) -> bool:
        """Whether ``minutes`` more would take a per-hour period past the monthly cap."""
        period = Period.parse(entry.billed_period or entry.period)
        terms = terms_held(self.ctx.catalog(), subscription, period, now)
        if not isinstance(terms, PerHour):
            return False
        cap = subscription.monthly_cap_minutes or terms.monthly_cap_minutes
        [current] = open_span(self.ctx.catalog(), subscription, state, others, period, period, now)[
            -1:
        ]
        rounded = round_minutes(minutes, rounding_of(terms))
        return current.used_minutes + rounded > cap

    async def _bill(
        self,
        session: AsyncSession,
        subscription: Subscription,
        state: OpenState,
        entry: SupportEntry,
        others: Sequence[SupportEntry],
        now: datetime,
    ) -> None:
        """Work out what ``entry`` adds to the bill and put it in the outbox."""
        repo = LedgerRepository(session)
        invoice = Period.parse(entry.billed_period or entry.period)
        if entry.corrects_id is not None and not any(e.id == entry.corrects_id for e in others):
            delta = await closed_delta(repo, self.ctx.catalog(), subscription, entry)
        else:
            last = max(Period.of(now), invoice)
            before = open_span(
                self.ctx.catalog(), subscription, state, others, state.first_open, last, now
            )
            after = open_span(
                self.ctx.catalog(),
                subscription,
                state,
                [*others, entry],
                state.first_open,
                last,
                now,
            )
            delta = billable_delta(before, after)
        entry.billable_minutes = delta
        terms = terms_held(self.ctx.catalog(), subscription, invoice, now)
        await charge(self.ctx, session, subscription, terms, entry, delta, now)
