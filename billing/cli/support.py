"""``dockyard support``: staff log time; customers' approvals are recorded from here too."""

from __future__ import annotations

import getpass
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Protocol, TypeVar

import click

from billing.cli.runner import run_with
from billing.errors import BillingError
from billing.models import EntryCategory, SupportEntry
from billing.periods import Period
from billing.support_time.allowance import PeriodSummary
from billing.support_time.ledger import Ledger
from plans.render import hours

T = TypeVar("T")


class ProvidesLedger(Protocol):
    """What ``dockyard`` puts in the click context; billing does not import portal."""

    def ledger(self) -> AbstractAsyncContextManager[Ledger]: ...


def _run(ctx: click.Context, use: Callable[[Ledger], Awaitable[T]]) -> T:
    runtime: ProvidesLedger = ctx.find_root().obj
    return run_with(runtime.ledger(), use)


def _line(entry: SupportEntry) -> str:
    billed = f" billable {entry.billable_minutes:+d} min" if entry.billable_minutes else ""
    later = (
        f" (on the {entry.billed_period} invoice)"
        if entry.billed_period and entry.billed_period != entry.period
        else ""
    )
    corrects = f" corrects {entry.corrects_id}" if entry.corrects_id else ""
    return (
        f"{entry.id}  {entry.period}  {entry.minutes:>5} min  {entry.category:<17}"
        f" {entry.state}{billed}{later}{corrects}"
    )


def _parse_at(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: give a date and time such as 2026-11-20T14:30", param_hint="--at"
        ) from None
    # A time without an offset is UTC, the ledger's timezone.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@click.group("support")
def support_group() -> None:
    """The support-hour ledger."""


@support_group.command()
@click.argument("customer")
@click.argument("minutes", type=int)
@click.option("--note", required=True, help="What was done.")
@click.option(
    "--category",
    type=click.Choice([c.value for c in EntryCategory]),
    default=EntryCategory.SUPPORT.value,
    show_default=True,
)
@click.option("--staff", help="Who did the work (default: your login name).")
@click.option("--extra-work", is_flag=True, help="Flat rate: agreed extra work, billed.")
@click.option("--at", "worked_at", help="When the work was done, ISO 8601 (default: now, UTC).")
@click.pass_context
def log(
    ctx: click.Context,
    customer: str,
    minutes: int,
    note: str,
    category: str,
    staff: str | None,
    extra_work: bool,
    worked_at: str | None,
) -> None:
    """Record MINUTES of work for CUSTOMER."""
    when = _parse_at(worked_at)
    who = staff or getpass.getuser()
    entry = _run(
        ctx,
        lambda ledger: ledger.record(
            customer, minutes, note, who, category, worked_at=when, extra_work=extra_work
        ),
    )
    click.echo(_line(entry))
    if entry.state == "pending_approval":
        click.echo("over the customer's monthly cap: waiting for their approval")


@support_group.command()
@click.argument("customer")
@click.option("--period", help="YYYY-MM (default: the current month).")
@click.option(
    "--category",
    type=click.Choice([c.value for c in EntryCategory]),
    default=EntryCategory.SUPPORT.value,
    show_default=True,
)
@click.pass_context
def summary(ctx: click.Context, customer: str, period: str | None, category: str) -> None:
    """CUSTOMER's allowance and entries for one month."""
    wanted = _period(period)

    async def both(ledger: Ledger) -> tuple[PeriodSummary, list[SupportEntry]]:
        found = await ledger.summary(customer, wanted, category)
        return found, await ledger.entries(customer, found.period)

    result, entries = _run(ctx, both)
    included = "unlimited" if result.included_minutes is None else hours(result.included_minutes)
    rows = [
        ("period", f"{result.period} ({result.model})"),
        ("included", included),
        ("rolled in", hours(result.rolled_in_minutes)),
        ("logged", hours(result.logged_minutes)),
        ("used", f"{hours(result.used_minutes)} after rounding"),
        (
            "covered",
            f"{hours(result.covered_by_included)} included"
            f" + {hours(result.covered_by_rollover)} rolled over",
        ),
        ("billable", hours(result.billable_minutes)),
        ("pending", hours(result.pending_minutes)),
        ("rolls on", hours(result.rolled_out_minutes)),
        ("expired", hours(result.expired_minutes)),
    ]
    for label, value in rows:
        click.echo(f"{label:<10} {value}")
    if entries:
        click.echo("entries:")
    for entry in entries:
        click.echo(f"  {_line(entry)}  {entry.staff}: {entry.note.splitlines()[0]}")


def _period(text: str | None) -> Period | None:
    if text is None:
        return None
    try:
        return Period.parse(text)
    except BillingError as error:
        raise click.BadParameter(str(error), param_hint="--period") from None


@support_group.command()
@click.argument("entry")
@click.option("--by", default="customer", show_default=True, help="Who approved it.")
@click.pass_context
def approve(ctx: click.Context, entry: str, by: str) -> None:
    """Bill ENTRY, which waited over the customer's cap."""
    click.echo(_line(_run(ctx, lambda ledger: ledger.approve(entry, by))))


@support_group.command()
@click.argument("entry")
@click.option("--by", default="customer", show_default=True, help="Who rejected it.")
@click.pass_context
def reject(ctx: click.Context, entry: str, by: str) -> None:
    """Never bill ENTRY, which waited over the customer's cap."""
    click.echo(_line(_run(ctx, lambda ledger: ledger.reject(entry, by))))
