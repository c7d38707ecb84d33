"""``dockyard outbox``: see what waits for Stripe, and put dead rows back in the queue."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from billing.cli.runner import ProvidesBilling, run_with
from billing.context import BillingContext
from billing.models import OutboxMessage, OutboxState
from billing.outbox.admin import outbox_messages, retry_dead
from billing.outbox.sender import OutboxSender

T = TypeVar("T")


def _run(ctx: click.Context, use: Callable[[BillingContext], Awaitable[T]]) -> T:
    runtime: ProvidesBilling = ctx.find_root().obj
    return run_with(runtime.billing(), use)


def _line(message: OutboxMessage) -> str:
    error = f"  {message.last_error}" if message.last_error else ""
    stripe_id = f" {message.stripe_id}" if message.stripe_id else ""
    return (
        f"{message.id:>6} {message.state:<9} {message.kind:<20} {message.idempotency_key}"
        f"  attempts:{message.attempts} next:{message.next_attempt_at:%Y-%m-%d %H:%M:%S}"
        f"{stripe_id}{error}"
    )


@click.group("outbox")
def outbox_group() -> None:
    """Stripe calls waiting to be made (the outbox)."""


@outbox_group.command("list")
@click.option("--state", type=click.Choice([s.value for s in OutboxState]), help="Only these.")
@click.option("--limit", default=200, show_default=True)
@click.pass_context
def list_messages(ctx: click.Context, state: str | None, limit: int) -> None:
    """Rows of the outbox, oldest first, with their last error."""

    messages = _run(
        ctx, lambda billing: outbox_messages(billing, OutboxState(state) if state else None, limit)
    )
    for message in messages:
        click.echo(_line(message))
    if not messages:
        click.echo("the outbox is empty" if state is None else f"no {state} messages")


@outbox_group.command()
@click.argument("message_id", type=int)
@click.pass_context
def retry(ctx: click.Context, message_id: int) -> None:
    """Put a dead row back to pending, due now (after fixing what Stripe refused)."""

    _run(ctx, lambda billing: retry_dead(billing, message_id))
    click.echo(f"outbox message {message_id} is pending again")


@outbox_group.command()
@click.option("--limit", default=100, show_default=True, help="At most this many rows.")
@click.pass_context
def drain(ctx: click.Context, limit: int) -> None:
    """Send due rows to Stripe now (the worker does this on its own)."""
    runtime: ProvidesBilling = ctx.find_root().obj
    report = _run(ctx, lambda billing: OutboxSender(billing, runtime.stripe_client).drain(limit))
    click.echo(str(report))
