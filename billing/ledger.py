"""The support-hour ledger: staff log time, customers approve what passes their cap,
and every billable minute leaves through the outbox in the same transaction.

An entry's billable minutes are the difference it makes to the allowance arithmetic
(``billing.allowance``) over every period from the subscription's start to now, so
per-entry rounding, rollover and late entries are all accounted for exactly once.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from billing.allowance import (
    PeriodSummary,
    Terms,
    Work,
    billable_delta,
    cap_exceeded,
    summarize_range,
)
from billing.context import BillingContext
from billing.errors import BillingError, EntryLocked, InvalidTransition, UnknownEntry
from billing.models import Customer, EntryCategory, EntryState, Subscription, SupportEntry
from billing.outbox import OutboxKind, enqueue
from billing.periods import Period
from billing.repository.ledger import LedgerRepository
from plans.model import (
    FlatRate,
    HourBank,
    PerHour,
    ServiceBilling,
    ServicePlan,
    SupportPlan,
)
from plans.money import Money

MAX_ENTRY_MINUTES = 24 * 60


class InvalidEntry(BillingError, ValueError):
    """A support entry that cannot be recorded as given."""


class NoSupportSubscription(BillingError, LookupError):
    def __init__(self, customer_id: str, category: EntryCategory, at: datetime) -> None:
        what = "support plan" if category is EntryCategory.SUPPORT else f"{category.value} plan"
        super().__init__(
            f"customer {customer_id!r} has no {what} subscription on {at:%Y-%m-%d}; "
            f"subscribe them to one before logging {category.value} time"
        )


def new_entry_id() -> str:
    return "se_" + secrets.token_hex(8)


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

        Per-hour plans: an entry that would take the period past the customer's monthly
        cap waits for approval (state ``pending_approval``) and bills nothing yet.
        """
        now = self.ctx.clock()
        kind = _category(category)
        at = worked_at if worked_at is not None else now
        _validate(minutes, note, staff, at, now)
        async with self.ctx.sessions() as session, session.begin():
            repo = LedgerRepository(session)
            customer = await repo.lock_customer(customer_id)
            subscription, terms = await self._covering(repo, customer_id, kind, at)
            if extra_work and not isinstance(terms, FlatRate):
                raise InvalidEntry(
                    "--extra-work is for flat-rate support plans only; "
                    "on this plan every minute is already billed by the hour"
                )
            if extra_work and isinstance(terms, FlatRate) and terms.extra_work_rate is None:
                raise InvalidEntry("this flat-rate plan has no extra_work_rate to bill extra work")
            entry = SupportEntry(
                id=new_entry_id(),
                customer_id=customer_id,
                subscription_id=subscription.id,
                worked_at=at,
                period=str(Period.of(at)),
                minutes=minutes,
                note=note.strip(),
                staff=staff.strip(),
                category=kind.value,
                extra_work=extra_work,
                state=EntryState.RECORDED.value,
                recorded_at=now,
            )
            others = await repo.subscription_entries(subscription.id, _first(subscription))
            if isinstance(terms, PerHour):
                cap = subscription.monthly_cap_minutes or terms.monthly_cap_minutes
                period = Period.of(at)
                [current] = summarize_range(terms, _works(others), period, period)
                # Only the period's own entries matter for its cap, so no rollover to fold.
                if cap_exceeded(current, minutes, cap, terms):
                    entry.state = EntryState.PENDING_APPROVAL.value
                    entry.billable_minutes = 0
                    repo.add(entry)
                    return entry
            await self._bill(repo, session, customer, subscription, terms, entry, others, now)
            repo.add(entry)
            return entry

    async def approve(self, entry_id: str, by: str) -> SupportEntry:
        """The customer agrees to an entry over their cap: it is billed like any other."""
        now = self.ctx.clock()
        async with self.ctx.sessions() as session, session.begin():
            repo = LedgerRepository(session)
            entry = await self._pending(repo, entry_id, "approve")
            customer = await repo.lock_customer(entry.customer_id)
            subscription, terms = await self._subscription_of(repo, entry)
            others = [
                e
                for e in await repo.subscription_entries(subscription.id, _first(subscription))
                if e.id != entry.id
            ]
            entry.state = EntryState.APPROVED.value
            entry.note = f"{entry.note}\n[approved by {by} at {now:%Y-%m-%d %H:%M} UTC]"
            await self._bill(repo, session, customer, subscription, terms, entry, others, now)
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

        The correction joins its original (rounded together) in the original's period, and
        the difference it makes is billed: more minutes as usual, fewer as a credit.
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
            customer = await repo.lock_customer(original.customer_id)
            subscription, terms = await self._subscription_of(repo, original)
            others = await repo.subscription_entries(subscription.id, _first(subscription))
            so_far = sum(e.minutes for e in others if original.id in (e.id, e.corrects_id))
            if so_far + minutes_delta < 0:
                raise InvalidEntry(
                    f"entry {original.id} has {so_far} minutes; it cannot lose {-minutes_delta}"
                )
            correction = SupportEntry(
                id=new_entry_id(),
                customer_id=original.customer_id,
                subscription_id=original.subscription_id,
                worked_at=original.worked_at,
                period=original.period,
                minutes=minutes_delta,
                note=note.strip(),
                staff=staff.strip(),
                category=original.category,
                extra_work=original.extra_work,
                state=EntryState.RECORDED.value,
                corrects_id=original.id,
                recorded_at=now,
            )
            await self._bill(repo, session, customer, subscription, terms, correction, others, now)
            repo.add(correction)
            return correction

    async def mark_billed(self, period: Period | str) -> int:
        """Lock every entry on the invoices of ``period``; returns how many were locked."""
        name = str(period if isinstance(period, Period) else Period.parse(period))
        async with self.ctx.sessions() as session, session.begin():
            return await LedgerRepository(session).mark_billed(name)

    # -- reading ---------------------------------------------------------------------

    async def summary(
        self,
        customer_id: str,
        period: Period | None = None,
        category: EntryCategory | str = EntryCategory.SUPPORT,
    ) -> PeriodSummary:
        """The allowance of a customer's plan in ``period`` (default: the current one)."""
        now = self.ctx.clock()
        wanted = period or Period.of(now)
        kind = _category(category)
        async with self.ctx.sessions() as session:
            repo = LedgerRepository(session)
            await repo.customer(customer_id)
            # The subscription in force at the period's last moment (so far), or its first.
            at = max(wanted.start, min(now, wanted.end - timedelta(microseconds=1)))
            subscription, terms = await self._covering(repo, customer_id, kind, at)
            first = Period.of(subscription.started_at)
            entries = await repo.subscription_entries(subscription.id, str(first))
            return summarize_range(terms, _works(entries), min(first, wanted), wanted)[-1]

    async def entries(self, customer_id: str, period: Period | None = None) -> list[SupportEntry]:
        """A customer's entries of ``period`` (default: the current one), as worked."""
        wanted = period or Period.of(self.ctx.clock())
        async with self.ctx.sessions() as session:
            repo = LedgerRepository(session)
            await repo.customer(customer_id)
            return await repo.entries(customer_id, str(wanted))

    async def entry(self, entry_id: str, customer_id: str | None = None) -> SupportEntry:
        """One entry; with ``customer_id``, only if it is that customer's (UnknownEntry
        alike for an unknown entry and another customer's, so a page reveals nothing)."""
        async with self.ctx.sessions() as session:
            entry = await LedgerRepository(session).entry(entry_id)
        if customer_id is not None and entry.customer_id != customer_id:
            raise UnknownEntry(entry_id)
        return entry

    async def awaiting_approval(self, customer_id: str) -> list[SupportEntry]:
        """The customer's entries over their monthly cap, waiting for approve or reject."""
        async with self.ctx.sessions() as session:
            return await LedgerRepository(session).awaiting_approval(customer_id)

    # -- internals -------------------------------------------------------------------

    async def _covering(
        self, repo: LedgerRepository, customer_id: str, category: EntryCategory, at: datetime
    ) -> tuple[Subscription, Terms]:
        """The subscription (and its plan's terms) that ``category`` time at ``at`` counts on."""
        catalog = self.ctx.catalog()
        for subscription in reversed(await repo.subscriptions(customer_id)):
            # Time logged in the month a subscription starts counts on it.
            if Period.of(subscription.started_at) > Period.of(at):
                continue
            if subscription.ended_at is not None and subscription.ended_at <= at:
                continue
            if subscription.plan_id not in catalog:
                continue
            plan = catalog.version_for_holder(
                subscription.plan_id, subscription.plan_version, at.date()
            )
            if category is EntryCategory.SUPPORT and isinstance(plan, SupportPlan):
                return subscription, plan.terms
            if isinstance(plan, ServicePlan) and plan.terms.category.value == category.value:
                return subscription, plan.terms
        raise NoSupportSubscription(customer_id, category, at)

    async def _subscription_of(
        self, repo: LedgerRepository, entry: SupportEntry
    ) -> tuple[Subscription, Terms]:
        subscription = (
            await repo.subscription(entry.subscription_id) if entry.subscription_id else None
        )
        if subscription is None:
            raise InvalidEntry(f"entry {entry.id} is not counted on any subscription")
        plan = self.ctx.catalog().version_for_holder(
            subscription.plan_id, subscription.plan_version, entry.worked_at.date()
        )
        if not isinstance(plan, SupportPlan | ServicePlan):
            raise InvalidEntry(f"entry {entry.id} counts on {plan.id}, which sells no time")
        return subscription, plan.terms

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

    async def _bill(
        self,
        repo: LedgerRepository,
        session: AsyncSession,
        customer: Customer,
        subscription: Subscription,
        terms: Terms,
        entry: SupportEntry,
        others: Sequence[SupportEntry],
        now: datetime,
    ) -> None:
        """Work out what ``entry`` adds to the bill and put it in the outbox."""
        period = Period.parse(entry.period)
        first = Period.of(subscription.started_at)
        last = max(Period.of(now), period)
        before = summarize_range(terms, _works(others), min(first, period), last)
        after = summarize_range(terms, _works([*others, entry]), min(first, period), last)
        delta = billable_delta(before, after)
        entry.billable_minutes = delta

        invoice = await self._invoice_period(repo, period, now)
        if invoice != period:
            entry.billed_period = str(invoice)  # late: visibly on a later invoice
        if delta == 0:
            return
        rate = _rate(terms, subscription, self.ctx)
        metered = isinstance(terms, HourBank | PerHour)
        if metered and delta > 0:
            # Stripe sums meter events per its own billing period: a late entry is
            # timestamped now so it lands on the next invoice, not on a closed one.
            moment = entry.worked_at if invoice == period else now
            await enqueue(
                session,
                kind=OutboxKind.METER_EVENT,
                key=f"meter:{entry.id}",
                payload={
                    "customer_id": customer.id,
                    "entry_id": entry.id,
                    "minutes": delta,
                    "timestamp": int(moment.timestamp()),
                },
                now=now,
            )
            return
        what = "credit for correction" if delta < 0 else "support"
        if entry.category != EntryCategory.SUPPORT.value:
            what = f"{entry.category.replace('_', ' ')} ({what})" if delta < 0 else entry.category
        late = f", billed on the {invoice} invoice" if invoice != period else ""
        await enqueue(
            session,
            kind=OutboxKind.INVOICE_ITEM,
            key=f"invoice_item:{entry.id}",
            payload={
                "customer_id": customer.id,
                "entry_id": entry.id,
                "amount_minor": minutes_amount(delta, rate.minor),
                "currency": rate.currency,
                "description": (
                    f"{what.replace('_', ' ').capitalize()}: {entry.note.splitlines()[0]}"
                    f" ({delta} min, period {period}{late})"
                ),
                "period": str(invoice),
            },
            now=now,
        )

    async def _invoice_period(
        self, repo: LedgerRepository, period: Period, now: datetime
    ) -> Period:
        """The invoice an entry of ``period`` goes on: its own, or the next still open."""
        if not await repo.period_billed(str(period)):
            return period
        invoice = max(Period.of(now), period.next())
        while await repo.period_billed(str(invoice)):
            invoice = invoice.next()
        return invoice


def minutes_amount(minutes: int, hourly_minor: int) -> int:
    """``minutes`` at an hourly rate, in minor units.

    Exact whenever the rate divides (15 minutes at 85.00 is 21.25). Otherwise rounded
    half up, away from zero, so a credit mirrors the charge it undoes.
    """
    magnitude, remainder = divmod(abs(minutes) * hourly_minor, 60)
    if remainder * 2 >= 60:
        magnitude += 1
    return magnitude if minutes >= 0 else -magnitude


def _rate(terms: Terms, subscription: Subscription, ctx: BillingContext) -> Money:
    if isinstance(terms, HourBank):
        return terms.overage_rate
    if isinstance(terms, PerHour):
        return terms.hourly_rate
    if isinstance(terms, FlatRate):
        if terms.extra_work_rate is None:
            raise InvalidEntry("this flat-rate plan has no extra_work_rate")
        return terms.extra_work_rate
    if terms.billing is ServiceBilling.PER_HOUR:
        plan = ctx.catalog().get(subscription.plan_id, subscription.plan_version)
        return plan.pricing.amount  # a per-hour service's price is its hourly rate
    raise InvalidEntry(f"plan {subscription.plan_id} is a package: its time is not billed")


def _works(entries: Sequence[SupportEntry]) -> dict[Period, list[Work]]:
    grouped: dict[Period, list[Work]] = defaultdict(list)
    for entry in entries:
        grouped[Period.parse(entry.period)].append(
            Work(
                id=entry.id,
                minutes=entry.minutes,
                state=entry.state,
                extra_work=entry.extra_work,
                corrects_id=entry.corrects_id,
            )
        )
    return grouped


def _first(subscription: Subscription) -> str:
    return str(Period.of(subscription.started_at))


def _category(value: EntryCategory | str) -> EntryCategory:
    try:
        return EntryCategory(value)
    except ValueError:
        choices = ", ".join(c.value for c in EntryCategory)
        raise InvalidEntry(f"unknown category {value!r}: choose one of {choices}") from None


def _validate(minutes: int, note: str, staff: str, at: datetime, now: datetime) -> None:
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise InvalidEntry(f"minutes must be a whole number, not {minutes!r}")
    if not 1 <= minutes <= MAX_ENTRY_MINUTES:
        raise InvalidEntry(
            f"an entry is 1 to {MAX_ENTRY_MINUTES} minutes (one day), not {minutes}; "
            "log longer work as one entry per day"
        )
    if not note.strip():
        raise InvalidEntry("an entry needs a note saying what was done")
    if not staff.strip():
        raise InvalidEntry("an entry needs the name of the staff member who did the work")
    if at.tzinfo is None:
        raise InvalidEntry(f"worked_at {at.isoformat()} has no timezone; give it in UTC")
    if at > now:
        raise InvalidEntry(f"worked_at {at.isoformat()} is in the future; log work once done")
