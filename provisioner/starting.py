"""Start a revision and wait until it serves, or say why it does not: what an update's
trial, its take-over and a restore all do."""

from __future__ import annotations

import asyncio

from provisioner.backends.base import Health, RunState, Workload, WorkloadSpec
from provisioner.context import ProvisionerContext
from provisioner.errors import BackendError
from provisioner.health import HealthChecks, probing_client

POLL_SECONDS = 0.25


async def start_and_wait(
    ctx: ProvisionerContext, spec: WorkloadSpec, *, proven: bool = False
) -> tuple[Workload | None, str | None]:
    """Start ``spec`` and wait until it serves: (workload, None), or (what there is, why
    not). ``proven``: this code served before (on a trial port, or before a restore), so
    only the timeout ends the wait (Swarm may take a few seconds to publish a host port
    after the old task stopped)."""
    try:
        workload = await ctx.engine(ctx.backend.create, spec)
    except BackendError as error:
        return None, f"could not start: {error.reason}"
    settings = ctx.settings
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.health_timeout_seconds
    health = HealthChecks(settings.publish_address, settings.health_interval_seconds)
    async with probing_client() as client:
        while True:
            seen = await ctx.engine(ctx.backend.inspect, workload.id)
            if seen is None:
                return None, "disappeared while starting"
            port = seen.host_port or spec.host_port
            seen = await health.checked(seen, spec.health_path, port, client)
            if seen.serving:
                return seen, None
            if seen.state is RunState.FAILED:
                return seen, f"failed its health check ({seen.detail or 'exited'})"
            if seen.health is Health.UNHEALTHY and not proven:
                return seen, f"failed its health check ({spec.health_path} did not answer)"
            if loop.time() > deadline:
                return seen, f"was not healthy within {settings.health_timeout_seconds:.0f} s"
            await asyncio.sleep(POLL_SECONDS)
