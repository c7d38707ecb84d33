"""The web application's webhook endpoint and health check, through litestar's test client."""

from __future__ import annotations

import base64
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
from portal.web.security import SESSION_COOKIE
from tests.fixtures.stripe_double.fake import WEBHOOK_SECRET, event, sign, stripe_settings


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


def test_a_signed_body_that_is_not_an_event_gets_400_and_nothing_is_stored(
    tmp_path: Path,
) -> None:
    """Issue 11: a signed JSON array or an event without ``id`` answered 500, so Stripe
    would retry it for days; a 400 tells it to stop."""
    runtime, database = runtime_for(tmp_path)
    bodies = [b"[1, 2]", json.dumps({"type": "invoice.paid", "data": {}}).encode(), b'"x"']

    with TestClient(create_app(runtime)) as client:
        answers = [
            client.post("/stripe/webhook", content=raw, headers={"Stripe-Signature": sign(raw)})
            for raw in bodies
        ]

    assert [answer.status_code for answer in answers] == [400, 400, 400]
    assert all("event" in answer.text for answer in answers)
    assert stored_events(database) == []


def test_a_tampered_session_cookie_is_no_session_not_a_500(tmp_path: Path) -> None:
    runtime, _ = runtime_for(tmp_path)
    with TestClient(create_app(runtime)) as client:
        forged = base64.b64encode(bytes(range(256)) * 2).decode()  # decodes, decrypts to junk
        for value in ("garbage", "eyJ0ZXN0IjogMX0=.nothing", "a" * 100 + "." + "b" * 50, forged,
                      "null", "%ff%fe"):  # fmt: skip
            client.cookies.set(SESSION_COOKIE, value)
            page = client.get("/dashboard", follow_redirects=False)
            assert page.status_code in (302, 303, 401), (value, page.status_code)
            assert client.get("/").status_code == 200


def test_error_pages_carry_the_security_headers(tmp_path: Path) -> None:
    runtime, _ = runtime_for(tmp_path)
    with TestClient(create_app(runtime)) as client:
        missing = client.get("/no/such/page")
        wrong_method = client.delete("/")
    for answer in (missing, wrong_method):
        assert answer.status_code in (404, 405)
        assert "default-src 'self'" in answer.headers.get("content-security-policy", "")
        assert answer.headers.get("x-content-type-options") == "nosniff"
        assert answer.headers.get("x-frame-options") == "DENY"
