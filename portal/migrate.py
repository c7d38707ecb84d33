"""Run the Alembic migrations on an engine the caller already has.

The app, the ``dockyard db`` command and the tests all migrate this way, so any database
(a test's scratch one included) is migrated by the same code path. Alembic runs
synchronously inside ``AsyncConnection.run_sync`` on the connection passed to it through
``config.attributes``; ``migrations/env.py`` picks it up there.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

ALEMBIC_INI = Path(__file__).parent / "alembic.ini"


def all_metadata() -> list[MetaData]:
    """Every ``MetaData`` whose tables Alembic migrates, one per owning package."""
    # Imported when asked: the migrations need every table, the code that migrates none.
    from billing import models as billing_models
    from portal import models
    from portal.accounts import models as account_models  # noqa: F401  (registers its tables)
    from portal.ssh import models as ssh_models  # noqa: F401  (registers its tables)
    from provisioner import models as provisioner_models

    return [models.metadata, provisioner_models.metadata, billing_models.metadata]


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_downgrade, revision)


def _config(connection: Connection) -> Config:
    config = Config(ALEMBIC_INI)
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(_config(connection), revision)


def _downgrade(connection: Connection, revision: str) -> None:
    command.downgrade(_config(connection), revision)
