"""Placeholder: filled in by the customer pages work."""

from __future__ import annotations

from litestar import Router

customer_router = Router(path="/", route_handlers=[], include_in_schema=False)
