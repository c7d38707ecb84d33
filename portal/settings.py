"""Typed settings, one object per concern, read once from ``DOCKYARD_*`` variables.

Nothing reads the environment at import time: ``Settings.from_env(os.environ)`` is
called by the entry points (CLI, app factory) and the objects are passed down.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from billing import DunningSettings, StripeSettings
from plans.settings import CatalogSettings
from provisioner import ProvisionerSettings

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
class WebSettings:
    """The portal's web side: where it is reached, how sessions are protected."""

    # "development" (the default: plain-HTTP cookies, a secret kept in var/) or "production".
    environment: str = "development"
    # Signs and encrypts session cookies and CSRF tokens. Empty in development: the portal
    # keeps a generated one in var/secret.key, so sessions survive a restart.
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"  # for links in mail and Stripe's return pages
    signin_attempts_per_minute: int = 10
    secret_file: Path = DEFAULT_VAR_DIR / "secret.key"
    # /readyz fails when Stripe is configured and a due outbox message is older than this.
    max_outbox_lag_seconds: int = 900
    # Whether the catalog's prices include VAT: the order page says which, plainly.
    prices_include_vat: bool = False

    @property
    def development(self) -> bool:
        return self.environment == "development"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> WebSettings:
        environment = environ.get("DOCKYARD_ENV", "development")
        if environment not in {"development", "production"}:
            raise ValueError(f"DOCKYARD_ENV={environment!r}: use development or production")
        secret = environ.get("DOCKYARD_SECRET_KEY", "")
        if environment == "production" and len(secret) < 32:
            raise ValueError(
                "DOCKYARD_SECRET_KEY must be set to at least 32 random characters in production"
            )
        return cls(
            environment=environment,
            secret_key=secret,
            base_url=environ.get("DOCKYARD_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
            signin_attempts_per_minute=_positive_whole(
                environ, "DOCKYARD_SIGNIN_ATTEMPTS_PER_MINUTE", 10
            ),
            max_outbox_lag_seconds=_positive_whole(environ, "DOCKYARD_MAX_OUTBOX_LAG_SECONDS", 900),
            prices_include_vat=_flag(environ.get("DOCKYARD_PRICES_INCLUDE_VAT")),
        )


@dataclass(frozen=True, slots=True)
class MailSettings:
    """Outgoing mail: an SMTP server, or (no host set) a local outbox file for development."""

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    sender: str = "Dockyard <no-reply@dockyard.localhost>"
    outbox_file: Path = DEFAULT_VAR_DIR / "mail" / "outbox.txt"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> MailSettings:
        port = environ.get("DOCKYARD_SMTP_PORT", "587")
        if not port.isdigit():
            raise ValueError(f"DOCKYARD_SMTP_PORT={port!r}: expected a port number")
        return cls(
            smtp_host=environ.get("DOCKYARD_SMTP_HOST") or None,
            smtp_port=int(port),
            smtp_user=environ.get("DOCKYARD_SMTP_USER") or None,
            smtp_password=environ.get("DOCKYARD_SMTP_PASSWORD") or None,
            smtp_starttls=environ.get("DOCKYARD_SMTP_STARTTLS", "1") != "0",
            sender=environ.get("DOCKYARD_MAIL_FROM", "Dockyard <no-reply@dockyard.localhost>"),
            outbox_file=Path(environ.get("DOCKYARD_MAIL_OUTBOX", str(cls.outbox_file_default()))),
        )

    @staticmethod
    def outbox_file_default() -> Path:
        return DEFAULT_VAR_DIR / "mail" / "outbox.txt"


@dataclass(frozen=True, slots=True)
class SshSettings:
    """The SSH gateway into server-hosting instances (portal.ssh)."""

    address: str = "127.0.0.1"  # where it listens
    port: int = 2222
    host: str = "localhost"  # the name customers connect to, shown on their pages
    host_key_dir: Path = DEFAULT_VAR_DIR / "ssh"  # the host key, generated once, kept here

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SshSettings:
        return cls(
            address=environ.get("DOCKYARD_SSH_ADDRESS", "127.0.0.1"),
            port=_port(environ, "DOCKYARD_SSH_PORT", 2222),
            host=environ.get("DOCKYARD_SSH_HOST", "localhost"),
            host_key_dir=Path(environ.get("DOCKYARD_SSH_KEY_DIR", str(DEFAULT_VAR_DIR / "ssh"))),
        )


@dataclass(frozen=True, slots=True)
class Settings:
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    catalog: CatalogSettings = field(default_factory=CatalogSettings)
    provisioner: ProvisionerSettings = field(default_factory=ProvisionerSettings)
    stripe: StripeSettings = field(default_factory=StripeSettings)
    dunning: DunningSettings = field(default_factory=DunningSettings)
    web: WebSettings = field(default_factory=WebSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    ssh: SshSettings = field(default_factory=SshSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            database=DatabaseSettings.from_env(environ),
            catalog=CatalogSettings.from_env(environ),
            provisioner=ProvisionerSettings.from_env(environ),
            stripe=StripeSettings.from_env(environ),
            dunning=DunningSettings.from_env(environ),
            web=WebSettings.from_env(environ),
            mail=MailSettings.from_env(environ),
            ssh=SshSettings.from_env(environ),
        )


def _positive_whole(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, str(default))
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name}={raw!r}: expected a whole number >= 1")
    return int(raw)


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, str(default))
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 65535:
        raise ValueError(f"{name}={raw!r}: expected a port number from 1 to 65535")
    return int(raw)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}
