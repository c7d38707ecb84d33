"""Each instance's own host port: given once, so its address survives resume and update.

The engine picks a new port at every start when left to choose, which moved a customer's
address each time they were resumed. A port is taken from ``port_range``: not one another
live instance holds (the column is unique, so two workers cannot both take it) and not one
something else on this host listens on.
"""

from __future__ import annotations

import random
import socket

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from provisioner.errors import ProvisioningError
from provisioner.models import Instance
from provisioner.settings import ProvisionerSettings


async def free_port(session: AsyncSession, settings: ProvisionerSettings) -> int:
    """A port in the range that no instance holds and nothing on this host is bound to.

    Raises ProvisioningError when the range is full.
    """
    taken = set(
        await session.scalars(select(Instance.address_port).where(Instance.address_port >= 0))
    )
    low, high = settings.port_range
    # A random start, so two workers choosing at once rarely want the same port.
    start = random.randint(low, high)  # noqa: S311 - spreading, not secrecy
    for offset in range(high - low + 1):
        port = low + (start - low + offset) % (high - low + 1)
        if port not in taken and _bindable(settings.publish_address, port):
            return port
    raise ProvisioningError(
        f"no free host port left in {low}-{high} for a new instance; widen "
        "DOCKYARD_PORT_RANGE or end unused instances"
    )


def trial_port(address: str) -> int:
    """A port free on this host now, for a revision tried beside the serving one.

    Chosen here rather than by the engine: Dockyard's probe (``health``) knows where to
    look before Swarm reports the task's port.
    """
    with socket.socket(_family(address), socket.SOCK_STREAM) as probe:
        probe.bind((address, 0))
        port: int = probe.getsockname()[1]
    return port


def _family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def _bindable(address: str, port: int) -> bool:
    """Nothing on this host listens there. (On Swarm the task's node may differ; the
    engine then refuses the task and the reconciler says so.)"""
    with socket.socket(_family(address), socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True
