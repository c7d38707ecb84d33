"""Typed settings, one object per concern, read once from ``DOCKYARD_*`` variables.

Nothing reads the environment at import time: ``Settings.from_env(os.environ)`` is
called by the entry points (CLI, app factory) and the objects are passed down.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from billing.settings import DunningSettings, StripeSettings
from plans.settings import CatalogSettings
from provisioner.settings import ProvisionerSettings

DEFAULT_VAR_DIR = Path("var")
DEFAULT_DATABASE_URL = f"sqlite+aiosqlite:///{DEFAULT_VAR_DIR / 'dockyard.sqlite3'}"


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    url: str = DEFAULT_DATABASE_URL
    echo: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> DatabaseSettings:
        return cls(
            # Not cls.url: with slots=True that is the slot descriptor, not the default.
            url=environ.get("DOCKYARD_DATABASE_URL", DEFAULT_DATABASE_URL),
            echo=_flag(environ.get("DOCKYARD_DATABASE_ECHO")),
        )


@dataclass(frozen=True, slots=True)
class Settings:
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    catalog: CatalogSettings = field(default_factory=CatalogSettings)
    provisioner: ProvisionerSettings = field(default_factory=ProvisionerSettings)
    stripe: StripeSettings = field(default_factory=StripeSettings)
    dunning: DunningSettings = field(default_factory=DunningSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            database=DatabaseSettings.from_env(environ),
            catalog=CatalogSettings.from_env(environ),
            provisioner=ProvisionerSettings.from_env(environ),
            stripe=StripeSettings.from_env(environ),
            dunning=DunningSettings.from_env(environ),
        )


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}
