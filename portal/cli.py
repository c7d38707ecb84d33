"""The ``dockyard`` command: each package contributes its own command group."""

from __future__ import annotations

import os

import click

from billing import (
    customers_group,
    outbox_group,
    reconcile_command,
    subscriptions_group,
    support_group,
    sync_command,
)
from plans.cli import plans_group
from portal import log_lines
from portal.accounts.cli import operators_group
from portal.db_cli import db_group
from portal.runtime import Runtime
from portal.serve_cli import serve, worker
from portal.settings import Settings
from portal.ssh.cli import ssh_gateway
from provisioner import instances_group, proxy_group


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def dockyard(ctx: click.Context) -> None:
    """Dockyard: subscriptions and provisioning for hosting providers."""
    log_lines.install()
    try:
        settings = Settings.from_env(os.environ)
    except ValueError as error:
        raise click.ClickException(f"configuration: {error}") from None
    ctx.obj = Runtime(settings)


plans_group.add_command(sync_command)
for group in (
    plans_group,
    db_group,
    instances_group,
    proxy_group,
    customers_group,
    subscriptions_group,
    support_group,
    outbox_group,
    operators_group,
    reconcile_command,
    serve,
    worker,
    ssh_gateway,
):
    dockyard.add_command(group)


def main() -> None:
    dockyard()
