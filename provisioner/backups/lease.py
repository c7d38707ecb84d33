"""One backup or restore of an instance at a time, and never beside an update.

The instance's lease (``InstanceRepository.claim``) is what updates and the reconciler
already take before acting on an instance. A backup or restore takes it under an owner
of its own (the worker's id plus a random part), so a second one, even from the same
process, cannot re-enter it: it waits ``wait_seconds`` for the lease, then is refused
(BackupBusy). While a restore holds it the reconciler leaves the instance alone, so it
does not re-create the workload the restore removed.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from provisioner.context import ProvisionerContext
from provisioner.errors import BackupBusy
from provisioner.repository import InstanceRepository

POLL_SECONDS = 0.2
# Long enough for a large volume; a process that dies holding it blocks the instance's
# repairs at most this long.
LEASE_SECONDS = 30 * 60


@asynccontextmanager
async def data_lease(
    ctx: ProvisionerContext, instance_id: str, doing: str, wait_seconds: float
) -> AsyncIterator[str]:
    """Hold the instance's lease while ``doing`` (backup, restore); yields the owner."""
    owner = f"{ctx.worker_id[:40]}:{doing}:{secrets.token_hex(4)}"
    ttl = timedelta(seconds=LEASE_SECONDS)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    while True:
        async with ctx.sessions() as session, session.begin():
            repo = InstanceRepository(session)
            await repo.get(instance_id)  # UnknownInstance at once, not after the wait
            if await repo.claim(instance_id, owner, ctx.clock(), ttl):
                break
        if loop.time() >= deadline:
            raise BackupBusy(
                f"instance {instance_id} is busy: another backup, restore or update of it "
                "is under way; try again once it has finished"
            )
        await asyncio.sleep(POLL_SECONDS)
    try:
        yield owner
    finally:
        async with ctx.sessions() as session, session.begin():
            await InstanceRepository(session).release(instance_id, owner)
