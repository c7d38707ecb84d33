"""Subscriptions: a customer holding a plan version, through its life.

    pending ──(checkout webhook)──> trialing | active ──> past_due ──> suspended ──> cancelled

Periods are calendar months in UTC (Stripe bills from the 1st; the first month is
prorated there). Every change that Stripe must know about is queued in the outbox in the
same transaction. Rules worth knowing:

- an upgrade (a higher price per month) applies at once, prorated; a downgrade waits for
  the period end, and during a commitment for the first period end after it;
- cancelling during a commitment follows the plan's ``early_cancellation``: end_of_term
  ends it when the commitment does; pay_remaining and fee end it at the period end and
  invoice the remaining months' fees or the fee.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from billing.context import BillingContext
from billing.dunning import MANUAL, standing_state
from billing.errors import BillingError, InvalidTransition
from billing.models import Subscription, SubscriptionState
from billing.months import add_months, epoch, fees_between, monthly_price
from billing.outbox import OutboxKind, enqueue
from billing.periods import Period
from billing.repository.customers import CustomerRepository
from billing.repository.subscriptions import SubscriptionRepository
from plans import Plan, SupportPlan
from plans.model import EarlyCancellation

_State = SubscriptionState


class CurrencyMismatch(BillingError):
    def __init__(self, customer_currency: str, plan: Plan) -> None:
        super().__init__(
            f"plan {plan.id!r} version {plan.version} is priced in {plan.pricing.currency} but "
            f"the customer pays in {customer_currency}; choose a plan in {customer_currency}"
        )


def current_period_end(subscription: Subscription, now: datetime) -> datetime:
    """The end of the period running at ``now``, even if roll_periods has not caught up."""
    return max(subscription.period_end, Period.of(now).end)


def end_subscription(subscription: Subscription, at: datetime) -> None:
    """The subscription is over from ``at``: cancelled, nothing scheduled any more."""
    subscription.state = _State.CANCELLED.value
    subscription.ended_at = at
    subscription.cancel_at = at
    subscription.next_plan_id = None
    subscription.next_plan_version = None


def new_subscription_id() -> str:
    return "s" + secrets.token_hex(6)


@dataclass(frozen=True, slots=True)
class CancellationTerms:
    """What cancelling a subscription at a moment means, before anyone confirms it."""

    ends_at: datetime  # when the service stops (cancelled by the customer, not immediately)
    policy: EarlyCancellation | None  # None: no commitment runs, nothing early about it
    charge_minor: int  # invoiced at once for leaving a commitment early; 0: nothing
    currency: str
    charge_description: str


def cancellation_terms(subscription: Subscription, plan: Plan, now: datetime) -> CancellationTerms:
    """The rules of :meth:`Subscriptions.cancel` as a preview: one place decides both.

    Outside a commitment it ends at the period end. During one, the plan's
    early_cancellation decides: end_of_term → at the commitment's end, nothing charged;
    pay_remaining → at the period end, the remaining months' fees charged; fee → at the
    period end, the early-cancellation fee charged.
    """
    commitment = plan.pricing.commitment
    committed_until = subscription.commitment_ends_at
    period_end = current_period_end(subscription, now)
    currency = plan.pricing.currency
    if committed_until is None or now >= committed_until:
        return CancellationTerms(period_end, None, 0, currency, "")
    policy = commitment.early_cancellation if commitment else EarlyCancellation.END_OF_TERM
    if policy is EarlyCancellation.END_OF_TERM:
        return CancellationTerms(committed_until, policy, 0, currency, "")
    if policy is EarlyCancellation.PAY_REMAINING:
        # The current period is invoiced already; the rest of the term is owed.
        amount = fees_between(plan, period_end, committed_until)
        description = (
            f"{plan.name}: remaining commitment {period_end:%Y-%m-%d} to {committed_until:%Y-%m-%d}"
        )
    elif commitment is not None and commitment.early_cancellation_fee is not None:
        amount = commitment.early_cancellation_fee.minor
        description = f"{plan.name}: early cancellation fee"
    else:
        amount, description = 0, ""
    return CancellationTerms(period_end, policy, max(amount, 0), currency, description)


@dataclass(frozen=True, slots=True)
class RollChange:
    """One thing roll_periods did, for the caller's log."""

    subscription_id: str
    what: str
    at: datetime


class Subscriptions:
    def __init__(self, ctx: BillingContext) -> None:
        self.ctx = ctx

    # -- reading ------------------------------------------------------------------------

    async def get(self, subscription_id: str) -> Subscription:
        async with self.ctx.sessions() as session:
            return await SubscriptionRepository(session).get(subscription_id)

    async def for_customer(self, customer_id: str) -> list[Subscription]:
        async with self.ctx.sessions() as session:
            await CustomerRepository(session).get(customer_id)
            return await SubscriptionRepository(session).find(customer_id)

    async def link_instance(self, subscription_id: str, instance_ref: str) -> None:
        """Remember which instance the portal runs for this (hosting) subscription."""
        async with self.ctx.sessions() as session, session.begin():
            subscription = await SubscriptionRepository(session).get(subscription_id)
            subscription.instance_ref = instance_ref

    # -- starting -----------------------------------------------------------------------

    async def subscribe(
        self,
        customer_id: str,
        plan_id: str,
        plan_version: int | None = None,
        *,
        stripe_checkout: bool,
    ) -> Subscription:
        """Start a subscription to a plan version (default: the newest available today).

        With Stripe configured and ``stripe_checkout``, it stays ``pending`` until the
        checkout webhook activates it. Otherwise it starts at once (trialing when the plan
        has a trial) and ``subscription.create`` is queued; without a Stripe key the
        message waits in the outbox until one is configured.
        """
        now = self.ctx.clock()
        plan = self._plan(plan_id, plan_version, now)
        pricing = plan.pricing
        trial_ends = add_months(now, pricing.trial_months) if pricing.trial_months else None
        commitment = pricing.commitment
        pending = self.ctx.stripe.enabled and stripe_checkout
        if pending:
            state = _State.PENDING
        else:
            state = _State.TRIALING if trial_ends is not None else _State.ACTIVE
        async with self.ctx.sessions() as session, session.begin():
            customer = await CustomerRepository(session).get(customer_id)
            if customer.currency != pricing.currency:
                raise CurrencyMismatch(customer.currency, plan)
            subscription = Subscription(
                id=new_subscription_id(),
                customer_id=customer.id,
                plan_id=plan.id,
                plan_version=plan.version,
                state=state.value,
                started_at=now,
                trial_ends_at=trial_ends,
                commitment_ends_at=add_months(now, commitment.months) if commitment else None,
                period_start=Period.of(now).start,
                period_end=Period.of(now).end,
                created_at=now,
            )
            SubscriptionRepository(session).add(subscription)
            if not pending:
                await enqueue(
                    session,
                    kind=OutboxKind.SUBSCRIPTION_CREATE,
                    key=f"subscription.create:{subscription.id}",
                    payload={
                        "subscription_id": subscription.id,
                        "customer_id": customer.id,
                        "plan_id": plan.id,
                        "plan_version": plan.version,
                        "trial_end": epoch(trial_ends),
                        "support_plan": isinstance(plan, SupportPlan),
                    },
                    now=now,
                )
                if pricing.setup_fee is not None and not pricing.setup_fee.is_zero:
                    # Charged once, on the subscription's first invoice.
                    await enqueue(
                        session,
                        kind=OutboxKind.INVOICE_ITEM,
                        key=f"invoice_item:setup:{subscription.id}",
                        payload={
                            "customer_id": customer.id,
                            "entry_id": f"setup:{subscription.id}",
                            "amount_minor": pricing.setup_fee.minor,
                            "currency": pricing.setup_fee.currency,
                            "description": f"Setup fee: {plan.name}",
                            "period": str(Period.of(now)),
                        },
                        now=now,
                    )
        return subscription

    # -- changing plans -----------------------------------------------------------------

    async def change_plan(
        self, subscription_id: str, plan_id: str, plan_version: int | None = None
    ) -> Subscription:
        """Move to another plan (version): an upgrade now, prorated; a downgrade at the
        period end (after the commitment, if one runs), recorded in next_plan_*.

        "Up" and "down" compare the price per month; an equal price applies now without
        proration. Changing again before a scheduled downgrade replaces it.
        """
        now = self.ctx.clock()
        async with self.ctx.sessions() as session, session.begin():
            repo = SubscriptionRepository(session)
            subscription = await repo.get(subscription_id)
            self._require_live(subscription, "change its plan")
            if subscription.cancel_at is not None:
                raise InvalidTransition(
                    f"subscription {subscription.id} is cancelled from "
                    f"{subscription.cancel_at:%Y-%m-%d}; a plan change would not outlive it"
                )
            current = self.ctx.catalog().get(subscription.plan_id, subscription.plan_version)
            target = self._plan(plan_id, plan_version, now)
            if target.key == current.key:
                raise InvalidTransition(
                    f"subscription {subscription.id} is already on {target.id} "
                    f"version {target.version}"
                )
            if target.kind is not current.kind:
                raise InvalidTransition(
                    f"cannot change a {current.kind} plan into a {target.kind} plan "
                    f"({target.id}); subscribe to it separately"
                )
            if target.pricing.currency != current.pricing.currency:
                customer = await CustomerRepository(session).get(subscription.customer_id)
                raise CurrencyMismatch(customer.currency, target)
            old_price, new_price = monthly_price(current), monthly_price(target)
            if new_price < old_price:
                subscription.next_plan_id = target.id
                subscription.next_plan_version = target.version
                return subscription
            self._switch(subscription, target, now)
            await self._enqueue_update(
                session,
                subscription,
                proration="always_invoice" if new_price > old_price else "none",
                now=now,
            )
        return subscription

    def _switch(self, subscription: Subscription, plan: Plan, at: datetime) -> None:
        subscription.plan_id = plan.id
        subscription.plan_version = plan.version
        subscription.next_plan_id = None
        subscription.next_plan_version = None
        commitment = plan.pricing.commitment
        if commitment is not None:
            # The new plan's commitment runs from the switch, never shortening one running.
            ends = add_months(at, commitment.months)
            held = subscription.commitment_ends_at
            subscription.commitment_ends_at = ends if held is None else max(held, ends)

    # -- cancelling ---------------------------------------------------------------------

    async def cancel(self, subscription_id: str, *, immediately: bool = False) -> Subscription:
        """Cancel a subscription.

        Outside a commitment it ends at the period end. During one, the plan's
        early_cancellation decides: end_of_term → at the commitment's end; pay_remaining
        → at the period end, with the remaining months' fees invoiced; fee → at the period
        end, with the early-cancellation fee invoiced. ``immediately`` (an operator's
        decision) ends it now; pay_remaining and fee are still invoiced, end_of_term is
        waived. Cancelling again while a cancellation is scheduled changes nothing.
        """
        now = self.ctx.clock()
        async with self.ctx.sessions() as session, session.begin():
            subscription = await SubscriptionRepository(session).get(subscription_id)
            if subscription.state == _State.CANCELLED:
                raise InvalidTransition(f"subscription {subscription.id} is already cancelled")
            if subscription.state == _State.PENDING:
                # Checkout never completed: nothing exists in Stripe to cancel.
                end_subscription(subscription, now)
                return subscription
            if subscription.cancel_at is not None and not immediately:
                return subscription
            plan = self.ctx.catalog().get(subscription.plan_id, subscription.plan_version)
            terms = cancellation_terms(subscription, plan, now)
            if terms.charge_minor > 0:
                await self._charge_early_cancellation(session, subscription, terms, now)
            if immediately:
                end_subscription(subscription, now)
                await enqueue(
                    session,
                    kind=OutboxKind.SUBSCRIPTION_CANCEL,
                    key=f"subscription.cancel:{subscription.id}",
                    payload={"subscription_id": subscription.id},
                    now=now,
                )
                return subscription
            subscription.cancel_at = terms.ends_at
            subscription.next_plan_id = None
            subscription.next_plan_version = None
            await self._enqueue_update(session, subscription, proration="none", now=now)
        return subscription

    async def _charge_early_cancellation(
        self,
        session: AsyncSession,
        subscription: Subscription,
        terms: CancellationTerms,
        now: datetime,
    ) -> None:
        entry_id = f"cancel-{subscription.id}"
        await enqueue(
            session,
            kind=OutboxKind.INVOICE_ITEM,
            key=f"invoice_item:{entry_id}",
            payload={
                "customer_id": subscription.customer_id,
                "entry_id": entry_id,
                "amount_minor": terms.charge_minor,
                "currency": terms.currency,
                "description": terms.charge_description,
                "period": f"{now:%Y-%m}",
            },
            now=now,
        )

    # -- manual suspension --------------------------------------------------------------

    async def suspend(self, subscription_id: str) -> Subscription:
        """An operator's suspension: stopped until resumed by hand; payments do not lift it."""
        now = self.ctx.clock()
        async with self.ctx.sessions() as session, session.begin():
            subscription = await SubscriptionRepository(session).get(subscription_id)
            self._require_live(subscription, "suspend it")
            if subscription.suspension_reason != MANUAL:
                subscription.state = _State.SUSPENDED.value
                subscription.suspension_reason = MANUAL
                subscription.suspended_since = now
        return subscription

    async def resume(self, subscription_id: str) -> Subscription:
        """Lift a manual suspension; an unpaid debt puts it back into dunning (past_due)."""
        now = self.ctx.clock()
        async with self.ctx.sessions() as session, session.begin():
            subscription = await SubscriptionRepository(session).get(subscription_id)
            if subscription.suspension_reason != MANUAL:
                raise InvalidTransition(
                    f"subscription {subscription.id} is not suspended by an operator "
                    f"(state {subscription.state}); a billing suspension ends when paid"
                )
            owed = subscription.past_due_since is not None
            subscription.state = (
                _State.PAST_DUE if owed else standing_state(subscription, now)
            ).value
            subscription.suspension_reason = None
            subscription.suspended_since = None
        return subscription

    # -- time passing -------------------------------------------------------------------

    async def roll_periods(self, now: datetime) -> list[RollChange]:
        """Bring every live subscription up to ``now``, in the order things fell due:
        cancellations take effect (cancelled, ended_at), trials end (trialing → active),
        periods advance month by month and scheduled downgrades apply at period ends.

        Idempotent: a second call with the same ``now`` changes nothing.
        """
        changes: list[RollChange] = []
        async with self.ctx.sessions() as session, session.begin():
            for subscription in await SubscriptionRepository(session).due_for_roll(now):
                changes.extend(await self._roll(session, subscription, now))
        return changes

    async def _roll(
        self, session: AsyncSession, subscription: Subscription, now: datetime
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
                await self._apply_downgrade(session, subscription, period_end, now, note)
            else:
                break
        return changes

    async def _apply_downgrade(
        self,
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
        self._switch(subscription, self.ctx.catalog().get(plan_id, version), boundary)
        note(f"downgraded to {plan_id} version {version}", boundary)
        await self._enqueue_update(session, subscription, proration="none", now=now)

    # -- helpers ------------------------------------------------------------------------

    def _plan(self, plan_id: str, version: int | None, now: datetime) -> Plan:
        catalog = self.ctx.catalog()
        return (
            catalog.get(plan_id, version)
            if version is not None
            else catalog.current(plan_id, now.date())
        )

    @staticmethod
    def _require_live(subscription: Subscription, action: str) -> None:
        if subscription.state in (_State.CANCELLED, _State.PENDING):
            raise InvalidTransition(
                f"subscription {subscription.id} is {subscription.state}; cannot {action}"
            )

    async def _enqueue_update(
        self, session: AsyncSession, subscription: Subscription, *, proration: str, now: datetime
    ) -> None:
        number = await SubscriptionRepository(session).update_count(subscription.id) + 1
        await enqueue(
            session,
            kind=OutboxKind.SUBSCRIPTION_UPDATE,
            key=f"subscription.update:{subscription.id}:{number}",
            payload={
                "subscription_id": subscription.id,
                "plan_id": subscription.plan_id,
                "plan_version": subscription.plan_version,
                "proration_behavior": proration,
                "cancel_at": epoch(subscription.cancel_at),
                # Stripe prorates from this moment, not from when the outbox gets through.
                "changed_at": epoch(now),
            },
            now=now,
        )

    async def list(self, customer_id: str | None = None) -> list[Subscription]:
        async with self.ctx.sessions() as session:
            return await SubscriptionRepository(session).find(customer_id)
