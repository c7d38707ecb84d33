"""The app's rollout tracker: made when the app starts, its rollouts stopped before the
database closes, and handed to handlers as the ``rollouts`` dependency."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.datastructures import State
from litestar.di import NamedDependency

from portal.operator.rollouts import RolloutTracker


def rollouts_of(state: State) -> RolloutTracker:
    tracker: RolloutTracker = state.rollouts
    return tracker


async def provide_rollouts(state: State) -> RolloutTracker:
    return rollouts_of(state)


RolloutsDep: TypeAlias = NamedDependency[RolloutTracker]


@asynccontextmanager
async def _rollouts_lifespan(app: Litestar) -> AsyncIterator[None]:
    tracker = RolloutTracker()
    app.state.rollouts = tracker
    try:
        yield
    finally:
        # Entered after the services lifespan, so this runs before the database closes.
        await tracker.stop_all()


def keep_rollouts(app_config: AppConfig) -> AppConfig:
    """on_app_init hook: a RolloutTracker on ``app.state.rollouts`` for the app's life."""
    lifespan: list[Any] = [*app_config.lifespan, _rollouts_lifespan]
    app_config.lifespan = lifespan
    return app_config
