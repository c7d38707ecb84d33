"""``dockyard db``: keep the database schema at the revision this code expects."""

from __future__ import annotations

import asyncio

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from portal import migrate
from portal.database import create_engine
from portal.runtime import Runtime
from portal.settings import DatabaseSettings


@click.group("db")
def db_group() -> None:
    """Database schema migrations."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@click.pass_obj
def upgrade_command(runtime: Runtime, revision: str) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    settings = runtime.settings
    url = make_url(settings.database.url).render_as_string(hide_password=True)
    try:
        asyncio.run(_upgrade(settings.database, revision))
    except (OSError, SQLAlchemyError) as error:
        # An unreachable or misconfigured database is an operator's problem: one line, no
        # traceback.
        raise click.ClickException(f"cannot migrate {url}: {str(error).splitlines()[0]}") from error
    click.echo(f"{url} is at revision {revision}")


async def _upgrade(settings: DatabaseSettings, revision: str) -> None:
    engine = create_engine(settings)
    try:
        await migrate.upgrade(engine, revision)
    finally:
        await engine.dispose()
