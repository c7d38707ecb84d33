"""Where the reverse proxy is and how it serves, read once from ``DOCKYARD_PROXY*``."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

ADMIN_URL = "http://127.0.0.1:2019"
HTTP_PORT = 8880  # plain HTTP, for local development (80 in production)
HTTPS_PORT = 8443  # 443 in production


class TlsIssuer(enum.StrEnum):
    INTERNAL = "internal"  # Caddy's own CA: development and tests (trust its root)
    ACME = "acme"  # Let's Encrypt or another ACME CA: production


@dataclass(frozen=True, slots=True)
class ProxySettings:
    admin_url: str = ADMIN_URL  # Caddy's admin API: keep it on loopback
    http_port: int = HTTP_PORT
    https_port: int = HTTPS_PORT
    tls: TlsIssuer = TlsIssuer.INTERNAL
    acme_email: str | None = None
    # Caddy asks here before it gets a certificate for a name (on-demand TLS).
    ask_url: str = "http://127.0.0.1:8000/proxy/ask"
    # Where a suspended instance's page sends its customer (the portal).
    portal_url: str = "http://127.0.0.1:8000"

    def origin(self, host: str) -> str:
        """``https://host`` with the port when it is not 443."""
        port = "" if self.https_port == 443 else f":{self.https_port}"
        return f"https://{host}{port}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ProxySettings | None:
        """None with ``DOCKYARD_PROXY=off``. Raises ValueError naming the variable."""
        kind = environ.get("DOCKYARD_PROXY", "caddy")
        if kind == "off":
            return None
        if kind != "caddy":
            raise ValueError(f"DOCKYARD_PROXY={kind!r}: use caddy or off")
        portal = environ.get("DOCKYARD_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
        tls = environ.get("DOCKYARD_PROXY_TLS", TlsIssuer.INTERNAL.value)
        if tls not in {issuer.value for issuer in TlsIssuer}:
            raise ValueError(f"DOCKYARD_PROXY_TLS={tls!r}: use internal or acme")
        email = environ.get("DOCKYARD_ACME_EMAIL") or None
        if tls == TlsIssuer.ACME and email is None:
            raise ValueError("DOCKYARD_PROXY_TLS=acme needs DOCKYARD_ACME_EMAIL (the CA's contact)")
        return cls(
            admin_url=environ.get("DOCKYARD_PROXY_ADMIN_URL", ADMIN_URL).rstrip("/"),
            http_port=_port(environ, "DOCKYARD_PROXY_HTTP_PORT", HTTP_PORT),
            https_port=_port(environ, "DOCKYARD_PROXY_HTTPS_PORT", HTTPS_PORT),
            tls=TlsIssuer(tls),
            acme_email=email,
            ask_url=environ.get("DOCKYARD_PROXY_ASK_URL", f"{portal}/proxy/ask"),
            portal_url=portal,
        )


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if not raw:
        return default
    if raw.isdecimal() and 1 <= int(raw) <= 65535:
        return int(raw)
    raise ValueError(f"{name}={raw!r}: expected a port from 1 to 65535")
