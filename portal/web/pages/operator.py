"""Placeholder: filled in by the operator pages work."""

from __future__ import annotations

from litestar import Router

operator_router = Router(path="/", route_handlers=[], include_in_schema=False)
