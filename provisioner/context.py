"""What the provisioner's use cases share: database, backend, catalog, settings, clock."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import ParamSpec, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from plans import Catalog
from provisioner.backends.base import Backend
from provisioner.settings import ProvisionerSettings

P = ParamSpec("P")
R = TypeVar("R")
Clock = Callable[[], datetime]

# Engine calls get threads of their own. In asyncio's default pool (cpu + 4 threads:
# six here) a few slow calls (the engine makes networks one at a time, a second each)
# held every thread, and a 20 ms listing of another provision waited 10 s behind them.
# The threads mostly wait on the engine's socket, so many are cheap.
ENGINE_THREADS = 64
_ENGINE_POOL = ThreadPoolExecutor(ENGINE_THREADS, thread_name_prefix="dockyard-engine")


@dataclass(frozen=True, slots=True)
class ProvisionerContext:
    sessions: async_sessionmaker[AsyncSession]
    backend: Backend
    catalog: Callable[[], Catalog]  # the catalog now: operators may reload it
    settings: ProvisionerSettings
    clock: Clock  # timezone-aware UTC; tests move it
    worker_id: str = "worker"

    def reading(self, session: AsyncSession | None) -> AbstractAsyncContextManager[AsyncSession]:
        """Where a read runs: in the caller's ``session`` when given (left open), else in a
        session of its own."""
        return nullcontext(session) if session is not None else self.sessions()

    async def engine(self, call: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a (blocking) backend call off the event loop, in the engine's own threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_ENGINE_POOL, functools.partial(call, *args, **kwargs))
