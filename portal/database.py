"""The database engine, sessions, and the conventions every table follows.

Each domain package (``billing``, ``provisioner``) owns its tables and its own
``MetaData``; they may not import ``portal``, nor each other, so there is no shared
declarative base. What keeps their schemas consistent is that each one builds its
metadata as ``MetaData(naming_convention=...)`` with a copy of :data:`NAMING_CONVENTION`
(``tests/portal/test_database.py`` checks that every collected metadata does), and that
:func:`all_metadata` collects them all for Alembic.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.types import TypeDecorator

from portal.settings import DatabaseSettings

# Deterministic constraint names, so migrations can drop and alter constraints by name
# on every backend (SQLite batch mode needs names to find them again).
NAMING_CONVENTION: Final[dict[str, str]] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def all_metadata() -> list[MetaData]:
    """Every ``MetaData`` whose tables Alembic migrates, one per owning package."""
    # Imported here because portal.models imports NAMING_CONVENTION from this module.
    from portal import models

    return [models.metadata]


def create_engine(settings: DatabaseSettings) -> AsyncEngine:
    """An async engine for ``settings.url``; SQLite gets foreign keys and its directory."""
    url = make_url(settings.url)
    if url.get_backend_name() != "sqlite":
        return _create_async_engine(url, echo=settings.echo)

    _create_parent_directory(url)
    engine = _create_async_engine(url, echo=settings.echo)
    # SQLite ignores foreign keys unless each connection opts in.
    event.listen(engine.sync_engine, "connect", _enable_foreign_keys)
    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after commit: async code cannot lazily reload expired ones.
    return async_sessionmaker(engine, expire_on_commit=False)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, stored as UTC, read back as UTC on every backend.

    PostgreSQL keeps the offset (``timestamptz``) but SQLite drops it, which would hand
    back naive datetimes. Naive values are refused on the way in rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _create_parent_directory(url: URL) -> None:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _enable_foreign_keys(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
