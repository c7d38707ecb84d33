"""What ``/readyz`` checks: the database answers, the Docker engine answers, the
Stripe outbox keeps up, and (where one is configured) the reverse proxy answers.

Every check has a short time limit, so a dead dependency makes the probe answer "not
ready" with a reason, quickly, instead of hanging until the orchestrator gives up on it.
The database and the engine are checked side by side; the outbox needs the database.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from billing import outbox_oldest_due
from portal.web.services import Services
from provisioner import routes_loaded

DATABASE_TIMEOUT_SECONDS = 3.0
# The Docker client waits 15 s for an answer; a probe must not.
ENGINE_TIMEOUT_SECONDS = 3.0

Fact = int | float | bool


class Status(enum.StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"  # could not be checked because another check failed


@dataclass(frozen=True, slots=True)
class Check:
    status: Status
    detail: str
    facts: dict[str, Fact] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {"status": self.status.value, "detail": self.detail, **self.facts}


@dataclass(frozen=True, slots=True)
class Readiness:
    checks: dict[str, Check]

    @property
    def ready(self) -> bool:
        return all(check.status is not Status.FAILED for check in self.checks.values())

    @property
    def failures(self) -> list[str]:
        return [
            f"{name}: {check.detail}"
            for name, check in self.checks.items()
            if check.status is Status.FAILED
        ]

    def as_json(self) -> dict[str, object]:
        return {
            "status": "ready" if self.ready else "not ready",
            "failed": self.failures,
            "checks": {name: check.as_json() for name, check in self.checks.items()},
        }


async def outbox_lag_seconds(session: AsyncSession, now: datetime) -> float:
    """How long the oldest due outbox message has waited since it was written (0: none)."""
    oldest = await outbox_oldest_due(session, now)
    return 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())


async def check_readiness(services: Services) -> Readiness:
    (database, outbox), engine, proxy = await asyncio.gather(
        _database_then_outbox(services), _engine(services), _proxy(services)
    )
    checks = {"database": database, "engine": engine, "outbox": outbox}
    if proxy is not None:
        checks["proxy"] = proxy
    return Readiness(checks)


async def _proxy(services: Services) -> Check | None:
    """None where no proxy is configured."""
    settings = services.runtime.settings.provisioner.proxy
    if settings is None:
        return None
    routes = 0

    async def ask() -> None:
        nonlocal routes
        routes = await routes_loaded(settings)

    failure = await _attempt(ask(), ENGINE_TIMEOUT_SECONDS)
    # Routes count the fallback page: one means nothing loaded yet (a tick away).
    return failure or Check(Status.OK, "Caddy answers", {"routes": max(routes - 1, 0)})


async def _database_then_outbox(services: Services) -> tuple[Check, Check]:
    database = await _database(services)
    if database.status is not Status.OK:
        return database, Check(Status.SKIPPED, "not checked: the database does not answer")
    return database, await _outbox(services)


async def _database(services: Services) -> Check:
    async def select_one() -> None:
        async with services.sessions() as session:
            await session.execute(text("SELECT 1"))

    failure = await _attempt(select_one(), DATABASE_TIMEOUT_SECONDS)
    return failure or Check(Status.OK, "answers")


async def _engine(services: Services) -> Check:
    name = services.runtime.settings.provisioner.backend.value

    async def ping() -> None:
        # Connects on first use (or again after a failed start), then asks the engine.
        provisioner = await services.provisioner()
        await provisioner.ctx.engine(provisioner.ctx.backend.ping)

    failure = await _attempt(ping(), ENGINE_TIMEOUT_SECONDS)
    return failure or Check(Status.OK, f"the {name} engine answers")


async def _outbox(services: Services) -> Check:
    settings = services.runtime.settings
    limit = settings.web.max_outbox_lag_seconds
    lag = 0.0

    async def measure() -> None:
        nonlocal lag
        async with services.sessions() as session:
            lag = await outbox_lag_seconds(session, services.runtime.clock())

    failure = await _attempt(measure(), DATABASE_TIMEOUT_SECONDS)
    if failure is not None:
        return failure
    facts: dict[str, Fact] = {"lag_seconds": round(lag), "limit_seconds": limit}
    if not settings.stripe.enabled:
        # Without a Stripe key nothing is sent, by design: the lag is shown, not judged.
        facts["stripe_configured"] = False
        return Check(Status.OK, "billing is offline (no Stripe key): the outbox holds", facts)
    if lag > limit:
        return Check(
            Status.FAILED,
            f"the oldest due message has waited {round(lag)} s, over the limit of {limit} s "
            "(is the worker running, does Stripe answer?)",
            facts,
        )
    return Check(Status.OK, "keeps up", facts)


async def _attempt(work: Awaitable[None], seconds: float) -> Check | None:
    """None if ``work`` finished in time, else the failed check saying why."""
    try:
        await asyncio.wait_for(work, timeout=seconds)
    except TimeoutError:
        return Check(Status.FAILED, f"no answer within {seconds:g} s")
    except Exception as error:  # whatever the failure, the answer is "not ready, because"
        lines = str(error).strip().splitlines()
        reason = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
        return Check(Status.FAILED, reason)
    return None
