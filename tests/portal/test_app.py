"""The web application's webhook endpoint and health check, through litestar's test client."""

from __future__ import annotations

import json
import time
from pathlib import Path

from litestar.testing import TestClient
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from billing.models import WebhookEvent
from portal.app import create_app
from portal.runtime import Runtime
from portal.settings import DatabaseSettings, Settings
from tests.fixtures.stripe import WEBHOOK_SECRET, event, sign, stripe_settings


def runtime_for(tmp_path: Path) -> tuple[Runtime, Path]:
    database = tmp_path / "app.sqlite3"
    settings = Settings(
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{database}"),
        stripe=stripe_settings(),
    )
    return Runtime(settings), database


def stored_events(database: Path) -> list[str]:
    engine = create_engine(f"sqlite:///{database}")
    with Session(engine) as session:
        ids = list(session.scalars(select(WebhookEvent.id)))
    engine.dispose()
    return ids


def test_a_signed_event_is_stored_once(tmp_path: Path) -> None:
    runtime, database = runtime_for(tmp_path)
    payload = json.dumps(event("evt_1", "invoice.paid", {"id": "in_1", "object": "invoice"}))
    raw = payload.encode()

    with TestClient(create_app(runtime)) as client:
        first = client.post("/stripe/webhook", content=raw, headers={"Stripe-Signature": sign(raw)})
        again = client.post("/stripe/webhook", content=raw, headers={"Stripe-Signature": sign(raw)})

    assert first.status_code == 200
    assert first.json() == {"received": "evt_1", "duplicate": False}
    assert again.json() == {"received": "evt_1", "duplicate": True}
    assert stored_events(database) == ["evt_1"]


def test_forged_and_stale_events_get_400_and_nothing_is_stored(tmp_path: Path) -> None:
    runtime, database = runtime_for(tmp_path)
    raw = json.dumps(event("evt_2", "invoice.paid", {"id": "in_2"})).encode()
    forged = sign(raw, secret="whsec_someone_else")
    stale = sign(raw, timestamp=int(time.time()) - 3600)

    with TestClient(create_app(runtime)) as client:
        answers = [
            client.post("/stripe/webhook", content=raw, headers={"Stripe-Signature": forged}),
            client.post("/stripe/webhook", content=raw, headers={"Stripe-Signature": stale}),
            client.post("/stripe/webhook", content=raw),
            client.post(
                "/stripe/webhook", content=raw + b" ", headers={"Stripe-Signature": sign(raw)}
            ),
        ]

    assert [answer.status_code for answer in answers] == [400, 400, 400, 400]
    assert "signature" in answers[0].json()["detail"]
    assert stored_events(database) == []
    assert WEBHOOK_SECRET  # the configured secret is the fixture's, not the forger's


def test_healthz(tmp_path: Path) -> None:
    runtime, _ = runtime_for(tmp_path)
    with TestClient(create_app(runtime)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
