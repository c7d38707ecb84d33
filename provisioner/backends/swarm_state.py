"""Reading a Workload out of a Swarm service, its tasks and (when local) their containers.

Swarm tells a service's story through its tasks: each start is a new task, a task that
fails is replaced after the restart delay, and a task with a health check stays in
``starting`` until its first probe passes (only then is it ``running`` and its published
port known). A task whose container turns unhealthy is killed and replaced, so an
unhealthy revision shows up as a failed task ("unhealthy container") followed by a new
one that is starting; this module reads that as RUNNING and UNHEALTHY, like a container
on the Docker backend that runs but fails its check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from provisioner.backends.base import (
    CUSTOMER_LABEL,
    INSTANCE_LABEL,
    REVISION_LABEL,
    Health,
    RunState,
    Workload,
)
from provisioner.backends.docker_state import health_from_status_text
from provisioner.backends.engine_terms import Json, engine_moment, engine_time

# Task states before the container runs, and the states of a task that is over.
STARTING_UP = frozenset(
    {"new", "allocated", "pending", "assigned", "accepted", "preparing", "ready"}
)
FAILED = frozenset({"failed", "rejected"})
UNHEALTHY_MARKER = "unhealthy container"


def task_state(task: Json) -> str:
    return str((task.get("Status") or {}).get("State", ""))


def task_error(task: Json) -> str:
    status: Json = task.get("Status") or {}
    return str(status.get("Err") or status.get("Message") or "")


def task_container(task: Json) -> str | None:
    container: Json = (task.get("Status") or {}).get("ContainerStatus") or {}
    found = container.get("ContainerID")
    return str(found) if found else None


def task_port(task: Json) -> int | None:
    ports: list[Json] = ((task.get("Status") or {}).get("PortStatus") or {}).get("Ports") or []
    published = [port["PublishedPort"] for port in ports if port.get("PublishedPort")]
    return int(published[0]) if published else None


def by_age(tasks: list[Json]) -> list[Json]:
    """Oldest first. CreatedAt has a varying number of fraction digits: compare as time."""
    return sorted(tasks, key=lambda task: engine_moment(task["CreatedAt"]))


def replicas(service: Json) -> int:
    mode: Json = (service.get("Spec") or {}).get("Mode") or {}
    return int((mode.get("Replicated") or {}).get("Replicas", 1))


def from_service(
    service: Json,
    tasks: list[Json],
    local_status: Mapping[str, str],
    node_address: Callable[[str], str | None] = lambda node: None,
) -> Workload:
    """``tasks`` are the service's; ``local_status`` maps this node's container ids to the
    ``Status`` text of ``GET /containers/json`` (where container health shows);
    ``node_address`` says where another node than this one is reached (None: this one)."""
    spec: Json = service.get("Spec") or {}
    labels: dict[str, str] = spec.get("Labels") or {}
    container_spec: Json = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    has_check = (container_spec.get("Healthcheck") or {}).get("Test", ["NONE"]) != ["NONE"]
    state, health, port, detail = _observe(
        by_age(tasks), replicas(service), has_check, local_status
    )
    rollback: Json = service.get("UpdateStatus") or {}
    if str(rollback.get("State", "")).startswith("rollback"):
        detail = f"{detail}; {rollback.get('Message', '')}".strip("; ")
    raw_revision = labels.get(REVISION_LABEL, "")
    serving = _serving(tasks)
    address = node_address(str(serving.get("NodeID", ""))) if serving and port else None
    return Workload(
        id=service["ID"],
        name=spec.get("Name", ""),
        instance_id=labels.get(INSTANCE_LABEL, ""),
        customer_ref=labels.get(CUSTOMER_LABEL, ""),
        revision=int(raw_revision) if raw_revision.isdigit() else 0,
        # The manager may pin the image to a digest; the plan knows it by its tag.
        image=str(container_spec.get("Image", "")).split("@", 1)[0],
        state=state,
        health=health,
        host_port=port,
        created_at=engine_time(service["CreatedAt"]),
        detail=detail,
        host_address=address,
    )


def _serving(tasks: list[Json]) -> Json | None:
    """The task that serves: during a start-first update the old one serves until the new
    one is healthy, so the newest of those running."""
    running = [
        task
        for task in by_age(tasks)
        if task_state(task) == "running" and task.get("DesiredState") == "running"
    ]
    return running[-1] if running else None


def _observe(
    tasks: list[Json], wanted: int, has_check: bool, local_status: Mapping[str, str]
) -> tuple[RunState, Health, int | None, str]:
    if wanted == 0:
        return RunState.STOPPED, Health.NONE, None, "scaled to 0"
    current = _serving(tasks)
    if current is not None:
        health = Health.HEALTHY if has_check else Health.NONE
        if has_check:
            health = _local_health(current, local_status) or health
        return RunState.RUNNING, health, task_port(current), ""
    if not tasks:
        return RunState.RUNNING, Health.STARTING, None, "waiting for the scheduler"
    newest = tasks[-1]
    state = task_state(newest)
    if state in STARTING_UP or state == "starting":
        # A task starting right after a failed one is Swarm's restart: the failure is
        # the news, not the new attempt.
        failure = _failure(tasks[-2]) if len(tasks) > 1 else None
        if failure is not None and UNHEALTHY_MARKER in failure:
            return RunState.RUNNING, Health.UNHEALTHY, None, failure
        if failure is not None:
            return RunState.FAILED, Health.NONE, None, failure
        # The container may pass its probe a moment before Swarm marks the task running
        # and publishes its port: until then it is starting, unless it fails.
        local = _local_health(newest, local_status)
        health = Health.UNHEALTHY if local is Health.UNHEALTHY else Health.STARTING
        # Err says why a task waits (e.g. no node with enough memory); Message is noise.
        return RunState.RUNNING, health, None, str((newest.get("Status") or {}).get("Err") or "")
    failure = _failure(newest)
    if failure is not None and UNHEALTHY_MARKER in failure:
        return RunState.RUNNING, Health.UNHEALTHY, None, failure
    if failure is not None:
        return RunState.FAILED, Health.NONE, None, failure
    return RunState.STOPPED, Health.NONE, None, task_error(newest)


def _failure(task: Json) -> str | None:
    return task_error(task) if task_state(task) in FAILED else None


def _local_health(task: Json, local_status: Mapping[str, str]) -> Health | None:
    """The container's own health, when it runs on this node."""
    container = task_container(task)
    if container is None or container not in local_status:
        return None
    return health_from_status_text(local_status[container])
