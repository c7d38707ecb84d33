"""The reverse proxy on a real Caddy and a real engine (both backends): routes follow the
instances, customers' own names, a proxy restarted empty, and an update with no failed
request."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace

import docker
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from provisioner.errors import InvalidDomain
from provisioner.models import SuspensionReason, UpdateStatus
from provisioner.settings import BackendKind
from tests.fixtures.docker import remove_everything_of
from tests.fixtures.provisioning import FAST_SETTINGS, Fleet, build_fleet
from tests.fixtures.proxy import Caddy
from tests.provisioner.test_lifecycle import settle

pytestmark = [pytest.mark.docker, pytest.mark.proxy]

BASE = "dockyard.localhost"


@pytest.fixture(
    params=[BackendKind.DOCKER, pytest.param(BackendKind.SWARM, marks=pytest.mark.swarm)]
)
def proxied(
    request: pytest.FixtureRequest,
    engine_client: docker.DockerClient,
    sqlite_engine: AsyncEngine,
    proxy: Caddy,
) -> Iterator[Fleet]:
    settings = replace(FAST_SETTINGS, proxy=proxy.settings())
    world = build_fleet(engine_client, sqlite_engine, request.param, settings=settings)
    try:
        yield world
    finally:
        remove_everything_of(engine_client, world.run)


async def serving(fleet: Fleet) -> str:
    instance = await fleet.provisioner.provision(fleet.customer(), "app-starter")
    await settle(fleet, instance.id)
    await fleet.provisioner.routes.sync()
    return instance.id


async def answer(proxy: Caddy, host: str) -> httpx.Response:
    return await asyncio.to_thread(proxy.http, host)


async def test_an_instance_answers_at_its_own_name_and_follows_its_state(
    proxied: Fleet, proxy: Caddy
) -> None:
    instance_id = await serving(proxied)
    host = f"{instance_id}.{BASE}"

    page = await answer(proxy, host)
    assert page.status_code == 200
    assert "Dockyard demo application" in page.text
    assert proxied.provisioner.address(await proxied.provisioner.get(instance_id)) == (
        f"https://{host}:{proxy.https_port}/"
    )

    await proxied.provisioner.suspend(instance_id, SuspensionReason.BILLING)
    suspended = await answer(proxy, host)
    assert suspended.status_code == 503
    assert "payment for it is overdue" in suspended.text
    assert "/dashboard" in suspended.text

    await proxied.provisioner.resume(instance_id, SuspensionReason.BILLING)
    await settle(proxied, instance_id)
    await proxied.provisioner.routes.sync()
    assert (await answer(proxy, host)).status_code == 200

    await proxied.provisioner.terminate(instance_id)
    gone = await answer(proxy, host)
    assert gone.status_code == 404
    assert "No site here" in gone.text


async def test_a_custom_domain_is_served_until_it_is_removed(proxied: Fleet, proxy: Caddy) -> None:
    instance_id = await serving(proxied)
    domains = proxied.provisioner.domains

    attached = await domains.attach(instance_id, " Shop.Example.COM. ")
    assert attached == "shop.example.com"
    assert (await answer(proxy, "shop.example.com")).status_code == 200
    record = domains.dns_record(instance_id, attached)
    assert (record.kind, record.value) == ("CNAME", f"{instance_id}.{BASE}.")

    other = await serving(proxied)
    with pytest.raises(InvalidDomain, match="attached to another instance"):
        await domains.attach(other, "shop.example.com")

    assert await domains.detach(instance_id, attached)
    assert (await answer(proxy, "shop.example.com")).status_code == 404


async def test_a_proxy_restarted_empty_is_refilled_by_the_next_sync(
    proxied: Fleet, proxy: Caddy
) -> None:
    instance_id = await serving(proxied)
    proxy.reset()  # what a restarted Caddy runs: nothing but its admin API
    with pytest.raises(httpx.HTTPError):
        await answer(proxy, f"{instance_id}.{BASE}")

    assert await proxied.provisioner.routes.sync() is True
    assert (await answer(proxy, f"{instance_id}.{BASE}")).status_code == 200
    # In sync: the next pass reads the configuration and loads nothing.
    assert await proxied.provisioner.routes.sync() is False


async def test_an_update_behind_the_proxy_fails_no_request(proxied: Fleet, proxy: Caddy) -> None:
    """A client asking every 50 ms during a v1 -> v2 update sees every answer succeed."""
    instance_id = await serving(proxied)
    host = f"{instance_id}.{BASE}"
    failures: list[str] = []
    versions: list[str] = []
    done = asyncio.Event()

    async def poll() -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            url = f"http://127.0.0.1:{proxy.http_port}/"
            while not done.is_set():
                try:
                    response = await http.get(url, headers={"Host": host})
                    if response.status_code != 200:
                        failures.append(f"HTTP {response.status_code}: {response.text[:80]!r}")
                    else:
                        versions.append("2" if "version 2" in response.text else "1")
                except httpx.HTTPError as error:
                    failures.append(repr(error))
                await asyncio.sleep(0.05)

    poller = asyncio.create_task(poll())
    outcome = await proxied.provisioner.update(instance_id, "2")
    await asyncio.sleep(0.5)
    done.set()
    await poller

    assert outcome.status is UpdateStatus.SUCCEEDED, outcome.detail
    assert failures == []
    assert versions[0] == "1"
    assert versions[-1] == "2"
    # It moved once, from v1 to v2, and never back.
    assert versions == sorted(versions)
