"""The ``dockyard`` command: each package contributes its own command group."""

from __future__ import annotations

import os

import click

from plans.cli import plans_group
from portal.db_cli import db_group
from portal.settings import Settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def dockyard(ctx: click.Context) -> None:
    """Dockyard: subscriptions and provisioning for hosting providers."""
    ctx.obj = Settings.from_env(os.environ)


dockyard.add_command(plans_group)
dockyard.add_command(db_group)


def main() -> None:
    dockyard()
