"""Is the application answering? Asked from outside, over HTTP, as a user would reach it.

Workloads are created with the engine's health check switched off, and Dockyard probes
each one's health path at its published port instead, as kubelet and kamal-proxy do.
An engine check starts a process inside the container at every interval (dockerd,
containerd, runc exec): measured on the 2-core test machine, about 120 ms of CPU per
check against about 6 ms for a GET from outside, so 500 instances checked every 10 s
would need three cores for checking alone (``make bench`` reports the cost per 100).

The verdict follows the engine's old rules: a probe answered with 2xx or 3xx is healthy;
``HEALTH_RETRIES`` failures in a row, one interval apart, make it unhealthy (from the
start too, after a short grace). A watch is kept per workload, in the process
that probes it; the verdict is also recorded on the instance.

An unhealthy workload is restarted by the reconciler (the engine's check used to make
Swarm replace its task; nothing does that now), and again after a doubling back-off while
it never answers: ``interval`` times 2, 4, 8... up to ``RESTART_BACKOFF_MAX_SECONDS``. One
answer resets the count. The count lives with the watch, so a restarted worker starts over.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import httpx

from provisioner.backends.base import Health, RunState, Workload

PROBE_TIMEOUT_SECONDS = 2.0
HEALTH_RETRIES = 3
# A workload never seen healthy gets at least this long: Swarm may publish a task's host
# port some seconds after the task runs, and from outside that looks like no answer.
START_GRACE_SECONDS = 10.0
# Probes of one pass run together, up to this many at once.
PROBES_AT_ONCE = 32
# The longest wait between two restarts of a workload that never answers in between.
RESTART_BACKOFF_MAX_SECONDS = 900.0


@dataclass
class HealthWatch:
    """What the probes of one workload said so far, and whether another is due."""

    interval: float
    started: float  # monotonic seconds, when watching began
    failures: int = 0
    last_probe: float | None = None
    verdict: Health = Health.STARTING
    restarts: int = 0  # restarts for being unhealthy since it last answered
    restarted_at: float | None = None

    def due(self, now: float) -> bool:
        """Starting workloads are probed at every chance: their first answer is awaited."""
        if self.verdict is Health.STARTING or self.last_probe is None:
            return True
        return now - self.last_probe >= self.interval

    def observe(self, answered: bool, now: float) -> Health:
        # The first failure counts one interval after watching began, as the engine's
        # first check ran one interval after the start.
        since = self.started if self.last_probe is None else self.last_probe
        spaced = now - since >= self.interval
        if spaced or answered:
            self.last_probe = now
        if answered:
            self.failures = 0
            self.restarts = 0
            self.verdict = Health.HEALTHY
        elif spaced:  # failures count one interval apart, as the engine's did
            self.failures += 1
            starting = self.verdict is Health.STARTING
            if self.failures >= HEALTH_RETRIES and (
                not starting or now - self.started >= START_GRACE_SECONDS
            ):
                self.verdict = Health.UNHEALTHY
        return self.verdict

    def restart_due(self, now: float) -> bool:
        """Unhealthy, and the back-off since the last restart (if any) has passed."""
        if self.verdict is not Health.UNHEALTHY:
            return False
        if self.restarted_at is None:
            return True
        wait = min(self.interval * 2.0**self.restarts, RESTART_BACKOFF_MAX_SECONDS)
        return now - self.restarted_at >= wait

    def restarted(self, now: float) -> None:
        """Watched from the start again, as a new workload, keeping the restart count."""
        self.restarts += 1
        self.restarted_at = self.started = now
        self.failures = 0
        self.last_probe = None
        self.verdict = Health.STARTING


@dataclass(frozen=True)
class Target:
    """A running workload to probe: where, and at which path."""

    workload: Workload
    port: int
    path: str


class HealthChecks:
    """The watches of one process's workloads (``clock``: monotonic seconds)."""

    def __init__(
        self, address: str, interval: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.address = address
        self.interval = interval
        self.clock = clock
        self._watches: dict[str, HealthWatch] = {}

    def judged(
        self, workload: Workload, health_path: str | None, port: int | None = None
    ) -> Workload:
        """The workload with Dockyard's verdict as its health (a plan without a health
        path is served as soon as it runs; a stopped one has no health). One that
        answered at ``port`` is reachable there, even before Swarm reports the port."""
        if health_path is None or workload.state is not RunState.RUNNING:
            return workload
        watch = self._watches.get(workload.id)
        verdict = watch.verdict if watch else Health.STARTING
        reached = workload.host_port or (port if verdict is Health.HEALTHY else None)
        return replace(workload, health=verdict, host_port=reached)

    async def checked(
        self,
        workload: Workload,
        health_path: str | None,
        port: int | None,
        client: httpx.AsyncClient | None = None,
    ) -> Workload:
        """``judged``, after probing the workload if a probe is due."""
        target = target_of(workload, health_path, port)
        if target is not None:
            await self.probe([target], client)
        return self.judged(workload, health_path, port)

    async def probe(
        self, targets: Iterable[Target], client: httpx.AsyncClient | None = None
    ) -> None:
        """Probe those of ``targets`` that are due, together (``forget`` drops watches)."""
        now = self.clock()
        due = [t for t in targets if self._watch(t.workload.id, now).due(now)]
        if not due:
            return
        limit = asyncio.Semaphore(PROBES_AT_ONCE)

        async def one(target: Target, http: httpx.AsyncClient) -> None:
            async with limit:
                # A task on another swarm node answers at that node's address.
                where = target.workload.host_address or self.address
                answered = await answers(http, where, target.port, target.path)
            self._watches[target.workload.id].observe(answered, self.clock())

        if client is not None:
            await asyncio.gather(*(one(target, client) for target in due))
            return
        async with probing_client() as http:
            await asyncio.gather(*(one(target, http) for target in due))

    def restart_due(self, workload_id: str) -> bool:
        """Whether the workload is unhealthy and may be restarted now (see the module)."""
        watch = self._watches.get(workload_id)
        return watch is not None and watch.restart_due(self.clock())

    def restarted(self, workload_id: str) -> int:
        """Note a restart for being unhealthy; how many since it last answered."""
        watch = self._watch(workload_id, self.clock())
        watch.restarted(self.clock())
        return watch.restarts

    def forget(self, keep: Iterable[str]) -> None:
        """Drop the watches of workloads that are gone (all but ``keep``)."""
        kept = set(keep)
        for workload_id in [w for w in self._watches if w not in kept]:
            del self._watches[workload_id]

    def _watch(self, workload_id: str, now: float) -> HealthWatch:
        watch = self._watches.get(workload_id)
        if watch is None:
            watch = self._watches[workload_id] = HealthWatch(self.interval, now)
        return watch


def target_of(workload: Workload, health_path: str | None, port: int | None) -> Target | None:
    """What to probe of a workload: its health path at ``port`` while it runs, else none."""
    if workload.state is not RunState.RUNNING or not health_path or not port:
        return None
    return Target(workload, port, health_path)


def probing_client() -> httpx.AsyncClient:
    # Plain HTTP to the host's own published ports: no proxy from the environment, and
    # no certificate store to load (56 ms a client here): only http:// URLs are probed.
    return httpx.AsyncClient(
        timeout=PROBE_TIMEOUT_SECONDS,
        trust_env=False,
        verify=False,  # noqa: S501 - no TLS is spoken, see above
    )


async def answers(client: httpx.AsyncClient, address: str, port: int, path: str) -> bool:
    host = f"[{address}]" if ":" in address else address
    url = f"http://{host}:{port}{path if path.startswith('/') else '/' + path}"
    try:
        response = await client.get(url)
    except httpx.HTTPError:
        return False
    return 200 <= response.status_code < 400
