"""``dockyard plans``: validate, list, show and diff catalogs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

import click
from rich.console import Console
from rich.table import Table

from plans import render
from plans.catalog import Catalog
from plans.diff import ChangeKind, diff_catalogs
from plans.errors import CatalogInvalid, UnknownPlan
from plans.loader import load_catalog
from plans.model import Plan, Visibility
from plans.settings import CatalogSettings


class HasCatalogSettings(Protocol):
    """What ``dockyard`` puts in the click context; plans does not import portal."""

    @property
    def catalog_settings(self) -> CatalogSettings: ...


def _settings(ctx: click.Context) -> CatalogSettings:
    obj: HasCatalogSettings | None = ctx.find_root().obj
    return obj.catalog_settings if obj is not None else CatalogSettings()


def _load(ctx: click.Context, directory: Path | None) -> Catalog:
    settings = _settings(ctx)
    try:
        return load_catalog(directory or settings.directory, max_file_bytes=settings.max_file_bytes)
    except CatalogInvalid as invalid:
        for problem in invalid.problems:
            click.echo(str(problem), err=True)
        raise click.exceptions.Exit(1) from None


directory_argument = click.argument(
    "directory", required=False, type=click.Path(path_type=Path, file_okay=False)
)


@click.group("plans")
def plans_group() -> None:
    """The plan catalog (YAML in DOCKYARD_CATALOG_DIR)."""


@plans_group.command()
@directory_argument
@click.pass_context
def validate(ctx: click.Context, directory: Path | None) -> None:
    """Check every file; print every problem as FILE:LINE:COL."""
    catalog = _load(ctx, directory)
    click.echo(f"ok: {len(catalog)} plan versions ({len(catalog.ids)} plans)")


@plans_group.command("list")
@click.option("--dir", "directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--on", "on", type=click.DateTime(["%Y-%m-%d"]), help="Offered on this day.")
@click.pass_context
def list_plans(ctx: click.Context, directory: Path | None, on: datetime | None) -> None:
    """Every plan version as a table."""
    catalog = _load(ctx, directory)
    day = on.date() if on else _today()
    offered = {plan.key for plan in catalog.offered(day)}
    table = Table(title=f"Catalog: {len(catalog)} plan versions, offered on {day}")
    for column in ("Plan", "Ver", "Kind", "Price", "Trial", "Term", "Offered", "Name"):
        table.add_column(column, no_wrap=column != "Name")
    for plan in catalog:
        table.add_row(
            plan.id,
            str(plan.version),
            plan.kind.value.replace("_", " "),
            render.price(plan.pricing),
            f"{plan.pricing.trial_months} mo" if plan.pricing.trial_months else "-",
            f"{plan.pricing.commitment.months} mo" if plan.pricing.commitment else "-",
            _offer_state(plan, plan.key in offered, day),
            plan.name,
        )
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)  # piped output: don't squeeze into 80 columns
    console.print(table)


@plans_group.command()
@click.argument("plan_id")
@click.option("--version", type=int, help="A specific version (default: the newest).")
@click.option("--dir", "directory", type=click.Path(path_type=Path, file_okay=False))
@click.pass_context
def show(ctx: click.Context, plan_id: str, version: int | None, directory: Path | None) -> None:
    """Everything about one plan."""
    catalog = _load(ctx, directory)
    try:
        plan = catalog.get(plan_id, version)
    except UnknownPlan as unknown:
        raise click.ClickException(f"{unknown}; known plans: {', '.join(catalog.ids)}") from None
    width = max(len(label) for label, _ in render.describe(plan))
    for label, value in render.describe(plan):
        click.echo(f"{label:<{width}}  {value}")
    if plan.description:
        click.echo(f"\n{plan.description}")


@plans_group.command()
@click.argument("old", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.argument("new", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.pass_context
def diff(ctx: click.Context, old: Path, new: Path) -> None:
    """Plans added, removed and changed from OLD to NEW, and who is affected."""
    changes = diff_catalogs(_load(ctx, old), _load(ctx, new))
    if not changes:
        click.echo("no changes")
        return
    marks = {ChangeKind.ADDED: "+", ChangeKind.REMOVED: "-", ChangeKind.CHANGED: "~"}
    for change in changes:
        flag = (
            "AFFECTS EXISTING CUSTOMERS"
            if change.affects_existing
            else "no existing customer affected"
        )
        click.echo(
            f"{marks[change.kind]} {change.plan_id} v{change.version} {change.kind.value}: {flag}"
        )
        click.echo(f"    {change.impact}")
        for field in change.fields:
            click.echo(f"    {field.field}: {field.old} -> {field.new}")
    affected = sum(change.affects_existing for change in changes)
    click.echo(f"{len(changes)} changes, {affected} affecting existing customers")


def _offer_state(plan: Plan, offered: bool, day: date) -> str:
    if offered:
        return "yes"
    if not plan.availability.is_open(day):
        return "closed"
    return "hidden" if plan.visibility is Visibility.HIDDEN else "superseded"


def _today() -> date:
    return datetime.now(UTC).date()
