"""The database engine, sessions, and the conventions every table follows.

Each domain package (``billing``, ``provisioner``) owns its tables and its own
``MetaData``; they may not import ``portal``, nor each other, so there is no shared
declarative base of ours. What keeps their schemas consistent comes from advanced-alchemy,
which all of them may import: every metadata is ``MetaData(naming_convention=convention)``
with ``advanced_alchemy.base.convention`` (deterministic constraint names, which SQLite
batch migrations need), and timestamps are ``advanced_alchemy.types.DateTimeUTC``
(timezone-aware on every backend; naive datetimes are refused).
``tests/portal/test_database.py`` checks the convention; :func:`portal.migrate.all_metadata`
collects the metadata for Alembic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

from portal import sqlite_driver
from portal.settings import DatabaseSettings


def create_engine(settings: DatabaseSettings) -> AsyncEngine:
    """An async engine for ``settings.url``; SQLite gets foreign keys and its directory."""
    url = make_url(settings.url)
    if url.get_backend_name() != "sqlite":
        return _create_async_engine(url, echo=settings.echo)

    _create_parent_directory(url)
    if url.get_driver_name() == "aiosqlite":
        url = url.set(drivername=f"sqlite+{sqlite_driver.DRIVER}")
    engine = _create_async_engine(url, echo=settings.echo)
    # SQLite ignores foreign keys unless each connection opts in.
    event.listen(engine.sync_engine, "connect", _enable_foreign_keys)
    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after commit: async code cannot lazily reload expired ones.
    return async_sessionmaker(engine, expire_on_commit=False)


def _create_parent_directory(url: URL) -> None:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _enable_foreign_keys(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
