"""Every query about subscriptions, in one place (the other repositories ask this one)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billing.errors import UnknownCustomer, UnknownSubscription
from billing.models import ClosedPeriod, Customer, OutboxMessage, Subscription, SubscriptionState
from billing.periods import Period

_LIVE = [
    SubscriptionState.TRIALING.value,
    SubscriptionState.ACTIVE.value,
    SubscriptionState.PAST_DUE.value,
    SubscriptionState.SUSPENDED.value,
]

# Built once: the dashboard asks on every load (see billing.repository.ledger).
_WITH_CUSTOMER = (
    select(Customer, Subscription)
    .outerjoin(Subscription, Subscription.customer_id == Customer.id)
    .where(Customer.id == bindparam("customer_id"))
    .order_by(Subscription.created_at, Subscription.id)
)


class SubscriptionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, subscription: Subscription) -> None:
        self.session.add(subscription)

    async def get(self, subscription_id: str) -> Subscription:
        subscription = await self.session.get(Subscription, subscription_id)
        if subscription is None:
            raise UnknownSubscription(subscription_id)
        return subscription

    async def lookup(self, subscription_id: str) -> Subscription | None:
        """The subscription, or None (``get`` raises instead)."""
        return await self.session.get(Subscription, subscription_id)

    async def by_stripe_id(self, stripe_subscription_id: str) -> Subscription | None:
        query = (
            select(Subscription)
            .where(Subscription.stripe_subscription_id == stripe_subscription_id)
            .order_by(Subscription.id)
            .limit(1)
        )
        return await self.session.scalar(query)

    async def set_stripe_id(self, subscription_id: str, stripe_id: str, now: datetime) -> None:
        await self.session.execute(
            update(Subscription)
            .where(
                Subscription.id == subscription_id, Subscription.stripe_subscription_id.is_(None)
            )
            .values(stripe_subscription_id=stripe_id, stripe_linked_at=now)
            .execution_options(synchronize_session=False)
        )

    async def find(self, customer_id: str | None = None) -> list[Subscription]:
        query = select(Subscription).order_by(Subscription.created_at, Subscription.id)
        if customer_id is not None:
            query = query.where(Subscription.customer_id == customer_id)
        return list(await self.session.scalars(query))

    async def with_customer(self, customer_id: str) -> tuple[Customer, list[Subscription]]:
        """A customer and their subscriptions (as ``find``), in one query; raises
        UnknownCustomer."""
        rows = (await self.session.execute(_WITH_CUSTOMER, {"customer_id": customer_id})).all()
        if not rows:
            raise UnknownCustomer(customer_id)
        return rows[0][0], [subscription for _, subscription in rows if subscription is not None]

    async def started(self, customer_id: str) -> list[Subscription]:
        """The customer's subscriptions that ever started (not waiting for checkout), by
        start (``ever_started`` orders those read already alike)."""
        query = (
            select(Subscription)
            .where(
                Subscription.customer_id == customer_id,
                Subscription.state != SubscriptionState.PENDING.value,
            )
            .order_by(Subscription.started_at, Subscription.id)
        )
        return list(await self.session.scalars(query))

    async def open_before(self, period: str) -> list[Subscription]:
        """Started subscriptions with a period before ``period`` still open."""
        before = Period.parse(period)
        last = (
            select(ClosedPeriod.subscription_id, func.max(ClosedPeriod.period).label("last"))
            .group_by(ClosedPeriod.subscription_id)
            .subquery()
        )
        query = (
            select(Subscription)
            .outerjoin(last, last.c.subscription_id == Subscription.id)
            .where(
                Subscription.state != SubscriptionState.PENDING.value,
                Subscription.started_at < before.start,
                or_(last.c.last.is_(None), last.c.last < str(before.previous())),
            )
            .order_by(Subscription.id)
        )
        return list(await self.session.scalars(query))

    async def running_past(self, customer_id: str, boundary: datetime) -> list[Subscription]:
        """The customer's started, live subscriptions that run on past ``boundary``."""
        found = await self.session.scalars(
            select(Subscription).where(
                Subscription.customer_id == customer_id,
                Subscription.state.in_(_LIVE),
                or_(Subscription.cancel_at.is_(None), Subscription.cancel_at > boundary),
            )
        )
        return list(found)

    async def live_in(
        self, start: datetime, end: datetime, customer_id: str | None = None
    ) -> list[Subscription]:
        """Subscriptions that started before ``end`` and had not ended by ``start``;
        never one still waiting for checkout."""
        query = (
            select(Subscription)
            .where(
                Subscription.state != SubscriptionState.PENDING.value,
                Subscription.started_at < end,
                or_(Subscription.ended_at.is_(None), Subscription.ended_at > start),
            )
            .order_by(Subscription.customer_id, Subscription.started_at, Subscription.id)
        )
        if customer_id is not None:
            query = query.where(Subscription.customer_id == customer_id)
        return list(await self.session.scalars(query))

    async def plans_of(self, subscription_ids: Collection[str]) -> dict[str, tuple[str, int]]:
        """The plan (id, version) each of these subscriptions holds now."""
        if not subscription_ids:
            return {}
        rows = await self.session.execute(
            select(Subscription.id, Subscription.plan_id, Subscription.plan_version).where(
                Subscription.id.in_(list(subscription_ids))
            )
        )
        return {id: (plan_id, version) for id, plan_id, version in rows.all()}

    async def standings(
        self, customer_id: str | None = None
    ) -> list[tuple[str, str, str, str | None]]:
        """(subscription id, customer id, state, suspension reason) of every subscription."""
        query = select(
            Subscription.id,
            Subscription.customer_id,
            Subscription.state,
            Subscription.suspension_reason,
        )
        if customer_id is not None:
            query = query.where(Subscription.customer_id == customer_id)
        rows = await self.session.execute(query)
        return [(row[0], row[1], row[2], row[3]) for row in rows]

    async def count_by_state(self) -> dict[str, int]:
        """How many subscriptions are in each state (states with none are absent)."""
        rows = await self.session.execute(
            select(Subscription.state, func.count()).group_by(Subscription.state)
        )
        return dict(rows.all())

    async def due_for_roll(self, now: datetime) -> list[Subscription]:
        """Live subscriptions with something due by ``now``: a period end, a trial end or
        a cancellation date."""
        query = (
            select(Subscription)
            .where(Subscription.state.in_(_LIVE))
            .where(
                or_(
                    Subscription.period_end <= now,
                    Subscription.cancel_at <= now,
                    and_(
                        Subscription.state == SubscriptionState.TRIALING.value,
                        Subscription.trial_ends_at <= now,
                    ),
                )
            )
            .order_by(Subscription.id)
        )
        return list(await self.session.scalars(query))

    async def in_dunning(self) -> list[Subscription]:
        """Subscriptions dunning may move on: past due, or suspended for non-payment."""
        query = (
            select(Subscription)
            .where(
                or_(
                    Subscription.state == SubscriptionState.PAST_DUE.value,
                    and_(
                        Subscription.state == SubscriptionState.SUSPENDED.value,
                        Subscription.suspension_reason == "billing",
                    ),
                )
            )
            .order_by(Subscription.id)
        )
        return list(await self.session.scalars(query))

    async def update_count(self, subscription_id: str) -> int:
        """How many ``subscription.update`` messages this subscription has produced; the
        next one's key ends in this number plus one."""
        prefix = f"subscription.update:{subscription_id}:"
        query = select(func.count()).where(
            OutboxMessage.idempotency_key.startswith(prefix, autoescape=True)
        )
        return int(await self.session.scalar(query) or 0)
