"""The engine, the migrations and the column conventions, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from advanced_alchemy.base import convention
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from portal import migrate
from portal.accounts.models import User
from portal.cli import dockyard
from portal.database import create_session_factory
from portal.migrate import all_metadata

# Every table some package's models declare, plus Alembic's own.
ALL_TABLES = {"alembic_version"} | {name for data in all_metadata() for name in data.tables}


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    return set(names)


async def test_migrations_upgrade_to_head_and_downgrade_to_base(
    bare_engine: AsyncEngine,
) -> None:
    await migrate.upgrade(bare_engine)
    assert await table_names(bare_engine) == ALL_TABLES

    await migrate.downgrade(bare_engine, "base")
    assert await table_names(bare_engine) == {"alembic_version"}


async def test_the_models_match_the_migrations(engine: AsyncEngine) -> None:
    # Autogenerate compares one MetaData at a time: merge every package's into one.
    combined = MetaData()
    for metadata in all_metadata():
        for table in metadata.tables.values():
            table.to_metadata(combined)

    def differences(connection: Connection) -> object:
        return compare_metadata(MigrationContext.configure(connection), combined)

    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []


def test_every_package_follows_the_naming_convention_with_distinct_tables() -> None:
    seen: set[str] = set()
    for metadata in all_metadata():
        assert metadata.naming_convention == convention
        assert seen.isdisjoint(metadata.tables), "two packages define the same table"
        seen.update(metadata.tables)


async def test_a_row_round_trips_with_an_aware_datetime(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    first_seen = datetime(2026, 11, 21, 21, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    session.add(_user("u1", created_at=first_seen))
    await session.commit()

    async with create_session_factory(engine)() as fresh:
        loaded = await fresh.get_one(User, "u1")

    assert loaded.created_at == first_seen
    assert loaded.created_at.tzinfo == UTC


async def test_a_naive_datetime_is_refused(session: AsyncSession) -> None:
    naive = datetime(2026, 11, 21, 21, 30)  # noqa: DTZ001 - the point of the test
    session.add(_user("u2", created_at=naive))
    with pytest.raises(StatementError, match="tzinfo is required"):
        await session.commit()


async def test_foreign_keys_are_enforced(bare_engine: AsyncEngine) -> None:
    async with bare_engine.begin() as connection:
        await connection.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        await connection.execute(
            text("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent)")
        )
    with pytest.raises(IntegrityError):
        async with bare_engine.begin() as connection:
            await connection.execute(text("INSERT INTO child (id, parent_id) VALUES (1, 42)"))


def test_db_upgrade_command_creates_the_tables(tmp_path: Path) -> None:
    database = tmp_path / "var" / "dockyard.sqlite3"
    result = CliRunner().invoke(
        dockyard,
        ["db", "upgrade"],
        env={"DOCKYARD_DATABASE_URL": f"sqlite+aiosqlite:///{database}"},
    )

    assert result.exit_code == 0, result.output
    assert "is at revision head" in result.output
    with closing(sqlite3.connect(database)) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        assert {name for (name,) in rows} == ALL_TABLES


def test_db_upgrade_command_reports_an_unreachable_database_in_one_line() -> None:
    # Nothing listens on port 1. (Not an unopenable SQLite file: aiosqlite's worker thread
    # then reports to the closed event loop, see omnilib/aiosqlite PR #389.)
    url = "postgresql+asyncpg://dockyard:secret@127.0.0.1:1/dockyard"
    result = CliRunner().invoke(dockyard, ["db", "upgrade"], env={"DOCKYARD_DATABASE_URL": url})

    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: cannot migrate postgresql+asyncpg://dockyard:***@127.0.0.1:1/dockyard: "
    )
    assert "Traceback" not in result.output
    assert "secret" not in result.output


def _user(user_id: str, *, created_at: datetime) -> User:
    return User(
        id=user_id,
        email=f"{user_id}@example.com",
        name=user_id,
        password_hash="-",
        role="customer",
        created_at=created_at,
    )
