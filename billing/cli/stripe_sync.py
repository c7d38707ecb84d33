"""``dockyard plans sync``: create the catalog's Products, Prices and Meter in Stripe."""

from __future__ import annotations

from typing import Protocol

import click
import stripe
from rich.console import Console
from rich.progress import Progress

from billing.errors import BillingError
from billing.stripe.catalog import Action, SyncPlan, apply, plan_sync
from billing.stripe.client import classify
from plans import Catalog, CatalogError


class ProvidesStripeCatalog(Protocol):
    """What ``dockyard`` puts in the click context; billing does not import portal."""

    def current_catalog(self) -> Catalog: ...

    def stripe_client(self) -> stripe.StripeClient: ...


def _line(action: Action) -> str:
    where = action.stripe_id or "new"
    drift = f"  (differs: {action.drift})" if action.drift else ""
    return f"{action.role:<8} {action.key:<44} {where:<32} {action.description}{drift}"


@click.command("sync")
@click.option("--dry-run", is_flag=True, help="Show what would be created; change nothing.")
@click.pass_context
def sync_command(ctx: click.Context, dry_run: bool) -> None:
    """Create the Stripe Products, Prices and Meter the catalog needs (idempotent)."""
    runtime: ProvidesStripeCatalog = ctx.find_root().obj
    try:
        catalog = runtime.current_catalog()
        client = runtime.stripe_client()
        wanted = plan_sync(client, catalog)
        if dry_run:
            _show(wanted)
            return
        created = _apply(client, wanted)
    except (BillingError, CatalogError) as error:
        raise click.ClickException(str(error)) from None
    except stripe.StripeError as error:
        raise click.ClickException(str(classify(error))) from None
    for action in wanted.drifted:
        click.echo(f"warning: {_line(action)}", err=True)
    click.echo(f"created {len(created)}, already in Stripe {len(wanted.actions) - len(created)}")


def _show(wanted: SyncPlan) -> None:
    for action in wanted.actions:
        click.echo(_line(action))
    click.echo(f"dry run: would create {len(wanted.to_create)}; nothing was sent")


def _apply(client: stripe.StripeClient, wanted: SyncPlan) -> list[Action]:
    console = Console(stderr=True)
    # The bar only on a terminal; in a pipe or a log, the summary line alone.
    with Progress(console=console, disable=not console.is_terminal, transient=True) as progress:
        task = progress.add_task("Syncing the catalog to Stripe", total=len(wanted.actions))
        return apply(client, wanted, lambda action: progress.advance(task))
