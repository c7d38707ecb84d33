"""The ``dockyard`` command: each package contributes its own command group."""

from __future__ import annotations

import os

import click

from plans.cli import plans_group
from portal.db_cli import db_group
from portal.runtime import Runtime
from portal.settings import Settings
from provisioner.cli import instances_group


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def dockyard(ctx: click.Context) -> None:
    """Dockyard: subscriptions and provisioning for hosting providers."""
    try:
        settings = Settings.from_env(os.environ)
    except ValueError as error:
        raise click.ClickException(f"configuration: {error}") from None
    ctx.obj = Runtime(settings)


dockyard.add_command(plans_group)
dockyard.add_command(db_group)
dockyard.add_command(instances_group)


def main() -> None:
    dockyard()
