"""Placeholder: filled in by the health work."""

from __future__ import annotations

from litestar import Router, get


@get("/healthz", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


health_router = Router(path="/", route_handlers=[healthz], include_in_schema=False)
