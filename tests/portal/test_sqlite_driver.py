"""The one-trip SQLite driver keeps SQLAlchemy's meaning: what is committed stays, what is
not is rolled back (also when the pool takes a connection back), errors are SQLAlchemy's,
and a statement costs one trip to aiosqlite's thread, ending nothing costs none."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite.core
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from portal import sqlite_driver
from portal.database import create_engine
from portal.settings import DatabaseSettings


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}"))
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
    yield engine
    await engine.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """What each trip to aiosqlite's thread ran, by function name."""
    seen: Counter[str] = Counter()
    real = aiosqlite.core.Connection._execute

    async def counted(self: aiosqlite.core.Connection, fn: Any, *args: Any, **kw: Any) -> Any:
        seen[getattr(fn, "__name__", repr(fn))] += 1
        return await real(self, fn, *args, **kw)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)
    return seen


async def names(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list((await connection.execute(text("SELECT name FROM t ORDER BY id"))).scalars())


async def test_sqlite_urls_use_the_one_trip_driver(engine: AsyncEngine) -> None:
    assert engine.dialect.driver == sqlite_driver.DRIVER


async def test_committed_rows_stay_and_uncommitted_ones_are_rolled_back(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('kept')"))
    async with engine.connect() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('dropped')"))
        # no commit: returning the connection to the pool must end the transaction
    async with engine.connect() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('undone')"))
        await connection.rollback()
    assert await names(engine) == ["kept"]


async def test_results_rowcount_lastrowid_and_executemany(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        inserted = await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
        assert inserted.lastrowid == 1
        await connection.execute(
            text("INSERT INTO t (name) VALUES (:name)"), [{"name": "b"}, {"name": "c"}]
        )
        changed = await connection.execute(text("UPDATE t SET name = name || '!'"))
        assert changed.rowcount == 3
        rows = (await connection.execute(text("SELECT id, name FROM t ORDER BY id"))).all()
    assert [tuple(row) for row in rows] == [(1, "a!"), (2, "b!"), (3, "c!")]


async def test_errors_are_sqlalchemys_and_leave_the_connection_usable(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
    async with engine.connect() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('b')"))
        with pytest.raises(IntegrityError):
            await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
        await connection.rollback()
        with pytest.raises(OperationalError, match="no such table"):
            await connection.execute(text("SELECT * FROM missing"))
    assert await names(engine) == ["a"]  # 'b' went with its failed transaction


async def test_a_statement_is_one_trip_and_ending_nothing_is_none(
    engine: AsyncEngine, trips: Counter[str]
) -> None:
    await names(engine)  # one read, and the pool's rollback finds nothing open
    assert trips == Counter({"_run": 1})
    trips.clear()
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
    assert trips == Counter({"_run": 1, "_finish": 1})  # the insert and its commit
