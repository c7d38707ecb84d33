"""Alembic environment: migrates every package's tables on any async engine.

Where the connection comes from, first match wins:

1. ``config.attributes["connection"]``: an open synchronous connection, handed over by
   :func:`portal.migrate.upgrade` (``AsyncConnection.run_sync``), so the caller decides
   which database and transaction the migration runs in;
2. ``sqlalchemy.url`` set on the config by the caller;
3. ``DOCKYARD_DATABASE_URL`` and friends, read through :class:`DatabaseSettings`.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator

from portal.database import create_engine
from portal.migrate import all_metadata
from portal.settings import DatabaseSettings

config = context.config
target_metadata = all_metadata()


def database_settings() -> DatabaseSettings:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return DatabaseSettings(url=url)
    return DatabaseSettings.from_env(os.environ)


def render_item(kind: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write a TypeDecorator column (``DateTimeUTC``) as the plain type it stores.

    A revision then never imports application code, which may change or move after the
    revision is written.
    """
    if kind == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def run_migrations_offline() -> None:
    """Write the SQL to stdout (``alembic upgrade --sql``) instead of running it."""
    url = database_settings().url
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_on_own_engine() -> None:
    engine = create_engine(database_settings())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    # Only the alembic command gets here; configure its logging, not an embedding app's.
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    asyncio.run(run_migrations_on_own_engine())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
