"""Running the gateway: beside the web app (``serve --with-worker``) or on its own
(``dockyard ssh-gateway``), connecting to the engine only when a session needs it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncssh
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from portal.runtime import Runtime
from portal.ssh.server import start_gateway
from portal.ssh.session import FleetSource
from provisioner import Provisioner

log = logging.getLogger(__name__)


class ConnectOnUse:
    """The provisioner, built at the first session that needs it and kept: the gateway
    starts (and refuses or admits logins) while the engine is down. Raises
    EngineUnavailable until the engine answers."""

    def __init__(self, runtime: Runtime, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._runtime = runtime
        self._sessions = sessions
        self._provisioner: Provisioner | None = None
        self._lock = asyncio.Lock()

    async def __call__(self) -> Provisioner:
        async with self._lock:
            if self._provisioner is None:
                context = await asyncio.to_thread(
                    self._runtime.provisioner_context, self._sessions, "ssh"
                )
                self._provisioner = Provisioner(context)
        return self._provisioner


@asynccontextmanager
async def gateway_beside(
    runtime: Runtime,
    sessions: async_sessionmaker[AsyncSession],
    fleet: FleetSource,
    *,
    enabled: bool = True,
) -> AsyncIterator[asyncssh.SSHAcceptor | None]:
    """The gateway for as long as the block runs (if ``enabled``); None (logged) if it
    cannot listen, so a taken port never keeps the web portal from starting."""
    settings = runtime.settings.ssh
    if not enabled:
        yield None
        return
    try:
        acceptor = await start_gateway(settings, sessions, runtime.current_catalog, fleet)
    except (OSError, asyncssh.Error) as error:
        log.error(
            "ssh gateway not started on %s:%d: %s (DOCKYARD_SSH_ADDRESS, DOCKYARD_SSH_PORT)",
            settings.address,
            settings.port,
            error,
        )
        yield None
        return
    try:
        yield acceptor
    finally:
        acceptor.close()
        await acceptor.wait_closed()


async def serve_gateway(runtime: Runtime) -> None:
    """``dockyard ssh-gateway``: until interrupted."""
    async with runtime.database() as sessions:
        settings = runtime.settings.ssh
        acceptor = await start_gateway(
            settings, sessions, runtime.current_catalog, ConnectOnUse(runtime, sessions)
        )
        try:
            await acceptor.wait_closed()
        finally:
            acceptor.close()
