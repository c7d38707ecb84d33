"""The one clock: every "now" in Dockyard comes from here, so tests can move time."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)
