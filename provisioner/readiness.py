"""Is the application answering? Asked from outside, over HTTP, as a user would reach it.

The engine's own health check runs inside the container once per interval (10 s by
default, and API 1.41 has no faster start interval), so an application that answered
after half a second still showed "provisioning", and an update waited, for a whole
interval. Dockyard therefore also probes the published port itself while a workload is
starting: one GET of the plan's health path, answered with 2xx or 3xx, is enough to call
it serving. The engine's check still decides "unhealthy" later on.
"""

from __future__ import annotations

from dataclasses import replace

import httpx

from provisioner.backends.base import Health, RunState, Workload

PROBE_TIMEOUT_SECONDS = 2.0


async def confirmed(
    workload: Workload, health_path: str | None, address: str, own_port: int | None = None
) -> Workload:
    """The workload, marked healthy if it is starting and its health path answers.

    ``own_port``: the instance's own host port, for Swarm, which reports a task's port
    only once the engine's check passed.
    """
    starting = workload.state is RunState.RUNNING and workload.health is Health.STARTING
    port = workload.host_port or own_port
    if not starting or health_path is None or port is None:
        return workload
    if await answers(address, port, health_path):
        return replace(workload, health=Health.HEALTHY, host_port=port)
    return workload


async def answers(address: str, port: int, path: str) -> bool:
    host = f"[{address}]" if ":" in address else address
    url = f"http://{host}:{port}{path}"
    try:
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_SECONDS) as client:
            response = await client.get(url)
    except httpx.HTTPError:
        return False
    return 200 <= response.status_code < 400
