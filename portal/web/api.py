"""Placeholder: filled in by the API work."""

from __future__ import annotations

from litestar import Router

api_router = Router(path="/api/v1", route_handlers=[])
