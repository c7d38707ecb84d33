"""Closing support periods: once Stripe has invoiced a period, its summary is kept for good.

A subscription's period closes when Stripe's cycle invoice for it is created (the
``invoice.created`` / ``invoice.finalized`` webhooks say so) or, failing word from Stripe,
once its finalisation grace has passed (``CLOSING_GRACE`` after its end: Stripe finalises a
cycle invoice an hour after creating it, and usage arriving later lands on no invoice).

Closing stores the period's summary under the terms held in it, and locks its entries
(``billed``). From then on:

- the period never changes: an entry for it logged later is billed in the first open
  period, visibly ("logged late, billed in April"), a correction as a new line there;
- the next period starts from the minutes this one rolled out, so working out an entry's
  cost reads the open periods only, however long the history;
- rollover only ever comes from periods that had a rollover plan: what a period rolled
  out was fixed under its own terms.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from billing.context import BillingContext
from billing.errors import BillingError
from billing.models import ClosedPeriod, Subscription, SupportEntry
from billing.periods import Period
from billing.repository.ledger import LedgerRepository
from billing.repository.subscriptions import SubscriptionRepository
from billing.support_time.allowance import (
    Bucket,
    PeriodSummary,
    Work,
    summarize_period,
    works_by_period,
)
from billing.support_time.terms import terms_in
from billing.support_time.usage_invoicing import invoice_closed_usage
from plans import Catalog
from plans.model import ServicePlan, SupportPlan

log = logging.getLogger(__name__)

# Stripe finalises a cycle invoice an hour after creating it ("finalization grace period",
# https://docs.stripe.com/billing/subscriptions/usage-based/recording-usage).
CLOSING_GRACE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class OpenState:
    """Where a subscription's open periods begin, and what they inherit."""

    first_open: Period
    carried: tuple[Bucket, ...]


async def open_state(repo: LedgerRepository, subscription: Subscription) -> OpenState:
    return _state_after(subscription, await repo.last_closed(subscription.id))


def open_state_after(subscription: Subscription, last: ClosedPeriod | None) -> OpenState:
    """``open_state`` from the subscription's latest closed period, read already."""
    return _state_after(subscription, last)


async def open_states(
    repo: LedgerRepository, subscriptions: Sequence[Subscription]
) -> dict[str, OpenState]:
    last = await repo.last_closed_of([s.id for s in subscriptions])
    return {s.id: _state_after(s, last.get(s.id)) for s in subscriptions}


def _state_after(subscription: Subscription, last: ClosedPeriod | None) -> OpenState:
    if last is None:
        return OpenState(Period.of(subscription.started_at), ())
    return OpenState(Period.parse(last.period).next(), summary_from_json(last.summary).rolled_out)


def summary_to_json(summary: PeriodSummary) -> dict[str, Any]:
    return {
        "period": str(summary.period),
        "model": summary.model,
        "included_minutes": summary.included_minutes,
        "logged_minutes": summary.logged_minutes,
        "used_minutes": summary.used_minutes,
        "covered_by_included": summary.covered_by_included,
        "covered_by_rollover": summary.covered_by_rollover,
        "overage_minutes": summary.overage_minutes,
        "billable_minutes": summary.billable_minutes,
        "pending_minutes": summary.pending_minutes,
        "rejected_minutes": summary.rejected_minutes,
        "rolled_in": [[str(b.origin), b.minutes] for b in summary.rolled_in],
        "rolled_out": [[str(b.origin), b.minutes] for b in summary.rolled_out],
        "expired_minutes": summary.expired_minutes,
        "entry_count": summary.entry_count,
    }


def summary_from_json(data: dict[str, Any]) -> PeriodSummary:
    def buckets(key: str) -> tuple[Bucket, ...]:
        return tuple(Bucket(Period.parse(str(o)), int(m)) for o, m in data.get(key, []))

    return PeriodSummary(
        period=Period.parse(str(data["period"])),
        model=str(data["model"]),
        included_minutes=data["included_minutes"],
        logged_minutes=int(data["logged_minutes"]),
        used_minutes=int(data["used_minutes"]),
        covered_by_included=int(data["covered_by_included"]),
        covered_by_rollover=int(data["covered_by_rollover"]),
        overage_minutes=int(data["overage_minutes"]),
        billable_minutes=int(data["billable_minutes"]),
        pending_minutes=int(data["pending_minutes"]),
        rejected_minutes=int(data["rejected_minutes"]),
        rolled_in=buckets("rolled_in"),
        rolled_out=buckets("rolled_out"),
        expired_minutes=int(data["expired_minutes"]),
        entry_count=int(data["entry_count"]),
    )


def closings(
    catalog: Catalog,
    subscription: Subscription,
    state: OpenState,
    grouped: Mapping[Period, Sequence[Work]],
    last: Period,
    now: datetime,
    closed_by: str,
) -> list[ClosedPeriod]:
    """The rows closing ``subscription``'s open periods up to ``last`` makes, oldest first:
    each period summed under the terms it was held on, from what the one before rolled out."""
    carried = state.carried
    rows: list[ClosedPeriod] = []
    period = state.first_open
    while period <= last:
        held = terms_in(catalog, subscription, period, now)
        if held is None:
            if subscription.plan_id in catalog:  # hosting: it sells no time to close
                break
            # The plan left the catalog: nothing to sum under.
            log.warning("subscription %s: no terms for %s, not closed", subscription.id, period)
            break
        summary = summarize_period(held.terms, period, grouped.get(period, ()), carried)
        rows.append(
            ClosedPeriod(
                subscription_id=subscription.id,
                period=str(period),
                customer_id=subscription.customer_id,
                plan_id=held.plan_id,
                plan_version=held.plan_version,
                summary=summary_to_json(summary),
                billable_minutes=summary.billable_minutes,
                closed_at=now,
                closed_by=closed_by[:80],
            )
        )
        carried = summary.rolled_out
        period = period.next()
    return rows


async def close_through(
    repo: LedgerRepository,
    catalog: Catalog,
    subscription: Subscription,
    last: Period,
    now: datetime,
    closed_by: str,
) -> list[ClosedPeriod]:
    """Close every open period of ``subscription`` up to ``last``, oldest first."""
    state = await open_state(repo, subscription)
    if state.first_open > last:
        return []
    works = await repo.open_works([subscription.id], str(state.first_open), str(last))
    rows = closings(
        catalog, subscription, state, works.get(subscription.id, {}), last, now, closed_by
    )
    await repo.store_closed(rows)
    await invoice_closed_usage(repo.session, catalog, subscription, rows, now)
    return rows


class PeriodClosing:
    """The worker's and the webhooks' way in."""

    # Subscriptions closed per transaction: SQLite has one writer, so the web process
    # waits at most one batch for the lock.
    BATCH = 200

    def __init__(self, ctx: BillingContext) -> None:
        self.ctx = ctx

    async def summaries(self, period: Period) -> dict[str, PeriodSummary]:
        """Every subscription's summary of a closed ``period``, by subscription id: one
        read of what closing stored, however many entries and months lie behind it."""
        async with self.ctx.sessions() as session:
            rows = await LedgerRepository(session).closed_in(str(period))
        return {row.subscription_id: summary_from_json(row.summary) for row in rows}

    async def close_due(self, now: datetime | None = None) -> int:
        """Close every period whose finalisation grace has passed; returns how many.

        Batched: per group of subscriptions, one read of their last closings, one of their
        open entries, one insert of the summaries and one update locking the entries.
        """
        now = now or self.ctx.clock()
        last = Period.of(now - CLOSING_GRACE).previous()
        catalog = self.ctx.catalog()
        async with self.ctx.sessions() as session:
            due = await SubscriptionRepository(session).open_before(str(last.next()))
            session.expunge_all()
        count = 0
        for start in range(0, len(due), self.BATCH):
            batch = due[start : start + self.BATCH]
            async with self.ctx.sessions() as session, session.begin():
                repo = LedgerRepository(session)
                states = await open_states(repo, batch)
                first = min(state.first_open for state in states.values())
                works = await repo.open_works([s.id for s in batch], str(first), str(last))
                closed = {
                    subscription.id: closings(
                        catalog,
                        subscription,
                        states[subscription.id],
                        works.get(subscription.id, {}),
                        min(last, Period.of(subscription.ended_at or now)),
                        now,
                        "grace period",
                    )
                    for subscription in batch
                }
                await repo.store_closed([row for rows in closed.values() for row in rows])
                for subscription in batch:
                    rows = closed[subscription.id]
                    await invoice_closed_usage(session, catalog, subscription, rows, now)
                    count += len(rows)
        return count

    async def close_period(self, period: Period, closed_by: str) -> int:
        """Close ``period`` (and any open one before it) for every subscription; returns
        how many entries were locked."""
        now = self.ctx.clock()
        locked = 0
        async with self.ctx.sessions() as session, session.begin():
            repo = LedgerRepository(session)
            for subscription in await SubscriptionRepository(session).open_before(
                str(period.next())
            ):
                rows = await close_through(
                    repo, self.ctx.catalog(), subscription, period, now, closed_by
                )
                for row in rows:
                    locked += len(await repo.billed_in(subscription.id, row.period))
        return locked


async def closed_delta(
    repo: LedgerRepository, catalog: Catalog, subscription: Subscription, correction: SupportEntry
) -> int:
    """What a correction of an entry in a closed period adds: that period summed again with
    it, from the same minutes rolled in, under the terms it was closed under. The stored
    period stays as invoiced; the difference is billed as the correction's own line."""
    original = await repo.entry(str(correction.corrects_id))
    period = original.billed_period or original.period
    closed = await repo.closed(subscription.id, period)
    if closed is None:
        raise BillingError(f"entry {original.id} is in no open or closed period")
    stored = summary_from_json(closed.summary)
    plan = catalog.get(closed.plan_id, closed.plan_version)
    if not isinstance(plan, SupportPlan | ServicePlan):
        raise BillingError(f"entry {original.id} counts on {plan.id}, which sells no time")
    works = works_by_period([*await repo.billed_in(subscription.id, period)])
    works.setdefault(stored.period, []).append(
        Work(
            correction.id,
            correction.minutes,
            correction.state,
            correction.extra_work,
            correction.corrects_id,
        )
    )
    again = summarize_period(plan.terms, stored.period, works[stored.period], stored.rolled_in)
    return again.billable_minutes - stored.billable_minutes


async def close_invoiced(
    ctx: BillingContext,
    session: AsyncSession,
    stripe_subscription_id: str,
    period_end: datetime,
    invoice_id: str,
) -> int:
    """Stripe created the cycle invoice for the periods ending by ``period_end``: close
    them in the caller's transaction (the webhook's, which records the invoice).

    A cycle that ends inside a month (a trial ending on the 5th) closes the months before
    it only: the month it ends in runs on, and is invoiced on the 1st. Unless the
    subscription ends there: its final invoice takes the last usage Stripe will bill."""
    repo = LedgerRepository(session)
    subscription = await SubscriptionRepository(repo.session).by_stripe_id(stripe_subscription_id)
    if subscription is None:
        return 0
    last = Period.of(period_end - timedelta(microseconds=1))
    ends = subscription.ended_at or subscription.cancel_at
    if period_end < last.end and (ends is None or ends > period_end):
        last = last.previous()
    closed = await close_through(
        repo, ctx.catalog(), subscription, last, ctx.clock(), f"invoice {invoice_id}"
    )
    return len(closed)


def bills_in(own: Period, state: OpenState, now: datetime) -> Period:
    """The period whose invoice carries work of ``own``: its own while open, else the
    running one (logged late: shown as such on the invoice line)."""
    return own if own >= state.first_open else max(Period.of(now), state.first_open)
