"""``dockyard ssh-gateway``: the SSH gateway as a process of its own."""

from __future__ import annotations

import asyncio
import logging

import click

from portal.runtime import Runtime
from portal.ssh.running import serve_gateway


@click.command("ssh-gateway")
@click.pass_obj
def ssh_gateway(runtime: Runtime) -> None:
    """SSH into server-hosting instances: ssh <instance>@DOCKYARD_SSH_HOST -p DOCKYARD_SSH_PORT.

    `dockyard serve --with-worker` runs the same gateway inside the web process.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = runtime.settings.ssh
    click.echo(f"ssh gateway on {settings.address}:{settings.port} (Ctrl-C stops)")
    try:
        asyncio.run(serve_gateway(runtime))
    except OSError as error:
        raise click.ClickException(
            f"cannot listen on {settings.address}:{settings.port}: {error} "
            "(set DOCKYARD_SSH_ADDRESS / DOCKYARD_SSH_PORT)"
        ) from None
    except KeyboardInterrupt:
        click.echo("ssh gateway stopped")
