"""``dockyard instances backups | backup | restore``: an instance's data from a terminal."""

from __future__ import annotations

import click

from provisioner.backups.restoring import RestoreOutcome
from provisioner.cli_run import run_use_case as _run
from provisioner.models import Backup


def backup_line(backup: Backup) -> str:
    size = f"{backup.size_bytes:>12,} B" if backup.size_bytes is not None else f"{'-':>14}"
    checksum = (backup.sha256 or "-")[:12]
    line = (
        f"{backup.id}  {backup.started_at:%Y-%m-%d %H:%M:%S}  {backup.kind:<13} "
        f"{backup.status:<9} {size}  sha256:{checksum}"
    )
    return f"{line}  {backup.error}" if backup.error else line


@click.command("backups")
@click.argument("instance_id")
@click.pass_context
def list_backups(ctx: click.Context, instance_id: str) -> None:
    """List INSTANCE_ID's backups, newest first."""
    backups = _run(ctx, lambda p: p.backups.list(instance_id))
    for backup in backups:
        click.echo(backup_line(backup))
    if not backups:
        click.echo("no backups")


@click.command("backup")
@click.argument("instance_id")
@click.pass_context
def take_backup(ctx: click.Context, instance_id: str) -> None:
    """Back INSTANCE_ID's data up now (it keeps running)."""
    click.echo(backup_line(_run(ctx, lambda p: p.backups.take(instance_id, actor="cli"))))


@click.command("restore")
@click.argument("instance_id")
@click.argument("backup_id")
@click.pass_context
def restore_backup(ctx: click.Context, instance_id: str, backup_id: str) -> None:
    """Put BACKUP_ID's data back into INSTANCE_ID and start it on it, health-gated.

    The instance is stopped while its volumes are replaced."""
    outcome: RestoreOutcome = _run(
        ctx, lambda p: p.backups.restore(instance_id, backup_id, actor="cli")
    )
    if not outcome.restored:
        raise click.ClickException(outcome.detail)
    click.echo(f"{outcome.instance_id}: restored: {outcome.detail}")


BACKUP_COMMANDS = (list_backups, take_backup, restore_backup)
