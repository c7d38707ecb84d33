"""Revision 0006 (billing exactness) on a database holding 0005's data: nothing is lost,
and what the new design needs is filled in from what was there."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from portal import migrate

NOW = datetime(2026, 11, 20, 10, tzinfo=UTC)


async def test_an_existing_ledger_and_outbox_migrate_losing_nothing(
    bare_engine: AsyncEngine,
) -> None:
    await migrate.upgrade(bare_engine, "0005")
    old_update = {
        "subscription_id": "s1",
        "plan_id": "server-m",
        "plan_version": 1,
        "proration_behavior": "none",
        "cancel_at": None,
        "changed_at": 1_795_000_000,
    }
    meter = {"customer_id": "c1", "entry_id": "e1", "minutes": 30, "timestamp": 1_795_000_000}
    async with bare_engine.begin() as db:
        await db.execute(
            text(
                "INSERT INTO customers (id, email, name, company, currency, created_at)"
                " VALUES ('c1', 'ann@example.com', 'Ann', '', 'EUR', :now)"
            ),
            {"now": NOW},
        )
        await db.execute(
            text(
                "INSERT INTO subscriptions (id, customer_id, plan_id, plan_version, state,"
                " started_at, period_start, period_end, stripe_subscription_id, created_at)"
                " VALUES ('s1', 'c1', 'server-m', 1, 'active', :now, :now, :now, 'sub_1', :now)"
            ),
            {"now": NOW},
        )
        await db.execute(
            text(
                "INSERT INTO support_entries (id, customer_id, subscription_id, worked_at,"
                " period, minutes, note, staff, category, extra_work, state, billed_period,"
                " recorded_at) VALUES"
                " ('e1', 'c1', 's1', :now, '2026-11', 30, 'x', 'ana', 'support', false,"
                "  'recorded', NULL, :now),"
                " ('e2', 'c1', 's1', :now, '2026-10', 45, 'late', 'ana', 'support', false,"
                "  'recorded', '2026-11', :now)"
            ),
            {"now": NOW},
        )
        for key, kind, payload in (
            ("subscription.update:s1:1", "subscription.update", old_update),
            ("meter:e1", "meter_event", meter),
        ):
            await db.execute(
                text(
                    "INSERT INTO stripe_outbox (kind, payload, idempotency_key, state, attempts,"
                    " next_attempt_at, created_at) VALUES (:kind, :payload, :key, 'pending',"
                    " 0, :now, :now)"
                ),
                {"kind": kind, "payload": json.dumps(payload), "key": key, "now": NOW},
            )

    await migrate.upgrade(bare_engine)

    async with bare_engine.connect() as db:
        outbox = (
            await db.execute(
                text("SELECT idempotency_key, customer_id, request FROM stripe_outbox ORDER BY id")
            )
        ).all()
        entries: dict[str, str] = dict(
            (await db.execute(text("SELECT id, billed_period FROM support_entries"))).all()
        )
        linked = await db.scalar(text("SELECT stripe_linked_at FROM subscriptions"))
        closed = await db.scalar(text("SELECT count(*) FROM closed_periods"))
    # The update's customer comes from its subscription; the meter event names its own.
    assert [(key, customer, request) for key, customer, request in outbox] == [
        ("subscription.update:s1:1", "c1", None),
        ("meter:e1", "c1", None),
    ]
    assert entries == {"e1": "2026-11", "e2": "2026-11"}  # a late entry keeps its invoice
    assert linked is not None
    assert closed == 0
