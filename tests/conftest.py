"""Fixtures shared by the whole suite: databases on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from portal import migrate
from portal.database import create_engine, create_session_factory
from portal.settings import DatabaseSettings
from tests.fixtures.databases import create_scratch_postgres_database, drop_postgres_database

pytest_plugins = [
    "tests.fixtures.provisioning",
    "tests.fixtures.portal",
    "tests.fixtures.live_portal",
    "tests.fixtures.browser",
    "tests.fixtures.proxy",
    "tests.fixtures.ssh_gateway",
]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test item: fixtures read it to screenshot a failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database, on each backend Dockyard supports."""
    if request.param == "sqlite":
        # A directory that does not exist yet: the engine must create it.
        yield f"sqlite+aiosqlite:///{tmp_path / 'var' / 'dockyard.sqlite3'}"
        return

    server_url, url = await create_scratch_postgres_database()
    yield url
    await drop_postgres_database(server_url, url)


@pytest.fixture
async def bare_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on an empty, unmigrated database."""
    engine = create_engine(DatabaseSettings(url=database_url))
    yield engine
    await engine.dispose()


@pytest.fixture
async def engine(bare_engine: AsyncEngine) -> AsyncEngine:
    """An engine on a database migrated to the newest revision."""
    await migrate.upgrade(bare_engine)
    return bare_engine


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with create_session_factory(engine)() as session:
        yield session
