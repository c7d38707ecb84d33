"""``dockyard proxy``: an operator attaches a customer's domain and loads the routes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from portal.cli import dockyard
from tests.fixtures.proxy import Caddy

pytestmark = [pytest.mark.docker, pytest.mark.proxy]


def test_an_operator_manages_domains_and_routes(tmp_path: Path, run_id: str, proxy: Caddy) -> None:
    env = {
        "DOCKYARD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}",
        "DOCKYARD_NAMESPACE": run_id,
        "DOCKYARD_HEALTH_INTERVAL_SECONDS": "1",
        "DOCKYARD_PROXY_ADMIN_URL": proxy.admin_url,
        "DOCKYARD_PROXY_HTTP_PORT": str(proxy.http_port),
        "DOCKYARD_PROXY_HTTPS_PORT": str(proxy.https_port),
    }

    def invoke(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(dockyard, list(args), env=env)
        return result.exit_code, result.output

    code, out = invoke("instances", "provision", f"{run_id}c0", "app-starter")
    assert code == 0, out
    instance_id = out.split()[0]

    code, out = invoke("proxy", "domains", instance_id, "--add", "Shop.Example.org")
    assert code == 0, out
    assert f"shop.example.org. CNAME {instance_id}.dockyard.localhost." in out
    assert f"https://shop.example.org:{proxy.https_port}/" in out

    code, out = invoke("proxy", "domains", instance_id, "--add", "bad_name")
    assert code == 1
    assert "'bad_name': a domain is two or more labels" in out

    proxy.reset()
    code, out = invoke("proxy", "sync")
    assert (code, out.strip()) == (0, "loaded the routes")
    assert proxy.http("shop.example.org").status_code == 200
    code, out = invoke("proxy", "sync")
    assert out.strip() == "the proxy already serves these routes"

    code, out = invoke("proxy", "domains", instance_id, "--remove", "shop.example.org")
    assert (code, out) == (0, "")
    assert proxy.http("shop.example.org").status_code == 404
