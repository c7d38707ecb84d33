"""Placeholder: filled in by the public pages work."""

from __future__ import annotations

from litestar import Router

public_router = Router(path="/", route_handlers=[], include_in_schema=False)
