"""``dockyard worker``: the background loop that keeps everything moving.

Each tick, in order: Stripe events received by the webhook are handled (refetching their
objects), billing time moves on (period roll-over, trials, scheduled changes, support
periods Stripe has invoiced closing once their grace has passed, dunning),
subscriptions are applied to their instances (portal.policy), the Stripe outbox is
drained, the reconciler makes the engine match, the reverse proxy is given the routes to
what it made, and due backups are taken. A step that fails is logged and reported; the
others still run, and the worker never dies of one bad tick.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing import Dunning, OutboxSender, PeriodClosing, Subscriptions, handle_pending, make_client
from portal.fleet_sync import sync_instances
from portal.runtime import Runtime
from provisioner import Provisioner, ProvisioningError

log = logging.getLogger(__name__)

_WORKERS = itertools.count(1)


@dataclass
class TickReport:
    done: dict[str, object] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        parts = [f"{name}: ok" for name in self.done]
        parts += [f"{name}: FAILED ({reason})" for name, reason in self.failed.items()]
        return "; ".join(parts)


class Worker:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        # Its own lease holder, apart from the web process it may run in (Runtime.holder).
        self.holder = f"worker{next(_WORKERS)}"
        self._provisioner: tuple[async_sessionmaker[AsyncSession], Provisioner] | None = None

    async def tick(self) -> TickReport:
        """One tick on its own database connection (``dockyard worker --once``)."""
        async with self.runtime.database() as sessions:
            return await self.tick_on(sessions)

    def _fleet(self, sessions: async_sessionmaker[AsyncSession]) -> Provisioner:
        # Built once and kept: a Docker client (and its start-up ping) per tick is waste.
        # Not built while the engine is down: the next tick tries again.
        if self._provisioner is None or self._provisioner[0] is not sessions:
            provisioner = Provisioner(self.runtime.provisioner_context(sessions, self.holder))
            self._provisioner = (sessions, provisioner)
        return self._provisioner[1]

    async def tick_on(self, sessions: async_sessionmaker[AsyncSession]) -> TickReport:
        report = TickReport()
        billing = self.runtime.billing_context(sessions, self.holder)
        now = billing.clock()
        steps: list[tuple[str, Callable[[], Awaitable[object]]]] = []
        if billing.stripe.enabled:
            steps.append(("webhooks", lambda: handle_pending(billing, make_client(billing.stripe))))
        steps += [
            ("billing periods", lambda: Subscriptions(billing).roll_periods(now)),
            ("closing periods", lambda: PeriodClosing(billing).close_due(now)),
            ("dunning", lambda: Dunning(billing).tick(now)),
        ]
        provisioner: Provisioner | None = None
        try:
            provisioner = self._fleet(sessions)
        except ProvisioningError as error:  # engine down: billing still moves on
            report.failed["engine"] = str(error)
        if provisioner is not None:
            fleet = provisioner
            steps.append(("instances", lambda: sync_instances(billing, fleet)))
        sender = OutboxSender(billing, lambda: make_client(billing.stripe))
        steps.append(("outbox", sender.drain))
        if provisioner is not None:
            steps.append(("reconcile", provisioner.reconciler.run_pass))
            if self.runtime.settings.provisioner.proxy is not None:
                steps.append(("proxy routes", provisioner.routes.sync))
            # Scheduled backups that are due (one query when none is) and the backups of
            # instances whose data retention ended.
            steps.append(("backups", provisioner.backups.run_due))
        for name, step in steps:
            try:
                report.done[name] = await step()
            except Exception as error:
                log.exception("worker step %s failed", name)
                report.failed[name] = str(error) or type(error).__name__
        return report

    async def run(self, interval: float, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        # One engine (and one migration check) for the worker's life, not one per tick.
        async with self.runtime.database() as sessions:
            await self.run_on(sessions, interval, stop)

    async def run_on(
        self, sessions: async_sessionmaker[AsyncSession], interval: float, stop: asyncio.Event
    ) -> None:
        """Tick until ``stop`` is set, on the caller's database (the portal's, in-process)."""
        while not stop.is_set():
            report = await self.tick_on(sessions)
            log.info("tick: %s", report)
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                continue
