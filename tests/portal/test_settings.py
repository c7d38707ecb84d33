"""Settings come from the mapping passed in, with the documented defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.settings import DatabaseSettings, SshSettings


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


def test_ssh_settings_default_to_the_loopback_port_2222_and_a_key_under_var() -> None:
    settings = SshSettings.from_env({})

    assert settings == SshSettings()
    assert (settings.address, settings.port, settings.host) == ("127.0.0.1", 2222, "localhost")
    assert settings.host_key_dir == Path("var/ssh")


def test_ssh_settings_read_their_variables_and_name_a_bad_port() -> None:
    settings = SshSettings.from_env(
        {
            "DOCKYARD_SSH_ADDRESS": "192.0.2.10",
            "DOCKYARD_SSH_PORT": "22",
            "DOCKYARD_SSH_HOST": "ssh.example.com",
            "DOCKYARD_SSH_KEY_DIR": "/etc/dockyard/ssh",
        }
    )

    assert settings == SshSettings("192.0.2.10", 22, "ssh.example.com", Path("/etc/dockyard/ssh"))
    for bad in ("", "ssh", "0", "70000", "²"):
        with pytest.raises(ValueError, match="DOCKYARD_SSH_PORT="):
            SshSettings.from_env({"DOCKYARD_SSH_PORT": bad})
