"""Fleet rollouts started from the operator pages and API, run in the background.

Rolling a plan's instances to another application version takes a while (each one is
health-gated), so a request starts the rollout as a task and answers at once; the
tracker keeps the task and its live FleetReport, which the progress page and the API
read. Rollouts live in this process: a restart ends those running (every instance keeps
its own update status and history, and the reconciler removes half-started revisions)
and forgets finished ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from plans import ApplicationHostingPlan, Catalog
from portal.errors import RolloutRefused, UnknownRollout
from provisioner import FleetReport, Provisioner, UpdateOutcome

log = logging.getLogger(__name__)

KEEP_FINISHED = 50  # the newest finished rollouts stay visible; older ones are forgotten
MAX_PARALLEL = 10
# What Docker accepts as an image tag.
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


@dataclass
class RolloutRun:
    id: str
    plan_id: str
    version: str
    actor: str
    respect_window: bool
    started_at: datetime
    report: FleetReport = field(default_factory=FleetReport)
    finished_at: datetime | None = None
    error: str | None = None  # the rollout as a whole failed (not one instance)
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.finished_at is None

    @property
    def done(self) -> list[str]:
        return list(self.report.updated)

    @property
    def failed(self) -> list[UpdateOutcome]:
        return list(self.report.failed)

    @property
    def remaining(self) -> list[str]:
        finished = {*self.report.updated, *(outcome.instance_id for outcome in self.report.failed)}
        return [instance_id for instance_id in self.report.due if instance_id not in finished]

    @property
    def outcome(self) -> str:
        """One word for the page and the API: running, succeeded, failed or errored."""
        if self.running:
            return "running"
        if self.error is not None:
            return "errored"
        return "failed" if self.report.failed else "succeeded"


def rollout_problems(catalog: Catalog, plan_id: str, version: str) -> dict[str, str]:
    """What is wrong with a requested rollout, by field (empty: it may start)."""
    problems: dict[str, str] = {}
    if not plan_id:
        problems["plan_id"] = "choose an application-hosting plan"
    elif plan_id not in catalog:
        problems["plan_id"] = f"there is no plan {plan_id!r} in the catalog"
    elif not isinstance(catalog.get(plan_id), ApplicationHostingPlan):
        problems["plan_id"] = f"{plan_id!r} is not an application-hosting plan"
    if not version:
        problems["version"] = "enter the application version (the image tag) to roll out"
    elif not _TAG.match(version):
        problems["version"] = "an image tag: letters, digits, '_', '.' and '-', at most 128"
    return problems


class RolloutTracker:
    def __init__(self) -> None:
        self._runs: dict[str, RolloutRun] = {}

    def start(
        self,
        provisioner: Provisioner,
        clock: Callable[[], datetime],
        plan_id: str,
        version: str,
        *,
        actor: str,
        respect_window: bool = True,
        max_parallel: int = 1,
    ) -> RolloutRun:
        """Start rolling ``plan_id``'s running instances to ``version``; returns at once.

        Raises RolloutRefused while another rollout of the same plan runs here.
        """
        busy = [run for run in self._runs.values() if run.running and run.plan_id == plan_id]
        if busy:
            raise RolloutRefused(
                f"rollout {busy[0].id} of {plan_id} to {busy[0].version} is still running; "
                "wait for it to finish"
            )
        run = RolloutRun(
            id="r" + secrets.token_hex(5),
            plan_id=plan_id,
            version=version,
            actor=actor,
            respect_window=respect_window,
            started_at=clock(),
        )
        parallel = min(max(1, max_parallel), MAX_PARALLEL)
        run.task = asyncio.create_task(self._run(run, provisioner, clock, parallel))
        self._runs[run.id] = run
        self._forget_old()
        return run

    async def _run(
        self, run: RolloutRun, provisioner: Provisioner, clock: Callable[[], datetime], n: int
    ) -> None:
        try:
            await provisioner.rollout.update_fleet(
                run.plan_id,
                run.version,
                max_parallel=n,
                respect_window=run.respect_window,
                actor=run.actor,
                report=run.report,
            )
        except asyncio.CancelledError:
            run.error = "stopped: the portal shut down during the rollout"
            raise
        except Exception as error:
            log.exception("rollout %s of %s failed", run.id, run.plan_id)
            run.error = str(error) or type(error).__name__
        finally:
            run.finished_at = clock()
            run.task = None

    def get(self, rollout_id: str) -> RolloutRun:
        try:
            return self._runs[rollout_id]
        except KeyError:
            raise UnknownRollout(rollout_id) from None

    def recent(self) -> list[RolloutRun]:
        """Newest first."""
        return sorted(self._runs.values(), key=lambda run: run.started_at, reverse=True)

    async def wait(self, rollout_id: str) -> RolloutRun:
        """Until the rollout finishes (tests, scripts)."""
        run = self.get(rollout_id)
        if run.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(run.task)
        return run

    async def stop_all(self) -> None:
        tasks = [run.task for run in self._runs.values() if run.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _forget_old(self) -> None:
        finished = [run for run in self.recent() if not run.running]
        for run in finished[KEEP_FINISHED:]:
            del self._runs[run.id]
