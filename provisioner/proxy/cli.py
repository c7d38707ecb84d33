"""``dockyard proxy``: the reverse proxy's routes and customers' domains, from a terminal."""

from __future__ import annotations

import click

from provisioner.cli_run import run_use_case
from provisioner.proxy.custom_domains import DnsRecord
from provisioner.service import Provisioner


@click.group("proxy")
def proxy_group() -> None:
    """The reverse proxy (Caddy) in front of every instance."""


@proxy_group.command()
@click.pass_context
def sync(ctx: click.Context) -> None:
    """Load the routes into the proxy now (the worker does every tick)."""
    loaded = run_use_case(ctx, lambda provisioner: provisioner.routes.sync())
    click.echo("loaded the routes" if loaded else "the proxy already serves these routes")


@proxy_group.command()
@click.argument("instance_id")
@click.option("--add", "added", multiple=True, help="Attach this domain (repeatable).")
@click.option("--remove", "removed", multiple=True, help="Remove this domain (repeatable).")
@click.pass_context
def domains(
    ctx: click.Context, instance_id: str, added: tuple[str, ...], removed: tuple[str, ...]
) -> None:
    """An instance's own domains: list them, or add and remove some."""

    async def change(provisioner: Provisioner) -> list[DnsRecord]:
        custom = provisioner.domains
        for name in added:
            await custom.attach(instance_id, name, actor="cli")
        for name in removed:
            if not await custom.detach(instance_id, name, actor="cli"):
                click.echo(f"{name} was not attached to {instance_id}", err=True)
        return [custom.dns_record(instance_id, name) for name in await custom.of(instance_id)]

    for record in run_use_case(ctx, change):
        click.echo(f"{record.address}  DNS: {record.name}. {record.kind} {record.value}")
