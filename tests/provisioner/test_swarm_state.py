"""A Swarm service's state, read from its tasks (and, on this node, their containers)."""

from __future__ import annotations

from typing import Any

from provisioner.backends.base import Health, RunState
from provisioner.backends.swarm_state import from_service

CHECKED = {
    "Test": ["CMD", "/bin/busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
}


def service(replicas: int = 1, healthcheck: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "ID": "svc1",
        "CreatedAt": "2025-11-21T20:46:24.5Z",
        "Spec": {
            "Name": "dockyard-i1-r1",
            "Labels": {
                "dockyard.instance": "i1",
                "dockyard.customer": "acme",
                "dockyard.revision": "1",
            },
            "TaskTemplate": {
                "ContainerSpec": {
                    "Image": "dockyard-demo:1@sha256:0123",
                    "Healthcheck": CHECKED if healthcheck is None else healthcheck,
                }
            },
            "Mode": {"Replicated": {"Replicas": replicas}},
        },
    }


def task(
    ident: str,
    created: str,
    state: str,
    desired: str = "running",
    err: str | None = None,
    port: int | None = None,
    container: str | None = None,
) -> dict[str, Any]:
    status: dict[str, Any] = {"State": state, "Message": state}
    if err:
        status["Err"] = err
    if port:
        status["PortStatus"] = {"Ports": [{"TargetPort": 8080, "PublishedPort": port}]}
    if container:
        status["ContainerStatus"] = {"ContainerID": container}
    return {
        "ID": ident,
        "ServiceID": "svc1",
        "CreatedAt": f"2025-11-21T20:46:{created}Z",
        "DesiredState": desired,
        "Status": status,
    }


def test_a_running_task_serves_on_its_published_port() -> None:
    workload = from_service(service(), [task("t1", "25.1", "running", port=30001)], {})

    assert (workload.state, workload.health, workload.host_port) == (
        RunState.RUNNING,
        Health.HEALTHY,  # Swarm runs a checked task only once a probe passed
        30001,
    )
    assert workload.image == "dockyard-demo:1"
    assert (workload.name, workload.instance_id, workload.revision) == ("dockyard-i1-r1", "i1", 1)
    assert workload.created_at == "2025-11-21T20:46:24+00:00"


def test_the_local_container_tells_the_current_health() -> None:
    tasks = [task("t1", "25", "running", port=30001, container="c1")]

    workload = from_service(service(), tasks, {"c1": "Up 2 minutes (unhealthy)"})

    assert workload.health is Health.UNHEALTHY


def test_without_a_check_health_is_none() -> None:
    workload = from_service(
        service(healthcheck={"Test": ["NONE"]}), [task("t1", "25", "running", port=30001)], {}
    )

    assert workload.health is Health.NONE
    assert workload.serving


def test_during_a_start_first_update_the_old_task_serves() -> None:
    tasks = [
        task("old", "25", "running", port=30001),
        task("new", "40", "starting", container="c2"),
    ]

    workload = from_service(service(), tasks, {"c2": "Up 1 second (health: starting)"})

    assert workload.serving
    assert workload.host_port == 30001


def test_a_first_task_that_starts_is_starting_without_a_port() -> None:
    workload = from_service(service(), [task("t1", "25", "starting")], {})

    assert (workload.state, workload.health, workload.host_port) == (
        RunState.RUNNING,
        Health.STARTING,
        None,
    )


def test_a_healthy_container_is_not_serving_before_swarm_publishes_its_port() -> None:
    tasks = [task("t1", "25", "starting", container="c1")]

    workload = from_service(service(), tasks, {"c1": "Up 1 second (healthy)"})

    assert (workload.health, workload.host_port, workload.serving) == (
        Health.STARTING,
        None,
        False,
    )


def test_a_starting_container_that_fails_its_probes_is_unhealthy() -> None:
    tasks = [task("t1", "25", "starting", container="c1")]

    workload = from_service(service(), tasks, {"c1": "Up 4 seconds (unhealthy)"})

    assert workload.health is Health.UNHEALTHY


def test_a_task_killed_for_failing_its_check_and_retried_is_unhealthy() -> None:
    unhealthy = "task: non-zero exit (143): dockerexec: unhealthy container"
    tasks = [
        task("t1", "25.9", "failed", desired="shutdown", err=unhealthy),
        # Fraction digits vary: as text ".10" would sort before ".9".
        task("t2", "31.10", "pending", desired="ready"),
    ]

    workload = from_service(service(), tasks, {})

    assert (workload.state, workload.health) == (RunState.RUNNING, Health.UNHEALTHY)
    assert "unhealthy container" in workload.detail


def test_a_crash_loop_is_failed_with_the_exit() -> None:
    tasks = [
        task("t1", "25", "failed", desired="shutdown", err="task: non-zero exit (3)"),
        task("t2", "31", "ready", desired="ready"),
    ]

    workload = from_service(service(), tasks, {})

    assert (workload.state, workload.detail) == (RunState.FAILED, "task: non-zero exit (3)")


def test_a_rejected_task_is_failed() -> None:
    tasks = [task("t1", "25", "rejected", desired="shutdown", err="No such image: demo:9")]

    assert from_service(service(), tasks, {}).state is RunState.FAILED


def test_scaled_to_zero_is_stopped() -> None:
    tasks = [task("t1", "25", "shutdown", desired="shutdown")]

    workload = from_service(service(replicas=0), tasks, {})

    assert (workload.state, workload.host_port, workload.serving) == (RunState.STOPPED, None, False)


def test_a_rollback_is_told_in_the_detail() -> None:
    rolled_back = {
        **service(),
        "UpdateStatus": {"State": "rollback_completed", "Message": "rollback completed"},
    }

    workload = from_service(rolled_back, [task("t1", "25", "running", port=30001)], {})

    assert workload.detail == "rollback completed"


def test_a_task_on_another_node_is_reached_at_that_node() -> None:
    """Ports are published in host mode, on the task's own node (swarm_spec)."""
    here, there = (
        task("t1", "25.0", "running", port=20001),
        task("t2", "26.0", "running", port=20002),
    )
    here["NodeID"], there["NodeID"] = "this-node", "node-b"
    addresses = {"node-b": "10.0.0.2"}

    on_b = from_service(service(healthcheck={}), [here, there], {}, addresses.get)
    on_this = from_service(service(healthcheck={}), [here], {}, addresses.get)

    assert (on_b.host_port, on_b.host_address) == (20002, "10.0.0.2")
    assert (on_this.host_port, on_this.host_address) == (20001, None)
    # Without a port there is nothing to reach, on any node.
    starting = task("t3", "27.0", "starting")
    starting["NodeID"] = "node-b"
    assert from_service(service(), [starting], {}, addresses.get).host_address is None
