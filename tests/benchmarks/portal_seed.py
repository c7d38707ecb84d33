"""A portal database with N customers, as a year of business would leave it.

Each customer has a user (all share one argon2 hash: hashing 1,000 passwords would
measure argon2, not the portal), an application-hosting subscription with its running
instance and a few update events, a support subscription with a month of entries, and
three invoices. Inserted in bulk (core INSERT, executemany), bypassing the use cases.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.models import Customer, Invoice, Subscription, SupportEntry
from portal.accounts.models import User
from portal.accounts.passwords import hash_password
from provisioner.models import Instance, InstanceEvent

ENTRIES_PER_CUSTOMER = 8
INVOICES_PER_CUSTOMER = 3


def customer_email(number: int) -> str:
    return f"customer{number:05d}@example.com"


async def seed_customers(engine: AsyncEngine, count: int, password: str, now: datetime) -> None:
    shared_hash = hash_password(password)
    period = now.strftime("%Y-%m")
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    rows: dict[Any, list[dict[str, Any]]] = {
        table: [] for table in (Customer, User, Subscription, Instance, InstanceEvent)
    }
    entries: list[dict[str, Any]] = []
    invoices: list[dict[str, Any]] = []
    for n in range(count):
        customer = f"c{n:012x}"
        app_sub, support_sub, instance = f"s{n:012x}a", f"s{n:012x}b", f"i{n:012x}"
        rows[Customer].append(
            {
                "id": customer,
                "email": customer_email(n),
                "name": f"Customer {n}",
                "company": f"Co {n}",
                "currency": "EUR",
                "created_at": now,
            }
        )
        rows[User].append(
            {
                "id": f"u{n:012x}",
                "email": customer_email(n),
                "name": f"Customer {n}",
                "password_hash": shared_hash,
                "role": "customer",
                "customer_id": customer,
                "created_at": now,
            }
        )
        for sub_id, plan, ref in (
            (app_sub, "app-starter", instance),
            (support_sub, "support-10h", None),
        ):
            rows[Subscription].append(
                {
                    "id": sub_id,
                    "customer_id": customer,
                    "plan_id": plan,
                    "plan_version": 1,
                    "state": "active",
                    "started_at": month_start,
                    "period_start": month_start,
                    "period_end": month_start + timedelta(days=30),
                    "instance_ref": ref,
                    "created_at": month_start,
                }
            )
        rows[Instance].append(
            {
                "id": instance,
                "customer_ref": customer,
                "plan_id": "app-starter",
                "plan_version": 1,
                "image": "dockyard-demo",
                "image_version": "2",
                "previous_image_version": "1",
                "cpu_millis": 500,
                "memory_mb": 256,
                "disk_gb": 5,
                "max_processes": 64,
                "desired_state": "running",
                "state": "running",
                "revision": 2,
                "health": "healthy",
                "host_port": 20000 + n,
                "attempts": 0,
                "created_at": month_start,
                "updated_at": now,
            }
        )
        for kind, message in (
            ("created", "App Starter (dockyard-demo:1)"),
            ("running", "healthy"),
            ("updated", "dockyard-demo 1 → 2"),
        ):
            rows[InstanceEvent].append(
                {
                    "instance_id": instance,
                    "at": month_start,
                    "kind": kind,
                    "message": message,
                    "actor": "system",
                }
            )
        for e in range(ENTRIES_PER_CUSTOMER):
            entries.append(
                {
                    "id": f"e{n:08x}{e:04x}",
                    "customer_id": customer,
                    "subscription_id": support_sub,
                    "worked_at": month_start + timedelta(days=e, hours=9),
                    "period": period,
                    "minutes": 45,
                    "note": f"Helped with item {e}",
                    "staff": "ops@example.com",
                    "category": "support",
                    "extra_work": False,
                    "state": "recorded",
                    "recorded_at": month_start + timedelta(days=e, hours=10),
                }
            )
        for i in range(INVOICES_PER_CUSTOMER):
            start = month_start - timedelta(days=31 * (i + 1))
            invoices.append(
                {
                    "id": f"in_{n:08x}{i}",
                    "customer_id": customer,
                    "subscription_id": app_sub,
                    "number": f"DY-{n:05d}-{i}",
                    "status": "paid",
                    "currency": "EUR",
                    "total": 4900,
                    "amount_due": 4900,
                    "amount_paid": 4900,
                    "amount_remaining": 0,
                    "hosted_invoice_url": f"https://invoice.stripe.com/i/{n}/{i}",
                    "period_start": start,
                    "period_end": start + timedelta(days=30),
                    "created_at": start,
                    "updated_at": now,
                }
            )
    async with engine.begin() as connection:
        for table, values in rows.items():
            await connection.execute(insert(table), values)
        await connection.execute(insert(SupportEntry), entries)
        await connection.execute(insert(Invoice), invoices)
