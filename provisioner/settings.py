"""Provisioner settings, read once from ``DOCKYARD_*`` variables."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from provisioner.proxy.settings import ProxySettings

DEFAULT_BASE_DOMAIN = "dockyard.localhost"


class BackendKind(enum.StrEnum):
    DOCKER = "docker"
    SWARM = "swarm"


@dataclass(frozen=True, slots=True)
class ProvisionerSettings:
    backend: BackendKind = BackendKind.DOCKER
    namespace: str = "default"  # this deployment's workloads, on an engine others may share
    docker_url: str | None = None  # None: DOCKER_HOST or the local socket
    base_domain: str = DEFAULT_BASE_DOMAIN  # instances answer at <instance>.<base domain>
    publish_address: str = "127.0.0.1"  # where each instance's direct-access port is published
    # Each instance's own host port comes from here: below Linux's ephemeral range
    # (32768-60999), so a port the engine or a client picks never takes one.
    port_range: tuple[int, int] = (20000, 29999)
    health_timeout_seconds: float = 60.0
    # How often Dockyard probes a serving workload's health path (one HTTP GET from the
    # worker, provisioner.health); a starting one is probed at every chance.
    health_interval_seconds: float = 30.0
    stop_timeout_seconds: int = 5
    volume_retention_days: int = 30  # terminated instances keep their data this long
    orphan_grace_seconds: int = 600  # unknown labelled containers are removed after this
    max_backoff_seconds: int = 900
    # The reverse proxy in front of every instance (Caddy); None: instances are reached
    # at their published port only.
    proxy: ProxySettings | None = None
    backup_dir: str = "var/backups"  # where archives of instances' volumes are kept
    backup_compress: bool = False  # gzip the archives (see README: Backups, for the cost)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ProvisionerSettings:
        """Raises ValueError naming the variable when a value is not usable."""
        backend = environ.get("DOCKYARD_BACKEND", BackendKind.DOCKER.value)
        if backend not in {kind.value for kind in BackendKind}:
            raise ValueError(f"DOCKYARD_BACKEND={backend!r}: use docker or swarm")
        return cls(
            backend=BackendKind(backend),
            namespace=environ.get("DOCKYARD_NAMESPACE", "default"),
            docker_url=environ.get("DOCKYARD_DOCKER_URL") or None,
            base_domain=environ.get("DOCKYARD_BASE_DOMAIN", DEFAULT_BASE_DOMAIN),
            publish_address=environ.get("DOCKYARD_PUBLISH_ADDRESS", "127.0.0.1"),
            port_range=_port_range(environ.get("DOCKYARD_PORT_RANGE", "20000-29999")),
            health_timeout_seconds=_number(environ, "DOCKYARD_HEALTH_TIMEOUT_SECONDS", 60),
            health_interval_seconds=_number(environ, "DOCKYARD_HEALTH_INTERVAL_SECONDS", 30),
            volume_retention_days=int(_number(environ, "DOCKYARD_VOLUME_RETENTION_DAYS", 30)),
            orphan_grace_seconds=int(_number(environ, "DOCKYARD_ORPHAN_GRACE_SECONDS", 600)),
            proxy=ProxySettings.from_env(environ),
            backup_dir=environ.get("DOCKYARD_BACKUP_DIR") or "var/backups",
            backup_compress=_flag(environ, "DOCKYARD_BACKUP_COMPRESS"),
        )


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected a number") from None
    if value < 0:
        raise ValueError(f"{name}={raw!r}: must not be negative")
    return value


def _flag(environ: Mapping[str, str], name: str) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ValueError(f"{name}={raw!r}: expected 1 or 0 (true or false)")


def _port_range(raw: str) -> tuple[int, int]:
    first, dash, last = raw.partition("-")
    if dash and first.strip().isdecimal() and last.strip().isdecimal():
        low, high = int(first), int(last)
        if 1024 <= low <= high <= 65535:
            return low, high
    raise ValueError(
        f"DOCKYARD_PORT_RANGE={raw!r}: expected two ports from 1024 to 65535, "
        "the lower first, as in 20000-29999"
    )
