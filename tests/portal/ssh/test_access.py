"""Who the gateway lets in, decided from the database alone: every refusal is the same
None, whatever the reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from plans import load_catalog
from portal.database import create_session_factory
from portal.ssh.access import Gatekeeper, Grant
from portal.ssh.keyring import KeyRing
from portal.ssh.keys import parse_public_key
from provisioner import Instance
from tests.fixtures.ssh_keys import FIRST_KEY, SECOND_KEY

NOW = datetime(2026, 12, 7, 22, tzinfo=UTC)
ANN_KEY = parse_public_key(FIRST_KEY).fingerprint
BOB_KEY = parse_public_key(SECOND_KEY).fingerprint


def instance(instance_id: str, plan_id: str, state: str, desired: str) -> Instance:
    return Instance(
        id=instance_id,
        customer_ref="ann",
        plan_id=plan_id,
        plan_version=1,
        image="dockyard-server",
        image_version="1",
        cpu_millis=1000,
        memory_mb=1024,
        disk_gb=20,
        max_processes=128,
        desired_state=desired,
        state=state,
        created_at=NOW,
        updated_at=NOW,
    )


@pytest.fixture
async def gate(engine: AsyncEngine) -> Gatekeeper:
    sessions = create_session_factory(engine)
    await KeyRing(sessions, lambda: NOW).add("ann", FIRST_KEY)
    await KeyRing(sessions, lambda: NOW).add("bob", SECOND_KEY)
    async with sessions() as session, session.begin():
        session.add_all(
            [
                instance("iserver", "server-s", "running", "running"),
                instance("iapp", "app-starter", "running", "running"),
                instance("isuspended", "server-s", "stopped", "stopped"),
                instance("isuspending", "server-s", "running", "stopped"),
                instance("iterminated", "server-s", "terminated", "absent"),
                instance("ipending", "server-s", "pending", "running"),
                instance("iunknownplan", "server-xxl", "running", "running"),
            ]
        )
    catalog = load_catalog()
    return Gatekeeper(sessions, lambda: catalog)


async def test_the_owner_s_key_is_let_into_a_running_server(gate: Gatekeeper) -> None:
    assert await gate.admit("iserver", ANN_KEY) == Grant("iserver", "ann")


@pytest.mark.parametrize(
    ("username", "fingerprint"),
    [
        ("iserver", BOB_KEY),  # another customer's key
        ("iserver", "SHA256:nobody-added-this"),
        ("inothere", ANN_KEY),
        ("i" * 5000, ANN_KEY),
        ("iapp", ANN_KEY),  # application hosting: no logins
        ("isuspended", ANN_KEY),
        ("isuspending", ANN_KEY),  # still running, but on its way to stopped
        ("iterminated", ANN_KEY),
        ("ipending", ANN_KEY),
        ("iunknownplan", ANN_KEY),
    ],
)
async def test_everyone_else_is_refused_alike(
    gate: Gatekeeper, username: str, fingerprint: str
) -> None:
    assert await gate.admit(username, fingerprint) is None
