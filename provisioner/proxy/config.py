"""Routes, and the whole Caddy configuration (JSON) that serves them.

Dockyard owns the proxy's configuration: it is rebuilt from the instances on every pass
and loaded whole (``POST /load``), which Caddy applies without dropping a connection. A
proxy restarted empty is therefore refilled by the next pass, and nothing edited by
hand survives (https://caddyserver.com/docs/api#post-load).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provisioner.proxy.pages import unknown_page
from provisioner.proxy.settings import ProxySettings, TlsIssuer

# While an upstream restarts (a crash, the moment of an update's switch), a request waits
# up to this long for it instead of failing at once (Caddy's lb_try_duration).
RETRY_FOR = "3s"
RETRY_EVERY = "250ms"


@dataclass(frozen=True, slots=True)
class Route:
    """The names one instance answers to and what answers there: its workload
    (``upstream``, host:port) or, when it is not serving, a page (``status``, ``page``)."""

    instance_id: str
    hosts: tuple[str, ...]
    upstream: str | None = None
    status: int = 503
    page: str = ""


Json = dict[str, Any]


def caddy_config(routes: list[Route], settings: ProxySettings, admin_listen: str) -> Json:
    handlers = [_route(route) for route in routes] + [_nothing_here()]
    return {
        "admin": {"listen": admin_listen, "config": {"persist": False}},
        "apps": {
            "http": {
                "http_port": settings.http_port,
                "https_port": settings.https_port,
                "servers": {
                    "https": {
                        "listen": [f":{settings.https_port}"],
                        "routes": handlers,
                        # The plain-HTTP server below serves the same routes itself.
                        "automatic_https": {"disable_redirects": True},
                    },
                    "http": {
                        "listen": [f":{settings.http_port}"],
                        "routes": handlers,
                        "automatic_https": {"disable": True},
                    },
                },
            },
            "tls": {
                "automation": {
                    # Every certificate on demand, at the first handshake for its name, and
                    # only after Dockyard's ask endpoint said the name belongs to a live
                    # instance: nobody can make the proxy ask a CA for arbitrary names
                    # (https://caddyserver.com/docs/automatic-https#on-demand-tls).
                    "policies": [{"issuers": [_issuer(settings)], "on_demand": True}],
                    "on_demand": {"ask": settings.ask_url},
                }
            },
            # Caddy would otherwise try to add its root to the system's trust store.
            "pki": {"certificate_authorities": {"local": {"install_trust": False}}},
        },
    }


def _issuer(settings: ProxySettings) -> Json:
    if settings.tls is TlsIssuer.ACME:
        return {"module": "acme", "email": settings.acme_email}
    return {"module": "internal"}


def _route(route: Route) -> Json:
    match = [{"host": list(route.hosts)}]
    if route.upstream is not None:
        handler: Json = {
            "handler": "reverse_proxy",
            "upstreams": [{"dial": route.upstream}],
            "load_balancing": {"try_duration": RETRY_FOR, "try_interval": RETRY_EVERY},
        }
    else:
        handler = _page(route.status, route.page)
    return {"match": match, "handle": [handler], "terminal": True}


def _page(status: int, body: str) -> Json:
    return {
        "handler": "static_response",
        "status_code": status,
        "headers": {
            "Content-Type": ["text/html; charset=utf-8"],
            "Cache-Control": ["no-store"],
            "Retry-After": ["300"],
        },
        "body": body,
    }


def _nothing_here() -> Json:
    """The last route: a name the proxy has no instance for."""
    return {"handle": [_page(404, unknown_page())], "terminal": True}
