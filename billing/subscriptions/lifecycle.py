"""Subscriptions: a customer holding a plan version, through its life.

    pending ──(checkout webhook)──> trialing | active ──> past_due ──> suspended ──> cancelled

Periods are calendar months in UTC (Stripe bills from the 1st; the first month is
prorated there). Every change that Stripe must know about is queued in the outbox in the
same transaction. Rules worth knowing:

- an upgrade (a higher price per month) applies at once, prorated; a downgrade waits for
  the period end, and during a commitment for the first period end after it;
- a commitment runs from the end of the trial (from the start without one);
- a cancellation ends the service when what is paid runs out (:func:`paid_through`: the
  Stripe billing cycle already invoiced, a year for a yearly price), a trial at its end.
  During a commitment the plan's ``early_cancellation`` decides: end_of_term ends it when
  the commitment does; pay_remaining invoices the committed time after the paid-through
  date; fee invoices the fee, capped at that. Leaving early never costs more than staying.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from billing.context import BillingContext
from billing.errors import CurrencyMismatch, InvalidTransition
from billing.models import Customer, Subscription, SubscriptionState
from billing.outbox import (
    InvoiceItem,
    SubscriptionCreate,
    enqueue,
)
from billing.periods import Period, add_months, epoch, monthly_price
from billing.repository.customers import CustomerRepository
from billing.repository.subscriptions import SubscriptionRepository
from billing.stripe.catalog import minute_rate
from billing.subscriptions import leaving
from billing.subscriptions.cancellation import (
    commitment_end,
)
from billing.subscriptions.changes import enqueue_update, switch_plan
from billing.subscriptions.dunning import MANUAL, standing_state
from billing.subscriptions.final_invoice import invoice_if_nothing_will
from billing.subscriptions.period_roll import RollChange, roll_periods
from plans import Plan
from plans.model import Interval

_State = SubscriptionState


def setup_fee(subscription: Subscription, plan: Plan, now: datetime) -> InvoiceItem | None:
    """The plan's setup fee, charged once on the subscription's first invoice; None if free.

    Orders through Checkout carry it as a one-time line of the session instead
    (billing.stripe.checkout), so it is queued only for subscriptions the outbox creates.
    """
    fee = plan.pricing.setup_fee
    if fee is None or fee.is_zero:
        return None
    return InvoiceItem(
        customer_id=subscription.customer_id,
        entry_id=f"setup:{subscription.id}",
        amount_minor=fee.minor,
        currency=fee.currency,
        description=f"Setup fee: {plan.name}",
        period=str(Period.of(now)),
    )


def new_subscription_id() -> str:
    return "s" + secrets.token_hex(6)


class Subscriptions:
    def __init__(self, ctx: BillingContext) -> None:
        self.ctx = ctx

    # -- reading ------------------------------------------------------------------------

    async def get(self, subscription_id: str) -> Subscription:
        async with self.ctx.sessions() as session:
            return await SubscriptionRepository(session).get(subscription_id)

    async def for_customer(
        self, customer_id: str, session: AsyncSession | None = None
    ) -> list[Subscription]:
        _, found = await self.with_customer(customer_id, session=session)
        return found

    async def with_customer(
        self, customer_id: str, session: AsyncSession | None = None
    ) -> tuple[Customer, list[Subscription]]:
        """The customer and ``for_customer``, in one query."""
        async with self.ctx.reading(session) as reading:
            return await SubscriptionRepository(reading).with_customer(customer_id)

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
        pending = self.ctx.stripe.enabled and stripe_checkout
        if pending:
            state = _State.PENDING
        else:
            state = _State.TRIALING if trial_ends is not None else _State.ACTIVE
        async with self.ctx.sessions() as session, session.begin():
            customer = await CustomerRepository(session).get(customer_id)
            if customer.currency != pricing.currency:
                raise CurrencyMismatch(customer.currency, plan)
            if minute_rate(plan) is not None:
                await self._one_metered_at_a_time(session, customer_id, plan)
            subscription = Subscription(
                id=new_subscription_id(),
                customer_id=customer.id,
                plan_id=plan.id,
                plan_version=plan.version,
                state=state.value,
                started_at=now,
                trial_ends_at=trial_ends,
                commitment_ends_at=commitment_end(plan, now, trial_ends),
                period_start=Period.of(now).start,
                period_end=Period.of(now).end,
                created_at=now,
            )
            SubscriptionRepository(session).add(subscription)
            if not pending:
                await self._enqueue_start(session, subscription, plan, now)
        return subscription

    async def _enqueue_start(
        self, session: AsyncSession, subscription: Subscription, plan: Plan, now: datetime
    ) -> None:
        """What Stripe must be told of a new subscription. Only recurring prices make a
        Stripe subscription (its items must recur): a one-off package is charged once, as
        an invoice item; a per-hour service has nothing to start, its hours are invoiced as
        they are logged. Either would otherwise fail for good and, dead, hold up nothing,
        but retried first it would hold up its customer's later messages."""
        interval = plan.pricing.interval
        if interval is Interval.ONCE:
            package = InvoiceItem(
                customer_id=subscription.customer_id,
                entry_id=f"package:{subscription.id}",
                amount_minor=plan.pricing.amount.minor,
                currency=plan.pricing.currency,
                description=f"{plan.name} (one-off)",
                period=str(Period.of(now)),
            )
            await enqueue(session, package, now=now)
            await invoice_if_nothing_will(
                session,
                self.ctx.catalog(),
                subscription.customer_id,
                f"package:{subscription.id}",
                now,
            )
            return
        if interval is Interval.HOUR:
            return
        await enqueue(
            session,
            SubscriptionCreate(
                customer_id=subscription.customer_id,
                subscription_id=subscription.id,
                plan_id=plan.id,
                plan_version=plan.version,
                trial_end=epoch(subscription.trial_ends_at),
            ),
            now=now,
        )
        fee = setup_fee(subscription, plan, now)
        if fee is not None:
            await enqueue(session, fee, now=now)

    async def _one_metered_at_a_time(
        self, session: AsyncSession, customer_id: str, plan: Plan
    ) -> None:
        """A Stripe meter sums a customer's events for every metered price on it, so two
        metered subscriptions running at once would bill the same minutes twice
        (https://docs.stripe.com/billing/subscriptions/usage-based/meters), and the ledger
        could not say which one an hour counts on: refuse a second support plan billed
        by the minute (metered, or a yearly bank's overage) while the first runs;
        switching support plans is a plan change."""
        catalog = self.ctx.catalog()
        for held in await SubscriptionRepository(session).find(customer_id):
            if held.state in (_State.CANCELLED, _State.PENDING) or held.plan_id not in catalog:
                continue
            if minute_rate(catalog.get(held.plan_id, held.plan_version)) is not None:
                raise InvalidTransition(
                    f"customer {customer_id} already has {held.plan_id} ({held.id}), billed by"
                    f" the minute like {plan.id}: change that subscription's"
                    " plan instead, or subscribe once it has ended"
                )

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
            switch_plan(subscription, target, now)
            await enqueue_update(
                session,
                subscription,
                proration="always_invoice" if new_price > old_price else "none",
                now=now,
                previous=current.key,
            )
        return subscription

    # -- cancelling (billing.subscriptions.leaving) -------------------------------------

    async def cancel(self, subscription_id: str, *, immediately: bool = False) -> Subscription:
        return await leaving.cancel(self.ctx, subscription_id, immediately=immediately)

    async def keep(self, subscription_id: str) -> Subscription:
        return await leaving.keep(self.ctx, subscription_id)

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

    # -- time passing (billing.subscriptions.period_roll) --------------------------------

    async def roll_periods(self, now: datetime) -> list[RollChange]:
        return await roll_periods(self.ctx, now)

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

    async def list(self, customer_id: str | None = None) -> list[Subscription]:
        async with self.ctx.sessions() as session:
            return await SubscriptionRepository(session).find(customer_id)
