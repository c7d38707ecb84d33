"""/healthz (liveness) and /readyz (readiness: database, engine, Stripe outbox lag)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from billing.outbox import OutboxKind
from portal.app import create_app
from portal.runtime import Runtime
from portal.settings import Settings
from portal.web.readiness import ENGINE_TIMEOUT_SECONDS
from tests.fixtures.billing import outbox_row
from tests.fixtures.clock import MovableClock
from tests.fixtures.outages import UNREACHABLE_ENGINE, database_gone, silent_engine
from tests.fixtures.portal import Portal, portal_settings
from tests.fixtures.stripe_double.fake import stripe_settings

pytestmark = pytest.mark.docker


@contextmanager
def running(settings: Settings) -> Iterator[Portal]:
    clock = MovableClock()
    with TestClient(create_app(Runtime(settings, clock=clock))) as client:
        yield Portal(client, clock, settings)


def readyz(portal: Portal) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    answer = portal.get("/readyz")
    return answer.status_code, answer.json(), time.monotonic() - started


def enqueue_message(portal: Portal, key: str) -> None:
    async def add() -> None:
        async with portal.services.sessions() as session, session.begin():
            await outbox_row(
                session,
                kind=OutboxKind.CUSTOMER_CREATE,
                payload={"customer_id": key},
                key=key,
                now=portal.clock(),
            )

    portal.run(add)


def test_healthz_is_ok_while_the_process_serves_whatever_else_is_down(portal: Portal) -> None:
    with database_gone(portal):
        answer = portal.get("/healthz")

    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}
    assert answer.headers["cache-control"] == "no-store"


def test_a_healthy_portal_is_ready(portal: Portal) -> None:
    status, body, _ = readyz(portal)

    assert status == 200, body
    assert body["status"] == "ready"
    assert body["failed"] == []
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok",
        "engine": "ok",
        "outbox": "ok",
    }
    assert body["checks"]["engine"]["detail"] == "the docker engine answers"


def test_without_the_database_it_is_not_ready_and_says_so(portal: Portal) -> None:
    with database_gone(portal):
        status, body, seconds = readyz(portal)

    assert status == 503
    assert body["status"] == "not ready"
    assert len(body["failed"]) == 1
    assert body["failed"][0].startswith("database: ")
    assert "refused" in body["checks"]["database"]["detail"].lower()
    assert body["checks"]["outbox"]["status"] == "skipped"
    assert body["checks"]["engine"]["status"] == "ok"
    assert seconds < 5
    # Back once the database is.
    assert readyz(portal)[0] == 200


def test_an_unreachable_engine_makes_it_not_ready_quickly(
    tmp_path: Path, portal_namespace: str
) -> None:
    settings = portal_settings(tmp_path, portal_namespace)
    settings = replace(
        settings, provisioner=replace(settings.provisioner, docker_url=UNREACHABLE_ENGINE)
    )

    with running(settings) as portal:
        status, body, seconds = readyz(portal)

    assert status == 503
    assert body["failed"] == [f"engine: {body['checks']['engine']['detail']}"]
    assert "127.0.0.1:1" in body["checks"]["engine"]["detail"]
    assert body["checks"]["database"]["status"] == "ok"
    assert seconds < 2


def test_an_engine_that_never_answers_is_given_up_on_within_the_time_limit(
    tmp_path: Path, portal_namespace: str
) -> None:
    settings = portal_settings(tmp_path, portal_namespace)
    with silent_engine() as engine:
        settings = replace(
            settings, provisioner=replace(settings.provisioner, docker_url=engine.url)
        )
        with running(settings) as portal:
            status, body, seconds = readyz(portal)
            engine.hang_up()

    assert status == 503
    assert body["checks"]["engine"] == {
        "status": "failed",
        "detail": f"no answer within {ENGINE_TIMEOUT_SECONDS:g} s",
    }
    assert ENGINE_TIMEOUT_SECONDS <= seconds < ENGINE_TIMEOUT_SECONDS + 2


def test_an_old_due_outbox_message_makes_it_not_ready_when_stripe_is_configured(
    tmp_path: Path, portal_namespace: str
) -> None:
    settings = portal_settings(tmp_path, portal_namespace, stripe=stripe_settings())
    limit = settings.web.max_outbox_lag_seconds

    with running(settings) as portal:
        enqueue_message(portal, "customer.create:c1")
        portal.clock.advance(seconds=limit)
        at_the_limit = readyz(portal)
        portal.clock.advance(seconds=60)
        over_it = readyz(portal)

    status, body, _ = at_the_limit
    assert status == 200, body
    assert body["checks"]["outbox"]["lag_seconds"] == limit

    status, body, _ = over_it
    assert status == 503
    assert len(body["failed"]) == 1
    assert body["failed"][0].startswith("outbox: the oldest due message has waited")
    assert body["checks"]["outbox"]["lag_seconds"] == limit + 60
    assert body["checks"]["outbox"]["limit_seconds"] == limit


def test_without_stripe_the_outbox_lag_is_reported_but_does_not_fail_readiness(
    portal: Portal,
) -> None:
    enqueue_message(portal, "customer.create:c1")
    portal.clock.advance(hours=5)

    status, body, _ = readyz(portal)

    assert status == 200, body
    assert body["checks"]["outbox"]["lag_seconds"] == 5 * 3600
    assert body["checks"]["outbox"]["stripe_configured"] is False
    assert "offline" in body["checks"]["outbox"]["detail"]


def test_the_lag_limit_is_configurable(tmp_path: Path, portal_namespace: str) -> None:
    settings = portal_settings(tmp_path, portal_namespace, stripe=stripe_settings())
    settings = replace(settings, web=replace(settings.web, max_outbox_lag_seconds=30))

    with running(settings) as portal:
        enqueue_message(portal, "customer.create:c1")
        portal.clock.advance(seconds=31)
        status, body, _ = readyz(portal)

    assert status == 503
    assert body["checks"]["outbox"]["limit_seconds"] == 30


def test_the_lag_limit_is_read_from_the_environment() -> None:
    settings = Settings.from_env({"DOCKYARD_MAX_OUTBOX_LAG_SECONDS": "60"})
    assert settings.web.max_outbox_lag_seconds == 60
    assert Settings.from_env({}).web.max_outbox_lag_seconds == 900
    with pytest.raises(ValueError, match="DOCKYARD_MAX_OUTBOX_LAG_SECONDS='soon'"):
        Settings.from_env({"DOCKYARD_MAX_OUTBOX_LAG_SECONDS": "soon"})
