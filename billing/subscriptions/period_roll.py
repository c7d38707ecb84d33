"""Time passing: every live subscription brought up to now, in the order things fell
due (cancellations take effect, trials end, periods advance, scheduled downgrades and
catalog migrations apply at period ends)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from billing.context import BillingContext
from billing.models import Subscription, SubscriptionState
from billing.periods import Period
from billing.repository.subscriptions import SubscriptionRepository
from billing.subscriptions.changes import end_subscription, enqueue_update_from, switch_plan
from billing.subscriptions.final_invoice import invoice_at_end

_State = SubscriptionState


@dataclass(frozen=True, slots=True)
class RollChange:
    """One thing roll_periods did, for the caller's log."""

    subscription_id: str
    what: str
    at: datetime


async def roll_periods(ctx: BillingContext, now: datetime) -> list[RollChange]:
    """Bring every live subscription up to ``now``, in the order things fell due:
    cancellations take effect (cancelled, ended_at), trials end (trialing → active),
    periods advance month by month and scheduled downgrades apply at period ends.

    Idempotent: a second call with the same ``now`` changes nothing.
    """
    changes: list[RollChange] = []
    async with ctx.sessions() as session, session.begin():
        for subscription in await SubscriptionRepository(session).due_for_roll(now):
            changes.extend(await _roll(ctx, session, subscription, now))
    return changes


async def _roll(
    ctx: BillingContext, session: AsyncSession, subscription: Subscription, now: datetime
) -> list[RollChange]:
    changes: list[RollChange] = []

    def note(what: str, at: datetime) -> None:
        changes.append(RollChange(subscription.id, what, at))

    while subscription.state != _State.CANCELLED:
        cancel_at = subscription.cancel_at
        trial_ends = subscription.trial_ends_at
        period_end = subscription.period_end
        if cancel_at is not None and cancel_at <= now and cancel_at <= period_end:
            end_subscription(subscription, cancel_at)
            note("cancelled", cancel_at)
            await invoice_at_end(session, ctx.catalog(), subscription, now)
        elif (
            subscription.state == _State.TRIALING
            and trial_ends is not None
            and trial_ends <= min(now, period_end)
        ):
            subscription.state = _State.ACTIVE.value
            note("trial ended", trial_ends)
        elif period_end <= now:
            subscription.period_start = period_end
            # The next calendar month, even after Stripe mirrored a mid-month start.
            subscription.period_end = Period.of(period_end).end
            note(f"period {period_end:%Y-%m}", period_end)
            await _apply_downgrade(ctx, session, subscription, period_end, now, note)
            await _apply_migration(ctx, session, subscription, period_end, now, note)
        else:
            break
    return changes


async def _apply_downgrade(
    ctx: BillingContext,
    session: AsyncSession,
    subscription: Subscription,
    boundary: datetime,
    now: datetime,
    note: Callable[[str, datetime], None],
) -> None:
    plan_id, version = subscription.next_plan_id, subscription.next_plan_version
    if plan_id is None or version is None:
        return
    committed_until = subscription.commitment_ends_at
    if committed_until is not None and boundary < committed_until:
        return  # a commitment binds the price it was made at
    previous = (subscription.plan_id, subscription.plan_version)
    switch_plan(subscription, ctx.catalog().get(plan_id, version), boundary)
    note(f"downgraded to {plan_id} version {version}", boundary)
    await enqueue_update_from(session, subscription, boundary, now, previous)


async def _apply_migration(
    ctx: BillingContext,
    session: AsyncSession,
    subscription: Subscription,
    boundary: datetime,
    now: datetime,
    note: Callable[[str, datetime], None],
) -> None:
    """A newer version of the plan moves existing holders (``migrate_existing_from``):
    from the first period starting on or after that date, here and in Stripe."""
    catalog = ctx.catalog()
    if subscription.plan_id not in catalog:
        return
    moved = catalog.version_for_holder(
        subscription.plan_id, subscription.plan_version, boundary.date()
    )
    if moved.version == subscription.plan_version:
        return
    previous = (subscription.plan_id, subscription.plan_version)
    subscription.plan_version = moved.version
    note(f"moved to {moved.id} version {moved.version} (catalog migration)", boundary)
    await enqueue_update_from(session, subscription, boundary, now, previous)
