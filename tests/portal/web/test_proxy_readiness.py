"""/readyz checks the reverse proxy where one is configured, and says when it is down."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from portal.app import create_app
from portal.runtime import Runtime
from provisioner import ProxySettings
from tests.fixtures.live_portal import free_port
from tests.fixtures.portal import portal_settings
from tests.fixtures.proxy import Caddy

pytestmark = [pytest.mark.docker, pytest.mark.proxy]


def readiness(tmp_path: Path, namespace: str, proxy: ProxySettings | None) -> tuple[int, Any]:
    settings = portal_settings(tmp_path, namespace)
    settings = replace(settings, provisioner=replace(settings.provisioner, proxy=proxy))
    with TestClient(create_app(Runtime(settings))) as client:
        answer = client.get("/readyz")
        return answer.status_code, answer.json()


def test_a_running_proxy_is_ready(tmp_path: Path, portal_namespace: str, proxy: Caddy) -> None:
    status, body = readiness(tmp_path, portal_namespace, proxy.settings())
    assert status == 200
    assert body["checks"]["proxy"]["status"] == "ok"
    assert body["checks"]["proxy"]["routes"] == 0


def test_a_proxy_that_does_not_answer_is_named(tmp_path: Path, portal_namespace: str) -> None:
    nowhere = ProxySettings(admin_url=f"http://127.0.0.1:{free_port()}")
    status, body = readiness(tmp_path, portal_namespace, nowhere)
    assert status == 503
    assert body["checks"]["proxy"]["status"] == "failed"
    assert "admin API" in body["checks"]["proxy"]["detail"]
    assert any(line.startswith("proxy: ") for line in body["failed"])


def test_without_a_proxy_nothing_is_checked(tmp_path: Path, portal_namespace: str) -> None:
    _, body = readiness(tmp_path, portal_namespace, None)
    assert "proxy" not in body["checks"]
