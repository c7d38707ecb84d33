"""The Docker Swarm backend: each revision of an instance is a replicated service (1 task).

The service carries the same names, labels and limits as a container of the Docker
backend, and no engine health check (see engine_terms), plus what Swarm adds: CPU and
memory reserved on the node it is placed on, a restart policy (Swarm, not the reconciler,
restarts a task that dies, on whichever node can take it), placement constraints and
spread preferences, and an update policy (start-first, rolled back by the engine on
failure) for the changes it applies itself: new limits and restarts.

Where API 1.41 (Docker 20.10) falls short of the Docker backend:

- ``no-new-privileges`` cannot be set on a service: ContainerSpec.Privileges gained it
  only in API 1.44 (moby/moby#46386). Start the engines with ``--no-new-privileges``
  (daemon.json ``"no-new-privileges": true``) to have it for every container.
- Swap cannot be switched off per service (``SwapBytes`` arrived in API 1.52,
  moby/moby#51114): a task may use as much swap as its memory limit, if the node has swap.
- Ports are published in ``host`` mode (the ingress routing mesh needs IPVS, which not
  every host has, and would publish on every node): on the node running the task, at the
  instance's own port (or one the engine picks for a revision on trial), bound on all of
  its addresses. ``settings.publish_address`` cannot narrow that; firewall the nodes'
  ports (``DOCKYARD_PORT_RANGE`` and the ephemeral range).
- The port is known only once the task runs: ``create`` and ``start`` return a workload
  that may still be starting, without a port; ``inspect`` shows it once it runs.
- Volumes are local to the node the task runs on, created there on first use (labelled
  through the mount's volume options). ``remove_volumes`` removes them on the manager's
  node; on a multi-node swarm pin data-bearing plans with a placement constraint.
- ``create`` looks for the image on the manager (so that a missing image is an
  ImageNotFound at once, not a task failing on and on); on a multi-node swarm every node
  that may run the service needs the image too.
- Stopping or removing takes about 3 s longer than on the Docker backend: the engine
  waits 2 s (fixed) for the cluster's gossip to forget a task before stopping it.

Engine calls: ``list_workloads`` and ``inspect`` make three however many services there
are (services, tasks, this node's task containers for health; one if none); waits poll 0.1 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import docker
import docker.errors

from provisioner.backends.access import WorkloadAccess
from provisioner.backends.base import Usage, Workload, WorkloadSpec, managed_filter
from provisioner.backends.engine_errors import HTTP_CONFLICT, EngineErrors, explanation, gone
from provisioner.backends.engine_terms import Json, workload_labels, workload_name
from provisioner.backends.networks import OVERLAY, ensure_network, remove_network
from provisioner.backends.swarm_nodes import NodeAddresses
from provisioner.backends.swarm_spec import (
    endpoint_spec,
    placement,
    resources,
    task_template,
    update_config,
)
from provisioner.backends.swarm_state import (
    FAILED,
    by_age,
    from_service,
    replicas,
    task_container,
    task_error,
    task_state,
)
from provisioner.backends.usage import usage_from_stats
from provisioner.backends.volume_archive import VolumeArchive
from provisioner.backends.volumes import remove_instance_volumes
from provisioner.errors import BackendError, EngineUnavailable, PortConflict, WorkloadFailed
from provisioner.settings import ProvisionerSettings

SERVICE_LABEL = "com.docker.swarm.service.id"  # the engine's label on task containers
POLL_SECONDS = 0.1
# Swarm waits this long before stopping a task with network attachments (not tunable).
GOSSIP_DELAY_SECONDS = 2
UPDATE_RETRIES = 3
FAILURE_LOG_LINES = 20
ACTIVE = frozenset({"starting", "running"})  # task states with a live container


class SwarmBackend(WorkloadAccess):
    name = "swarm"

    def __init__(
        self,
        client: docker.DockerClient,
        settings: ProvisionerSettings,
        *,
        constraints: Sequence[str] = (),
        spread: Sequence[str] = (),
    ) -> None:
        """``constraints`` (e.g. ``node.labels.dockyard==yes``) and ``spread`` descriptors
        (e.g. ``node.labels.zone``) go into every service's placement."""
        self._api: Any = client.api
        self._settings = settings
        self._errors = EngineErrors(settings.docker_url)
        self._placement = placement(constraints, spread)
        self.volume_archive = VolumeArchive(self._api, self._errors, settings.namespace)
        self._nodes = NodeAddresses(self._api)

    def ping(self) -> None:
        with self._errors.translated("checking the Swarm manager"):
            info: Json = self._api.info()
        swarm: Json = info.get("Swarm") or {}
        if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
            raise EngineUnavailable(
                f"{self._errors.engine} is not a Swarm manager (swarm state "
                f"{swarm.get('LocalNodeState', 'unknown')!r}); run `docker swarm init` there, "
                "point DOCKYARD_DOCKER_URL at a manager, or set DOCKYARD_BACKEND=docker"
            )

    def list_workloads(self, instance_id: str | None = None) -> list[Workload]:
        managed = {"label": managed_filter(self._settings.namespace, instance_id)}
        with self._errors.translated("listing workloads"):
            services: list[Json] = self._api.services(filters=managed)
            # The label filter on tasks matches their service's labels: one call for all.
            tasks: list[Json] = self._api.tasks(filters=managed) if services else []
            local: dict[str, str] = {}
            if services and instance_id is None:
                local = self._local_containers(None)
            elif services:  # one instance: its revisions' containers only
                for service in services:
                    local |= self._local_containers(service["ID"])
        by_service: dict[str, list[Json]] = {}
        for task in tasks:
            by_service.setdefault(task.get("ServiceID", ""), []).append(task)
        tasks_of, address = by_service.get, self._nodes.address
        return [from_service(s, tasks_of(s["ID"], []), local, address) for s in services]

    def create(self, spec: WorkloadSpec) -> Workload:
        subject = f"instance {spec.instance_id}"
        with self._errors.translated(subject, image=spec.image):
            # Swarm would accept the service and fail each task; say so at once instead.
            # (Checked on the manager: on a larger swarm every node needs the image.)
            self._api.inspect_image(spec.image)
            network = ensure_network(
                self._api, spec.customer_ref, self._settings.namespace, **OVERLAY
            )
            try:
                created: Json = self._api.create_service(
                    task_template(spec, network, self._settings, self._placement),
                    name=workload_name(spec),
                    labels=workload_labels(spec, self._settings.namespace),
                    mode={"Replicated": {"Replicas": 1}},
                    update_config=update_config(spec, failure_action="rollback"),
                    rollback_config=update_config(spec, failure_action="pause"),
                    endpoint_spec=endpoint_spec(spec),
                )
                service_id: str = created["ID"]
            except docker.errors.APIError as error:
                if error.status_code != HTTP_CONFLICT:
                    raise
                # The name is taken: this revision exists already (a retried create).
                service_id = self._api.inspect_service(workload_name(spec))["ID"]
                return self._scaled(subject, service_id, 1)
            return self._started(subject, service_id, seen=frozenset())

    def inspect(self, workload_id: str) -> Workload | None:
        with self._errors.translated(f"workload {workload_id}"):
            try:
                service: Json = self._api.inspect_service(workload_id)
                tasks: list[Json] = self._api.tasks(filters={"service": service["ID"]})
            except docker.errors.NotFound:
                return None
            local = self._local_containers(service["ID"])
        return from_service(service, tasks, local, self._nodes.address)

    def start(self, workload_id: str) -> Workload:
        """Scale to one task and wait until it starts (not until it is healthy)."""
        subject = f"workload {workload_id}"
        with self._errors.translated(subject):
            return self._scaled(subject, workload_id, 1)

    def stop(self, workload_id: str) -> None:
        subject = f"workload {workload_id}"
        with self._errors.translated(subject):
            try:
                self._update(workload_id, _set_replicas(0))
            except docker.errors.NotFound:
                return
            self._wait(
                subject,
                "to stop",
                lambda: not [t for t in self._tasks(workload_id) if task_state(t) in ACTIVE],
                self._stop_timeout(),
            )

    def restart(self, workload_id: str) -> Workload:
        """A rolling restart: a new task starts, then the old one stops.

        A stopped (scaled to 0) workload is started, as ``docker restart`` would."""
        subject = f"workload {workload_id}"
        with self._errors.translated(subject):
            service: Json = self._existing(workload_id, self._api.inspect_service)
            if replicas(service) == 0:
                return self._scaled(subject, service["ID"], 1)
            seen = frozenset(task["ID"] for task in self._tasks(service["ID"]))
            self._update(service["ID"], _force_update)
            return self._started(subject, service["ID"], seen=seen)

    def remove(self, workload_id: str) -> None:
        """Remove the service and wait until its containers on this node are gone."""
        subject = f"workload {workload_id}"
        with self._errors.translated(subject):
            try:
                service_id: str = self._api.inspect_service(workload_id)["ID"]
                self._api.remove_service(service_id)
            except docker.errors.NotFound:
                return
            self._wait(
                subject,
                "to be removed",
                lambda: (
                    not self._api.containers(
                        all=True, filters={"label": f"{SERVICE_LABEL}={service_id}"}
                    )
                ),
                self._stop_timeout() + GOSSIP_DELAY_SECONDS,
            )

    def update_limits(self, workload_id: str, spec: WorkloadSpec) -> bool:
        """New limits in the service spec; Swarm rolls the task to apply them.

        The rollout is the engine's, start-first: the old task serves until the new one
        runs, and one that fails makes the engine roll back (``inspect`` tells why in
        ``detail``). A service with its own host port stops the old task first.
        """

        def limits(service_spec: Json) -> None:
            service_spec["TaskTemplate"]["Resources"] = resources(spec)

        with self._errors.translated(f"workload {workload_id}"):
            self._update(workload_id, limits)
        return True

    def remove_volumes(self, instance_id: str) -> int:
        with self._errors.translated(f"instance {instance_id}"):
            return remove_instance_volumes(self._api, instance_id)

    def prepare_network(self, customer_ref: str) -> None:
        with self._errors.translated(f"customer {customer_ref}"):
            ensure_network(self._api, customer_ref, self._settings.namespace, **OVERLAY)

    def remove_network(self, customer_ref: str) -> None:
        with self._errors.translated(f"customer {customer_ref}"):
            remove_network(self._api, customer_ref)

    def logs(self, workload_id: str, tail: int = 100) -> str:
        """The service's logs: every task's, oldest first, as the engine collects them."""
        with self._errors.translated(f"workload {workload_id}"):
            chunks = self._existing(
                workload_id, self._api.service_logs, stdout=True, stderr=True, tail=tail
            )
            raw = b"".join(chunks)
        return raw.decode("utf-8", errors="replace")

    def usage(self, workload_id: str) -> Usage:
        """The running task's stats, when it runs on this node; zeros when none runs."""
        subject = f"workload {workload_id}"
        with self._errors.translated(subject):
            running = [task for task in self._tasks(workload_id) if task_state(task) == "running"]
            if not running:
                return Usage(0.0, 0, 0, 0)
            container = task_container(running[-1])
            local = self._local_containers(None)
            if container is None or container not in local:
                raise BackendError(
                    f"{subject} runs on another node; ask that node's engine for its usage"
                )
            stats: Json = self._api.stats(container, stream=False)
        return usage_from_stats(stats)

    def _scaled(self, subject: str, workload_id: str, count: int) -> Workload:
        service: Json = self._existing(workload_id, self._api.inspect_service)
        seen: frozenset[str] = frozenset()
        if replicas(service) != count:
            seen = frozenset(task["ID"] for task in self._tasks(service["ID"]))
            self._update(service["ID"], _set_replicas(count))
        return self._started(subject, service["ID"], seen=seen)

    def _started(self, subject: str, service_id: str, *, seen: frozenset[str]) -> Workload:
        """Wait until a task not in ``seen`` starts (or runs); raise if it cannot.

        Not until it is healthy: the caller gates on health, as on the Docker backend.
        """
        deadline = time.monotonic() + self._settings.health_timeout_seconds
        # An instance's own port is busy for a moment after its previous task stopped
        # (a restart or a swap stops the old task first): that conflict passes.
        port_grace = time.monotonic() + self._stop_timeout()
        while True:
            fresh = by_age([t for t in self._tasks(service_id) if t["ID"] not in seen])
            if fresh:
                newest = fresh[-1]
                state = task_state(newest)
                if state in ACTIVE:
                    found = self.inspect(service_id)
                    if found is not None:
                        return found
                if state in FAILED:
                    raise self._start_failure(subject, service_id, task_error(newest))
                if state == "pending" and (newest.get("Status") or {}).get("Err"):
                    error = task_error(newest)
                    if not (_port_busy(error) and time.monotonic() < port_grace):
                        raise self._placement_failure(subject, error)
            if time.monotonic() > deadline:
                raise WorkloadFailed(
                    f"{subject}: no task started within "
                    f"{self._settings.health_timeout_seconds:.0f} s; see `docker service ps "
                    f"{service_id}` and the engine's log"
                )
            time.sleep(POLL_SECONDS)

    def _start_failure(self, subject: str, service_id: str, error: str) -> BackendError:
        if "No such image" in error:
            image = error.rsplit("No such image:", 1)[-1].strip()
            return self._errors.image_missing(subject, image)
        lines = self.logs(service_id, FAILURE_LOG_LINES).strip() or "(no output)"
        return WorkloadFailed(
            f"{subject}: its task failed right after it started ({error}); fix the image or "
            f"the plan, then retry. Last log lines:\n{lines}"
        )

    def _placement_failure(self, subject: str, error: str) -> BackendError:
        if _port_busy(error):
            return PortConflict(
                f"{subject}: no node has the port free ({error}); free it or retry later"
            )
        return WorkloadFailed(
            f"{subject}: Swarm cannot place it ({error}); add capacity or relax the "
            "placement constraints"
        )

    def _update(self, workload_id: str, change: Callable[[Json], None]) -> None:
        """Read-modify-write of the service spec, retried when someone else wrote first."""
        for attempt in range(UPDATE_RETRIES):
            service: Json = self._api.inspect_service(workload_id)
            spec: Json = service["Spec"]
            change(spec)
            try:
                self._api.update_service(
                    service["ID"],
                    service["Version"]["Index"],
                    task_template=spec["TaskTemplate"],
                    name=spec["Name"],
                    labels=spec.get("Labels"),
                    mode=spec.get("Mode"),
                    update_config=spec.get("UpdateConfig"),
                    rollback_config=spec.get("RollbackConfig"),
                    endpoint_spec=spec.get("EndpointSpec"),
                )
                return
            except docker.errors.APIError as error:
                # The engine bumps the version itself while it rolls tasks.
                if "out of sequence" not in explanation(error) or attempt == UPDATE_RETRIES - 1:
                    raise

    def _tasks(self, service_id: str) -> list[Json]:
        tasks: list[Json] = self._api.tasks(filters={"service": service_id})
        return tasks

    def _local_containers(self, service_id: str | None) -> dict[str, str]:
        """This node's task containers (of one service, or all): id -> listing Status."""
        label = SERVICE_LABEL if service_id is None else f"{SERVICE_LABEL}={service_id}"
        found: list[Json] = self._api.containers(filters={"label": label})
        return {container["Id"]: container.get("Status", "") for container in found}

    def _stop_timeout(self) -> float:
        return self._settings.stop_timeout_seconds + GOSSIP_DELAY_SECONDS + 10

    def _wait(self, subject: str, what: str, done: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise BackendError(f"{subject}: still waiting {what} after {timeout:.0f} s")
            time.sleep(POLL_SECONDS)

    def _existing(self, workload_id: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return call(workload_id, *args, **kwargs)
        except docker.errors.NotFound as error:
            raise gone(workload_id) from error


def _set_replicas(count: int) -> Callable[[Json], None]:
    def change(spec: Json) -> None:
        spec["Mode"] = {"Replicated": {"Replicas": count}}

    return change


def _force_update(spec: Json) -> None:
    template: Json = spec["TaskTemplate"]
    template["ForceUpdate"] = int(template.get("ForceUpdate") or 0) + 1


def _port_busy(task_error: str) -> bool:
    return "port" in task_error
