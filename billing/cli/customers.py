"""``dockyard customers`` and ``dockyard subscriptions``: the ledger from a terminal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

import click

from billing.cli.runner import ProvidesBilling, run_with
from billing.context import BillingContext
from billing.customers import Customers
from billing.models import Customer, Subscription
from billing.subscriptions.lifecycle import Subscriptions

T = TypeVar("T")


def _run(ctx: click.Context, use: Callable[[BillingContext], Awaitable[T]]) -> T:
    runtime: ProvidesBilling = ctx.find_root().obj
    return run_with(runtime.billing(), use)


def _day(at: datetime | None) -> str:
    return "-" if at is None else f"{at:%Y-%m-%d}"


def _customer_line(customer: Customer) -> str:
    company = f" ({customer.company})" if customer.company else ""
    return f"{customer.id}  {customer.email:<32} {customer.name}{company}  {customer.currency}"


def _subscription_line(subscription: Subscription) -> str:
    plan = f"{subscription.plan_id}@{subscription.plan_version}"
    line = f"{subscription.id}  {subscription.customer_id}  {plan:<20} {subscription.state:<10}"
    if subscription.cancel_at is not None and subscription.ended_at is None:
        line += f" ends {_day(subscription.cancel_at)}"
    if subscription.next_plan_id is not None:
        line += f" then {subscription.next_plan_id}@{subscription.next_plan_version}"
    return line


# -- customers ------------------------------------------------------------------------


@click.group("customers")
def customers_group() -> None:
    """Who pays: customers and their details."""


@customers_group.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The customer's (contact) name.")
@click.option("--company", default="", help="Company name, if any.")
@click.option("--currency", default="EUR", show_default=True, help="ISO 4217 code.")
@click.pass_context
def create_customer(ctx: click.Context, email: str, name: str, company: str, currency: str) -> None:
    """Record a customer (created in Stripe by the worker)."""
    customer = _run(ctx, lambda b: Customers(b).create(email, name, company, currency))
    click.echo(_customer_line(customer))


@customers_group.command("list")
@click.option("--search", help="Only customers whose email, name or company contains this.")
@click.pass_context
def list_customers(ctx: click.Context, search: str | None) -> None:
    customers = _run(ctx, lambda b: Customers(b).find(search) if search else Customers(b).list())
    for customer in customers:
        click.echo(_customer_line(customer))
    if not customers:
        click.echo("no customers")


@customers_group.command("show")
@click.argument("customer_id")
@click.pass_context
def show_customer(ctx: click.Context, customer_id: str) -> None:
    async def load(b: BillingContext) -> tuple[Customer, list[Subscription]]:
        return await Customers(b).get(customer_id), await Subscriptions(b).for_customer(customer_id)

    customer, subscriptions = _run(ctx, load)
    click.echo(_customer_line(customer))
    click.echo(f"  stripe    {customer.stripe_customer_id or '- (not synced yet)'}")
    click.echo(f"  since     {_day(customer.created_at)}")
    click.echo("subscriptions:")
    for subscription in subscriptions:
        click.echo("  " + _subscription_line(subscription))
    if not subscriptions:
        click.echo("  none")


# -- subscriptions --------------------------------------------------------------------


@click.group("subscriptions")
def subscriptions_group() -> None:
    """Customers' plans: subscribe, change, cancel."""


@subscriptions_group.command("list")
@click.option("--customer", help="Only this customer's subscriptions.")
@click.pass_context
def list_subscriptions(ctx: click.Context, customer: str | None) -> None:
    subscriptions = _run(
        ctx,
        lambda b: Subscriptions(b).for_customer(customer) if customer else Subscriptions(b).list(),
    )
    for subscription in subscriptions:
        click.echo(_subscription_line(subscription))
    if not subscriptions:
        click.echo("no subscriptions")


@subscriptions_group.command("subscribe")
@click.argument("customer_id")
@click.argument("plan_id")
@click.option("--version", "plan_version", type=int, help="Plan version (default: newest).")
@click.pass_context
def subscribe(ctx: click.Context, customer_id: str, plan_id: str, plan_version: int | None) -> None:
    """Subscribe CUSTOMER_ID to PLAN_ID; it starts at once (no checkout from a terminal)."""
    subscription = _run(
        ctx,
        lambda b: Subscriptions(b).subscribe(
            customer_id, plan_id, plan_version, stripe_checkout=False
        ),
    )
    click.echo(_subscription_line(subscription))


@subscriptions_group.command("change")
@click.argument("subscription_id")
@click.argument("plan_id")
@click.option("--version", "plan_version", type=int, help="Plan version (default: newest).")
@click.pass_context
def change(
    ctx: click.Context, subscription_id: str, plan_id: str, plan_version: int | None
) -> None:
    """Upgrade now (prorated) or downgrade at the period end."""
    subscription = _run(
        ctx, lambda b: Subscriptions(b).change_plan(subscription_id, plan_id, plan_version)
    )
    click.echo(_subscription_line(subscription))


@subscriptions_group.command("cancel")
@click.argument("subscription_id")
@click.option("--now", "immediately", is_flag=True, help="End it now, not at the period end.")
@click.pass_context
def cancel(ctx: click.Context, subscription_id: str, immediately: bool) -> None:
    """Cancel at the period end (or the commitment's end, as the plan says)."""
    subscription = _run(
        ctx, lambda b: Subscriptions(b).cancel(subscription_id, immediately=immediately)
    )
    click.echo(_subscription_line(subscription))


@subscriptions_group.command("show")
@click.argument("subscription_id")
@click.pass_context
def show_subscription(ctx: click.Context, subscription_id: str) -> None:
    subscription = _run(ctx, lambda b: Subscriptions(b).get(subscription_id))
    click.echo(_subscription_line(subscription))
    rows = [
        ("started", _day(subscription.started_at)),
        ("period", f"{_day(subscription.period_start)} to {_day(subscription.period_end)}"),
        ("trial", f"until {_day(subscription.trial_ends_at)}"),
        ("commitment", f"until {_day(subscription.commitment_ends_at)}"),
        ("cancel at", _day(subscription.cancel_at)),
        ("ended", _day(subscription.ended_at)),
        ("past due", f"since {_day(subscription.past_due_since)}"),
        (
            "suspended",
            f"since {_day(subscription.suspended_since)} ({subscription.suspension_reason})"
            if subscription.suspension_reason
            else "-",
        ),
        ("stripe", subscription.stripe_subscription_id or "-"),
    ]
    for label, value in rows:
        click.echo(f"  {label:<10} {value}")
