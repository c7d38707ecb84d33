"""A customer's own domains on the instance page, and the proxy's ask endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from litestar.testing import TestClient

from portal.app import create_app
from portal.runtime import Runtime
from tests.fixtures.clock import MovableClock
from tests.fixtures.customer_portal import fleet, new_customer, order, tick_until_running
from tests.fixtures.portal import Portal, portal_settings
from tests.fixtures.proxy import Caddy

pytestmark = [pytest.mark.docker, pytest.mark.proxy]


@pytest.fixture
def proxied_portal(tmp_path: Path, portal_namespace: str, proxy: Caddy) -> Iterator[Portal]:
    """The portal with the tests' Caddy in front of its instances."""
    clock = MovableClock()
    settings = portal_settings(tmp_path, portal_namespace)
    settings = replace(settings, provisioner=replace(settings.provisioner, proxy=proxy.settings()))
    with TestClient(create_app(Runtime(settings, clock=clock))) as client:
        yield Portal(client, clock, settings)


def ask(portal: Portal, name: str) -> int:
    return portal.client.get("/proxy/ask", params={"domain": name}).status_code


def test_a_customer_adds_and_removes_a_domain_and_the_proxy_asks_for_it(
    proxied_portal: Portal, proxy: Caddy
) -> None:
    portal = proxied_portal
    ann = new_customer(portal, "ann@example.com")
    instance = tick_until_running(portal, order(portal, ann, "app-starter").id)
    page = portal.get(f"/instances/{instance.id}")
    assert f"https://{instance.id}.dockyard.localhost:{proxy.https_port}/" in page.text
    assert "Your own domains" in page.text
    assert ask(portal, "shop.example.com") == 404
    assert ask(portal, f"{instance.id}.dockyard.localhost") == 200

    refused = portal.post(f"/instances/{instance.id}/domains", {"domain": "https://x/"})
    assert refused.status_code == 400
    assert "https://x/ cannot be added: enter the name alone" in refused.text
    added = portal.post(f"/instances/{instance.id}/domains", {"domain": "Shop.Example.com"})
    assert added.status_code == 303

    page = portal.get(f"/instances/{instance.id}")
    assert f"shop.example.com. CNAME {instance.id}.dockyard.localhost." in page.text
    assert ask(portal, "shop.example.com") == 200
    # The worker's pass and the page's own sync agree: the proxy serves the name.
    portal.tick()
    assert proxy.http("shop.example.com").status_code == 200

    # Another customer cannot add the name, nor touch Ann's instance.
    portal.client.cookies.clear()
    new_customer(portal, "bob@example.com")
    taken = portal.post(f"/instances/{instance.id}/domains", {"domain": "bob.example.com"})
    assert taken.status_code == 404
    removed = portal.post(f"/instances/{instance.id}/domains/shop.example.com/remove")
    assert removed.status_code == 404
    assert ask(portal, "shop.example.com") == 200

    portal.client.cookies.clear()
    portal.sign_in("ann@example.com")
    removed = portal.post(f"/instances/{instance.id}/domains/shop.example.com/remove")
    assert removed.status_code == 303
    assert ask(portal, "shop.example.com") == 404
    assert proxy.http("shop.example.com").status_code == 404


def test_the_ask_endpoint_refuses_what_is_not_served(proxied_portal: Portal) -> None:
    assert ask(proxied_portal, "evil.example.com") == 404
    assert ask(proxied_portal, "i0000000000.dockyard.localhost") == 404
    assert proxied_portal.client.get("/proxy/ask").status_code == 400
    assert ask(proxied_portal, "x" * 300) == 400


def test_without_a_proxy_there_is_no_domains_section(portal: Portal) -> None:
    ann = new_customer(portal, "ann@example.com")
    instance = tick_until_running(portal, order(portal, ann, "app-starter").id)
    page = portal.get(f"/instances/{instance.id}")
    assert "Your own domains" not in page.text
    provisioner = fleet(portal)
    address = provisioner.address(portal.run(provisioner.get, instance.id))
    assert address is not None
    assert address.startswith("http://127.0.0.1:")
