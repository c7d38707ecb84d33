"""The dashboard's combined queries read exactly what the separate ones they replace
read: a customer with their subscriptions, and a subscription's last closed period with
its open entries (several subscriptions, closed periods, other customers' rows around)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from billing.errors import UnknownCustomer
from billing.models import ClosedPeriod, Customer, EntryState, Subscription, SupportEntry
from billing.periods import Period
from billing.repository.ledger import LedgerRepository
from billing.repository.subscriptions import SubscriptionRepository
from portal.database import create_session_factory
from tests.fixtures.billing import make_customer, make_subscription

_ids = itertools.count(1)


def at(month: int, day: int = 2, year: int = 2026) -> datetime:
    return datetime(year, month, day, 10, tzinfo=UTC)


def entry(subscription: Subscription, billed: str | None, recorded: datetime) -> SupportEntry:
    return SupportEntry(
        id=f"e{next(_ids):06d}",
        customer_id=subscription.customer_id,
        subscription_id=subscription.id,
        worked_at=recorded,
        period=billed or "2026-01",
        minutes=30,
        note="work",
        staff="ana",
        category="support",
        state=EntryState.RECORDED.value,
        billed_period=billed,
        recorded_at=recorded,
    )


def closed(subscription: Subscription, period: str) -> ClosedPeriod:
    return ClosedPeriod(
        subscription_id=subscription.id,
        period=period,
        customer_id=subscription.customer_id,
        plan_id=subscription.plan_id,
        plan_version=subscription.plan_version,
        summary={"period": period},
        billable_minutes=0,
        closed_at=at(12),
        closed_by="grace period",
    )


async def customer_with_three(session: AsyncSession) -> tuple[Customer, list[Subscription]]:
    """A customer with three subscriptions: none, one and two closed periods; entries
    before, in and after them, out of order, and one billed nowhere yet."""
    customer = await make_customer(session, at(8))
    mine = [
        await make_subscription(session, customer, "support-payg", at(month))
        for month in (10, 8, 9)
    ]
    _, once, twice = mine
    session.add_all([closed(once, "2026-08"), closed(twice, "2026-09"), closed(twice, "2026-10")])
    for subscription in mine:
        for billed, day in [("2026-11", 5), ("2026-08", 3), ("2026-10", 4), ("2026-12", 1)]:
            session.add(entry(subscription, billed, at(12, day)))
        session.add(entry(subscription, "2026-11", at(12, 1)))  # recorded before the 5th
        session.add(entry(subscription, None, at(12, 2)))
    await session.flush()
    return customer, mine


async def two_customers(session: AsyncSession) -> tuple[Customer, list[Subscription]]:
    """``customer_with_three``, and another customer like them whose rows must not show."""
    first = await customer_with_three(session)
    await customer_with_three(session)
    return first


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with create_session_factory(engine)() as session, session.begin():
        yield session


async def test_last_closed_and_open_entries_read_what_the_two_queries_read(
    session: AsyncSession,
) -> None:
    _, subscriptions = await two_customers(session)
    repo = LedgerRepository(session)
    for subscription in subscriptions:
        last = await repo.last_closed(subscription.id)
        # ``open_state_after``'s rule (its summary part does not matter here).
        first_open = (
            Period.parse(last.period).next() if last else Period.of(subscription.started_at)
        )
        expected = await repo.open_entries(subscription.id, str(first_open))

        got_last, got_entries = await repo.last_closed_and_open_entries(subscription)

        assert got_last is last
        assert [e.id for e in got_entries] == [e.id for e in expected]
        assert got_entries  # each has open entries: the comparison is not of empty lists
    periods = {
        s.id: (last.period if last else None, sorted({e.billed_period or "" for e in entries}))
        for s in subscriptions
        for last, entries in [await repo.last_closed_and_open_entries(s)]
    }
    never_closed, once, twice = subscriptions
    assert periods[never_closed.id] == (None, ["2026-10", "2026-11", "2026-12"])
    assert periods[once.id] == ("2026-08", ["2026-10", "2026-11", "2026-12"])
    assert periods[twice.id] == ("2026-10", ["2026-11", "2026-12"])


async def test_a_closed_period_comes_back_without_open_entries(session: AsyncSession) -> None:
    customer = await make_customer(session, at(8))
    subscription = await make_subscription(session, customer, "support-payg", at(8))
    session.add(closed(subscription, "2026-09"))
    session.add(entry(subscription, "2026-09", at(9)))
    await session.flush()

    last, entries = await LedgerRepository(session).last_closed_and_open_entries(subscription)

    assert last is not None
    assert last.period == "2026-09"
    assert entries == []
    assert Period.parse(last.period).next() == Period(2026, 10)


async def test_subscriptions_of_a_known_customer_read_what_find_reads(
    session: AsyncSession,
) -> None:
    customer, subscriptions = await two_customers(session)
    repo = SubscriptionRepository(session)

    got, found = await repo.with_customer(customer.id)

    assert got is customer
    assert [s.id for s in found] == [s.id for s in await repo.find(customer.id)]
    assert {s.id for s in found} == {s.id for s in subscriptions}


async def test_a_customer_without_subscriptions_has_none_and_an_unknown_one_raises(
    session: AsyncSession,
) -> None:
    customer = await make_customer(session, at(8))
    repo = SubscriptionRepository(session)

    assert await repo.with_customer(customer.id) == (customer, [])
    with pytest.raises(UnknownCustomer):
        await repo.with_customer("c-nobody")
