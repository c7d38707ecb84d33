"""Caddy's admin API: read the configuration it runs, load a new one whole.

https://caddyserver.com/docs/api: ``GET /config/`` answers the running configuration
(``null`` when empty); ``POST /load`` replaces it, gracefully, and answers an error
naming the bad field when Caddy refuses it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httpx

from provisioner.errors import ProxyUnavailable

TIMEOUT_SECONDS = 10.0


class CaddyAdmin:
    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url.rstrip("/")

    @property
    def listen(self) -> str:
        """host:port of the admin endpoint, which a loaded configuration must keep."""
        parts = urlsplit(self.admin_url)
        return f"{parts.hostname}:{parts.port or 80}"

    async def current(self) -> dict[str, Any] | None:
        response = await self._call("GET", "/config/")
        config = response.json()
        return config if isinstance(config, dict) else None

    async def load(self, config: dict[str, Any]) -> None:
        await self._call("POST", "/load", content=json.dumps(config))

    async def _call(self, method: str, path: str, content: str | None = None) -> httpx.Response:
        # trust_env off: a proxy from the environment must not sit between us and Caddy.
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, trust_env=False) as client:
            try:
                response = await client.request(
                    method,
                    self.admin_url + path,
                    content=content,
                    headers={"Content-Type": "application/json"},
                )
            except httpx.HTTPError as error:
                raise ProxyUnavailable(
                    f"the reverse proxy's admin API at {self.admin_url} does not answer "
                    f"({type(error).__name__}: {error}); is Caddy running? "
                    "(make services starts it)"
                ) from None
        if response.status_code >= 400:
            raise ProxyUnavailable(
                f"the reverse proxy refused {method} {path}: {_caddy_error(response)}"
            )
        return response


def _caddy_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return f"HTTP {response.status_code}"
