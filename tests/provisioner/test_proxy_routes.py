"""Routes from the instance rows: where each name is sent (no engine, no proxy needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncEngine

from plans import load_catalog
from portal.database import create_session_factory
from provisioner.context import ProvisionerContext
from provisioner.models import DesiredState, Instance, InstanceState, SuspensionReason
from provisioner.proxy.routing import ProxyRoutes
from provisioner.proxy.settings import ProxySettings
from provisioner.settings import ProvisionerSettings

NOW = datetime(2026, 12, 8, tzinfo=UTC)


def row(ident: str, desired: DesiredState, **fields: Any) -> Instance:
    return Instance(
        id=ident,
        customer_ref="acme",
        plan_id="app-starter",
        plan_version=1,
        image="dockyard-demo",
        image_version="1",
        cpu_millis=500,
        memory_mb=128,
        disk_gb=5,
        max_processes=64,
        desired_state=desired.value,
        state=InstanceState.RUNNING.value,
        created_at=NOW,
        updated_at=NOW,
        **fields,
    )


async def test_each_name_goes_where_its_instance_is(sqlite_engine: AsyncEngine) -> None:
    catalog = load_catalog()
    ctx = ProvisionerContext(
        sessions=create_session_factory(sqlite_engine),
        backend=cast(Any, None),  # routes need the database only
        catalog=lambda: catalog,
        settings=ProvisionerSettings(proxy=ProxySettings()),
        clock=lambda: NOW,
    )
    async with ctx.sessions() as session:
        session.add_all(
            [
                row("ihere", DesiredState.RUNNING, host_port=20001),
                row("ithere", DesiredState.RUNNING, host_port=20002, host_address="10.0.0.7"),
                row("ipaused", DesiredState.STOPPED, suspension_reason=SuspensionReason.BILLING),
                row("iboot", DesiredState.RUNNING),
                row("igone", DesiredState.ABSENT),
            ]
        )
        await session.commit()

    routes = {route.instance_id: route for route in await ProxyRoutes(ctx).routes()}

    assert routes["ihere"].upstream == "127.0.0.1:20001"
    assert routes["ithere"].upstream == "10.0.0.7:20002"  # a task on another swarm node
    assert routes["ipaused"].upstream is None
    assert "overdue" in routes["ipaused"].page
    assert routes["iboot"].upstream is None
    assert "starting" in routes["iboot"].page
    assert "igone" not in routes
    assert routes["ihere"].hosts == ("ihere.dockyard.localhost",)
