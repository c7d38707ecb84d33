"""A WorkloadSpec as a Swarm service spec (the JSON of API 1.41), and nothing else.

The container part matches the Docker backend's (see engine_terms); what Swarm adds is
here: reservations, the restart policy, placement, the update policy and the endpoint.
The SDK's typed helpers are not used because its Resources type has no process limit
(``Pids``, new in API 1.41); plain JSON keeps every field in view.
"""

from __future__ import annotations

from collections.abc import Sequence

from provisioner.backends.base import VolumeMount, WorkloadSpec
from provisioner.backends.engine_terms import (
    LOG_CONFIG,
    NANO,
    NO_HEALTHCHECK,
    Json,
    added_capabilities,
    environment,
    memory_bytes,
    nano_cpus,
    volume_labels,
    volume_name,
)
from provisioner.settings import ProvisionerSettings

RESTART_DELAY_SECONDS = 5
UPDATE_MONITOR_SECONDS = 5


def task_template(
    spec: WorkloadSpec, network: str, settings: ProvisionerSettings, placed: Json
) -> Json:
    container: Json = {
        "Image": spec.image,
        "Env": environment(spec),
        "Mounts": [_mount(spec, volume, settings.namespace) for volume in spec.volumes],
        "Healthcheck": NO_HEALTHCHECK,
        "Init": True,
        "StopGracePeriod": settings.stop_timeout_seconds * NANO,
        "CapabilityDrop": ["ALL"],
    }
    if added_capabilities(spec):
        container["CapabilityAdd"] = added_capabilities(spec)
    return {
        "ContainerSpec": container,
        "Resources": resources(spec),
        # Swarm restarts a task that dies (on any node that can take it), after a pause
        # so that a crash loop does not spin.
        "RestartPolicy": {
            "Condition": "any",
            "Delay": RESTART_DELAY_SECONDS * NANO,
            "MaxAttempts": 0,
        },
        "Placement": placed,
        "Networks": [{"Target": network}],
        "LogDriver": {"Name": LOG_CONFIG["type"], "Options": LOG_CONFIG["config"]},
    }


def resources(spec: WorkloadSpec) -> Json:
    # Reservations equal limits: what a plan sells is guaranteed on the node it runs on.
    return {
        "Limits": {
            "NanoCPUs": nano_cpus(spec),
            "MemoryBytes": memory_bytes(spec),
            "Pids": spec.max_processes,
        },
        "Reservations": {"NanoCPUs": nano_cpus(spec), "MemoryBytes": memory_bytes(spec)},
    }


def placement(constraints: Sequence[str], spread: Sequence[str]) -> Json:
    """``constraints`` like ``node.labels.dockyard==yes``; ``spread`` descriptors like
    ``node.labels.zone`` (tasks spread evenly over that label's values)."""
    placed: Json = {}
    if constraints:
        placed["Constraints"] = list(constraints)
    if spread:
        placed["Preferences"] = [{"Spread": {"SpreadDescriptor": label}} for label in spread]
    return placed


def update_config(spec: WorkloadSpec, *, failure_action: str) -> Json:
    """Engine-side rollouts (new limits, restarts): one task at a time; a task that
    fails within the monitor window triggers ``failure_action``.

    The new task starts first, unless the service owns a fixed host port: two tasks
    cannot both publish it on one node, so the old one stops first."""
    return {
        "Parallelism": 1,
        "Delay": 0,
        "FailureAction": failure_action,
        "Monitor": UPDATE_MONITOR_SECONDS * NANO,
        "MaxFailureRatio": 0,
        "Order": "start-first" if spec.host_port is None else "stop-first",
    }


def endpoint_spec(spec: WorkloadSpec) -> Json:
    """The port in host mode, on the node of the task: the instance's own, or one the
    engine picks.

    ``dnsrr``: no virtual IP, which (like the ingress routing mesh) needs IPVS.
    """
    port: Json = {"Protocol": "tcp", "TargetPort": spec.port, "PublishMode": "host"}
    if spec.host_port is not None:
        port["PublishedPort"] = spec.host_port
    return {"Mode": "dnsrr", "Ports": [port]}


def _mount(spec: WorkloadSpec, volume: VolumeMount, namespace: str) -> Json:
    return {
        "Type": "volume",
        "Source": volume_name(spec.instance_id, volume.name),
        "Target": volume.path,
        # The engine creates the volume on the node the task lands on, with these.
        "VolumeOptions": {"Labels": volume_labels(spec, namespace)},
    }
