"""Sign-in attempts are rate-limited per client, other pages are not."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from litestar.testing import TestClient

from portal.app import create_app
from portal.runtime import Runtime
from tests.fixtures.clock import MovableClock
from tests.fixtures.portal import Portal, portal_settings


def test_the_eleventh_sign_in_attempt_in_a_minute_gets_429(tmp_path: Path) -> None:
    base = portal_settings(tmp_path, "unused")
    settings = replace(base, web=replace(base.web, signin_attempts_per_minute=10))
    with TestClient(create_app(Runtime(settings, clock=MovableClock()))) as client:
        browser = Portal(client, MovableClock(), settings)
        answers = [
            browser.post("/signin", {"email": "a@example.com", "password": "guess number x"})
            for _ in range(11)
        ]
        pages = [browser.get("/signin").status_code for _ in range(3)]

    assert [a.status_code for a in answers[:10]] == [400] * 10
    assert answers[10].status_code == 429
    assert pages == [200, 200, 200]
