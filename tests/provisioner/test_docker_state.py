"""A container reads the same from a listing (one call for all) as from an inspect."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.backends.base import Health, RunState
from provisioner.backends.docker_state import from_inspect, from_summary

LABELS = {
    "dockyard.managed": "true",
    "dockyard.instance": "i1",
    "dockyard.customer": "acme",
    "dockyard.revision": "2",
}


def summary(state: str, status: str, ports: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "Id": "c0ffee",
        "Names": ["/dockyard-i1-r2"],
        "Image": "dockyard-demo:2",
        "Created": 1763757984,
        "Labels": LABELS,
        "State": state,
        "Status": status,
        "Ports": ports or [],
    }


def inspect(state: dict[str, Any], ports: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "Id": "c0ffee",
        "Name": "/dockyard-i1-r2",
        "Created": "2025-11-21T20:46:24.844044653Z",
        "Config": {"Image": "dockyard-demo:2", "Labels": LABELS},
        "State": state,
        "NetworkSettings": {"Ports": ports or {}},
    }


PUBLISHED = [
    {"IP": "127.0.0.1", "PrivatePort": 8080, "PublicPort": 32775, "Type": "tcp"},
]
BOUND = {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "32775"}]}


def test_a_healthy_container_alike_from_both() -> None:
    listed = from_summary(summary("running", "Up 5 seconds (healthy)", PUBLISHED))
    inspected = from_inspect(
        inspect({"Status": "running", "Running": True, "Health": {"Status": "healthy"}}, BOUND)
    )

    assert listed == inspected
    assert (listed.instance_id, listed.customer_ref, listed.revision) == ("i1", "acme", 2)
    assert (listed.state, listed.health, listed.host_port) == (
        RunState.RUNNING,
        Health.HEALTHY,
        32775,
    )
    assert listed.name == "dockyard-i1-r2"
    assert listed.created_at == "2025-11-21T20:46:24+00:00"
    assert listed.serving


@pytest.mark.parametrize(
    ("status", "health"),
    [
        ("Up 1 second (health: starting)", Health.STARTING),
        ("Up 9 seconds (unhealthy)", Health.UNHEALTHY),
        ("Up 2 hours", Health.NONE),
    ],
)
def test_health_from_the_listings_status_text(status: str, health: Health) -> None:
    assert from_summary(summary("running", status, PUBLISHED)).health is health


def test_an_unhealthy_inspect_says_what_the_probe_saw() -> None:
    probe = {"Output": "wget: can't connect to remote host: Connection refused\n"}
    state = {"Status": "running", "Health": {"Status": "unhealthy", "Log": [probe]}}

    workload = from_inspect(inspect(state, BOUND))

    assert workload.health is Health.UNHEALTHY
    assert (
        workload.detail
        == "health check fails: wget: can't connect to remote host: Connection refused"
    )


@pytest.mark.parametrize(
    ("code", "state"), [(0, RunState.STOPPED), (143, RunState.STOPPED), (3, RunState.FAILED)]
)
def test_stopped_on_request_or_died(code: int, state: RunState) -> None:
    listed = from_summary(summary("exited", f"Exited ({code}) 2 seconds ago"))
    inspected = from_inspect(inspect({"Status": "exited", "ExitCode": code}))

    assert listed.state is inspected.state is state
    assert listed.host_port is inspected.host_port is None
    assert listed.health is inspected.health is Health.NONE
    assert f"status {code}" in inspected.detail


def test_killed_for_memory_is_failed_with_the_reason() -> None:
    workload = from_inspect(inspect({"Status": "exited", "ExitCode": 137, "OOMKilled": True}))

    assert workload.state is RunState.FAILED
    assert "out of memory" in workload.detail


def test_created_but_never_started_is_stopped() -> None:
    assert from_summary(summary("created", "Created")).state is RunState.STOPPED


def test_foreign_labels_give_an_orphan_without_instance() -> None:
    bare = {**summary("running", "Up 1 second"), "Labels": {"dockyard.managed": "true"}}

    workload = from_summary(bare)

    assert (workload.instance_id, workload.revision) == ("", 0)
