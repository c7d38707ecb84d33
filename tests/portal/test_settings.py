"""Settings come from the mapping passed in, with the documented defaults."""

from __future__ import annotations

from portal.settings import DatabaseSettings


def test_database_settings_default_to_a_sqlite_file_under_var() -> None:
    settings = DatabaseSettings.from_env({})

    assert settings == DatabaseSettings()
    assert settings.url == "sqlite+aiosqlite:///var/dockyard.sqlite3"
    assert settings.echo is False


def test_database_settings_read_their_variables() -> None:
    settings = DatabaseSettings.from_env(
        {"DOCKYARD_DATABASE_URL": "postgresql+asyncpg://db/dockyard", "DOCKYARD_DATABASE_ECHO": "1"}
    )

    assert settings == DatabaseSettings(url="postgresql+asyncpg://db/dockyard", echo=True)
