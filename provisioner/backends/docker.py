"""The Docker engine backend: each revision of an instance is one container.

Isolation and hardening, per container: the customer's own bridge network (Docker keeps
bridge networks apart, so customers cannot reach each other), CPU, memory (no swap) and
process limits, every capability dropped, ``no-new-privileges``, an init process as PID 1
(busybox and many servers ignore SIGTERM as PID 1), named volumes only (never a bind
mount, so never the Docker socket), and the port published on
``settings.publish_address`` at the instance's own host port (``spec.host_port``), or
at one the engine picks for a revision being tried beside the serving one.

Restarts belong to the reconciler, not to an engine restart policy: it backs off and
records each failure, where a restart policy would hide a crash loop from it.

The SDK's low-level API is used throughout: its high-level models inspect every container
they list, and a listing must stay one API call however many instances there are.
"""

from __future__ import annotations

from typing import Any

import docker
import docker.errors
import docker.types

from provisioner.backends.access import WorkloadAccess
from provisioner.backends.base import (
    RunState,
    Usage,
    VolumeMount,
    Workload,
    WorkloadSpec,
    managed_filter,
)
from provisioner.backends.docker_state import from_inspect, from_summary
from provisioner.backends.engine_errors import HTTP_CONFLICT, EngineErrors, explanation, gone
from provisioner.backends.engine_terms import (
    LOG_CONFIG,
    NO_HEALTHCHECK,
    Json,
    added_capabilities,
    environment,
    memory_bytes,
    nano_cpus,
    published,
    volume_labels,
    volume_name,
    workload_labels,
    workload_name,
)
from provisioner.backends.networks import ensure_network, remove_network
from provisioner.backends.usage import usage_from_stats
from provisioner.backends.volume_archive import VolumeArchive
from provisioner.backends.volumes import remove_instance_volumes
from provisioner.errors import WorkloadFailed
from provisioner.settings import ProvisionerSettings

FAILURE_LOG_LINES = 20
NETWORK_DRIVER = "bridge"


class DockerBackend(WorkloadAccess):
    name = "docker"

    def __init__(self, client: docker.DockerClient, settings: ProvisionerSettings) -> None:
        self._api: Any = client.api
        self._settings = settings
        self._errors = EngineErrors(settings.docker_url)
        self.volume_archive = VolumeArchive(self._api, self._errors, settings.namespace)

    def ping(self) -> None:
        with self._errors.translated("checking the engine"):
            self._api.ping()

    def list_workloads(self, instance_id: str | None = None) -> list[Workload]:
        managed = managed_filter(self._settings.namespace, instance_id)
        with self._errors.translated("listing workloads"):
            summaries: list[Json] = self._api.containers(all=True, filters={"label": managed})
        return [from_summary(summary) for summary in summaries]

    def create(self, spec: WorkloadSpec) -> Workload:
        subject = f"instance {spec.instance_id}"
        with self._errors.translated(subject, image=spec.image):
            network = ensure_network(
                self._api, spec.customer_ref, self._settings.namespace, driver=NETWORK_DRIVER
            )
            for volume in spec.volumes:
                self._api.create_volume(
                    volume_name(spec.instance_id, volume.name),
                    labels=volume_labels(spec, self._settings.namespace),
                )
            try:
                created: Json = self._api.create_container(
                    spec.image,
                    name=workload_name(spec),
                    labels=workload_labels(spec, self._settings.namespace),
                    environment=environment(spec),
                    ports=[spec.port],
                    healthcheck=NO_HEALTHCHECK,
                    host_config=self._host_config(spec),
                    networking_config=self._api.create_networking_config(
                        {network: self._api.create_endpoint_config()}
                    ),
                )
                container_id: str = created["Id"]
            except docker.errors.APIError as error:
                if error.status_code != HTTP_CONFLICT:
                    raise
                # The name is taken: this revision exists already (a retried create).
                container_id = workload_name(spec)
            self._api.start(container_id)
            return self._started(subject, container_id)

    def inspect(self, workload_id: str) -> Workload | None:
        with self._errors.translated(f"workload {workload_id}"):
            try:
                data: Json = self._api.inspect_container(workload_id)
            except docker.errors.NotFound:
                return None
        return from_inspect(data)

    def start(self, workload_id: str) -> Workload:
        subject = f"workload {workload_id}"
        with self._errors.translated(subject):
            self._existing(workload_id, self._api.start)
            return self._started(subject, workload_id)

    def stop(self, workload_id: str) -> None:
        with self._errors.translated(f"workload {workload_id}"):
            try:
                self._api.stop(workload_id, timeout=self._settings.stop_timeout_seconds)
            except docker.errors.NotFound:
                return  # gone is stopped

    def restart(self, workload_id: str) -> Workload:
        subject = f"workload {workload_id}"
        with self._errors.translated(subject):
            self._existing(
                workload_id, self._api.restart, timeout=self._settings.stop_timeout_seconds
            )
            return self._started(subject, workload_id)

    def remove(self, workload_id: str) -> None:
        with self._errors.translated(f"workload {workload_id}"):
            try:
                # A graceful stop first (quick, thanks to init), so that requests in flight
                # finish; then the removal, which keeps the named volumes (v=False).
                self._api.stop(workload_id, timeout=self._settings.stop_timeout_seconds)
                self._api.remove_container(workload_id, force=True, v=False)
            except docker.errors.NotFound:
                return
            except docker.errors.APIError as error:
                # Someone else is removing it (a rollout drops the revision it replaced
                # while the worker cleans up the same leftover): it is going; fine.
                if error.status_code == HTTP_CONFLICT and "already in progress" in explanation(
                    error
                ):
                    return
                raise

    def update_limits(self, workload_id: str, spec: WorkloadSpec) -> bool:
        """CPU, memory and process limits, changed in the running container.

        The SDK's ``update_container`` knows neither NanoCpus (the container was created
        with them, and the engine refuses a CPU quota beside them) nor PidsLimit, so the
        endpoint is called directly. An engine that refuses (e.g. memory below what the
        container uses now) makes this return False: the caller replaces the revision.
        """
        body = {
            "NanoCpus": nano_cpus(spec),
            "Memory": memory_bytes(spec),
            "MemorySwap": memory_bytes(spec),
            "PidsLimit": spec.max_processes,
        }
        subject = f"workload {workload_id}"
        with self._errors.translated(subject):
            try:
                url = self._api._url("/containers/{0}/update", workload_id)
                self._api._result(self._api._post_json(url, data=body), True)
            except docker.errors.NotFound as error:
                raise gone(workload_id) from error
            except docker.errors.APIError:
                return False
        return True

    def remove_volumes(self, instance_id: str) -> int:
        with self._errors.translated(f"instance {instance_id}"):
            return remove_instance_volumes(self._api, instance_id)

    def prepare_network(self, customer_ref: str) -> None:
        with self._errors.translated(f"customer {customer_ref}"):
            ensure_network(self._api, customer_ref, self._settings.namespace, driver=NETWORK_DRIVER)

    def remove_network(self, customer_ref: str) -> None:
        with self._errors.translated(f"customer {customer_ref}"):
            remove_network(self._api, customer_ref)

    def logs(self, workload_id: str, tail: int = 100) -> str:
        subject = f"workload {workload_id}"
        with self._errors.translated(subject):
            raw: bytes = self._existing(
                workload_id, self._api.logs, stdout=True, stderr=True, tail=tail
            )
        return raw.decode("utf-8", errors="replace")

    def usage(self, workload_id: str) -> Usage:
        """One stats sample; the engine takes about a second to measure CPU use."""
        with self._errors.translated(f"workload {workload_id}"):
            stats: Json = self._existing(workload_id, self._api.stats, stream=False)
        return usage_from_stats(stats)

    def _host_config(self, spec: WorkloadSpec) -> Any:
        capabilities = added_capabilities(spec)
        return self._api.create_host_config(
            nano_cpus=nano_cpus(spec),
            mem_limit=memory_bytes(spec),
            memswap_limit=memory_bytes(spec),  # equal to the memory limit: no swap
            pids_limit=spec.max_processes,
            cap_drop=["ALL"],
            cap_add=capabilities or None,
            security_opt=["no-new-privileges"],
            init=True,
            port_bindings={spec.port: published(self._settings.publish_address, spec.host_port)},
            mounts=[self._mount(spec, volume) for volume in spec.volumes],
            log_config=LOG_CONFIG,
        )

    def _mount(self, spec: WorkloadSpec, volume: VolumeMount) -> Any:
        return docker.types.Mount(
            target=volume.path, source=volume_name(spec.instance_id, volume.name), type="volume"
        )

    def _started(self, subject: str, container_id: str) -> Workload:
        """The workload after a start; a container that is not running has crashed."""
        data: Json = self._api.inspect_container(container_id)
        workload = from_inspect(data)
        if workload.state is not RunState.RUNNING:
            tail = self._api.logs(container_id, stdout=True, stderr=True, tail=FAILURE_LOG_LINES)
            lines = tail.decode("utf-8", errors="replace").strip() or "(no output)"
            raise WorkloadFailed(
                f"{subject} ({workload.name}) stopped right after it started "
                f"({workload.detail or 'exit status unknown'}); fix the image or the plan, "
                f"then retry. Last log lines:\n{lines}"
            )
        return workload

    def _existing(self, workload_id: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return call(workload_id, *args, **kwargs)
        except docker.errors.NotFound as error:
            raise gone(workload_id) from error
