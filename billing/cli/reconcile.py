"""``dockyard reconcile``: the ledger beside Stripe's invoices for one month.

Exit status: 0 when everything matches, 1 when there are findings (so cron can alert),
2 when the reconciliation could not be done (Stripe unreachable: run it again to resume).
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console

from billing.cli.runner import ProvidesBilling, run_with
from billing.context import BillingContext
from billing.errors import BillingError
from billing.periods import Period
from billing.reconcile.report import as_json, csv_text, summary_lines
from billing.reconcile.result import Reconciliation
from billing.reconcile.run import reconcile_month

STATE_DIR = Path("var")


@click.command("reconcile")
@click.option("--period", required=True, help="The month to reconcile, YYYY-MM.")
@click.option("--customer", default=None, help="Only this customer (Dockyard's id).")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write every line and finding as CSV to this file.",
)
@click.option("--json", "as_json_flag", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def reconcile_command(
    ctx: click.Context,
    period: str,
    customer: str | None,
    csv_file: Path | None,
    as_json_flag: bool,
) -> None:
    """Set Dockyard's expected invoice lines beside Stripe's invoices and meter summaries."""
    runtime: ProvidesBilling = ctx.find_root().obj
    err = Console(stderr=True)
    try:
        month = Period.parse(period)
        client = runtime.stripe_client()
    except BillingError as error:
        raise click.ClickException(str(error)) from None

    def progress(read: int) -> None:
        if err.is_terminal:
            err.print(f"reading Stripe: {read} invoices", end="\r")

    async def run(billing: BillingContext) -> Reconciliation:
        return await reconcile_month(
            billing, client, month, customer=customer, state_dir=STATE_DIR, on_page=progress
        )

    try:
        result = run_with(runtime.billing(), run)
    except click.ClickException as error:
        err.print(f"Error: {error.message}")
        raise click.exceptions.Exit(2) from None
    if csv_file is not None:
        csv_file.write_text(csv_text(result), encoding="utf-8")
    if as_json_flag:
        click.echo(json.dumps(as_json(result), indent=2))
    else:
        for line in summary_lines(result):
            click.echo(line)
        if csv_file is not None:
            click.echo(f"CSV written to {csv_file}")
    if not result.clean:
        raise click.exceptions.Exit(1)
