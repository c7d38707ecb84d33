"""What a WorkloadSpec means in Docker's terms, shared by the Docker and Swarm backends.

Names, labels, limits and the health check are derived here once, so a container and a
Swarm service built from the same spec look alike to operators, to the reverse proxy and
to the contract tests.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from provisioner.backends.base import (
    CUSTOMER_LABEL,
    HOSTNAME_LABEL,
    INSTANCE_LABEL,
    MANAGED_LABEL,
    NAMESPACE_LABEL,
    PLAN_LABEL,
    REVISION_LABEL,
    WorkloadSpec,
)

# Engine JSON (inspect and list answers), as the untyped SDK returns it.
Json = dict[str, Any]

NANO = 1_000_000_000
MIB = 1024 * 1024
PRIVILEGED_PORTS = 1024

# The engine's health check is switched off, a HEALTHCHECK the image may declare
# included: Dockyard probes from outside (provisioner.health), at a twentieth of the
# CPU of a process started inside every container at every interval.
NO_HEALTHCHECK: Json = {"Test": ["NONE"]}

# Container logs are what `dockyard instances logs` shows; rotating them keeps a chatty
# application (or its access log of health probes) from filling the engine's disk.
LOG_CONFIG: Json = {"type": "json-file", "config": {"max-size": "10m", "max-file": "3"}}

_ENGINE_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$")


def workload_name(spec: WorkloadSpec) -> str:
    """Container or service name: one per revision, so the next one can start beside it."""
    return f"dockyard-{spec.instance_id}-r{spec.revision}"


def network_name(customer_ref: str) -> str:
    return f"dockyard-{customer_ref}"


def volume_name(instance_id: str, volume: str) -> str:
    # Per instance, not per revision: the data outlives updates.
    return f"dockyard-{instance_id}-{volume}"


def network_labels(customer_ref: str, namespace: str) -> dict[str, str]:
    # The namespace that made it: a customer's id is its deployment's alone, so this is
    # the deployment whose clean-up (by namespace) the network belongs to.
    return {MANAGED_LABEL: "true", NAMESPACE_LABEL: namespace, CUSTOMER_LABEL: customer_ref}


def volume_labels(spec: WorkloadSpec, namespace: str) -> dict[str, str]:
    """The namespace too: a deployment's clean-up by namespace takes its data with it."""
    return {
        MANAGED_LABEL: "true",
        NAMESPACE_LABEL: namespace,
        INSTANCE_LABEL: spec.instance_id,
        CUSTOMER_LABEL: spec.customer_ref,
    }


def workload_labels(spec: WorkloadSpec, namespace: str) -> dict[str, str]:
    """Dockyard's own labels and the spec's extra labels."""
    labels = {
        **dict(spec.extra_labels),
        MANAGED_LABEL: "true",
        NAMESPACE_LABEL: namespace,
        INSTANCE_LABEL: spec.instance_id,
        CUSTOMER_LABEL: spec.customer_ref,
        REVISION_LABEL: str(spec.revision),
        PLAN_LABEL: spec.plan,
    }
    if spec.hostname:
        labels[HOSTNAME_LABEL] = spec.hostname
    return labels


def nano_cpus(spec: WorkloadSpec) -> int:
    return spec.cpu_millis * (NANO // 1000)


def memory_bytes(spec: WorkloadSpec) -> int:
    return spec.memory_mb * MIB


def added_capabilities(spec: WorkloadSpec) -> list[str]:
    """Every capability is dropped; binding a port below 1024 needs this one back."""
    return ["NET_BIND_SERVICE"] if spec.port < PRIVILEGED_PORTS else []


def environment(spec: WorkloadSpec) -> list[str]:
    return [f"{key}={value}" for key, value in spec.environment]


def engine_time(value: str | int | float) -> str:
    """An engine timestamp as RFC 3339 in UTC to the second, whatever form it came in.

    Listings give Unix seconds, inspections RFC 3339 with nanoseconds: both become e.g.
    ``2026-11-21T20:46:24+00:00``, so a workload reads the same from either.
    """
    if isinstance(value, int | float):
        moment = datetime.fromtimestamp(value, UTC)
    else:
        moment = engine_moment(value)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def engine_moment(value: str) -> datetime:
    """An RFC 3339 engine timestamp, to the microsecond (Python's parser takes no more)."""
    match = _ENGINE_TIME.match(value)
    if match is None:
        raise ValueError(f"unreadable engine timestamp {value!r}")
    base, fraction, zone = match.groups()
    micro = (fraction or "0")[:6].ljust(6, "0")
    return datetime.fromisoformat(f"{base}.{micro}{'+00:00' if zone == 'Z' else zone}")


def published(address: str, host_port: int | None) -> tuple[str] | tuple[str, int]:
    """Docker's port binding: the instance's own host port, or one the engine picks.

    The engine picks anew at every start, so only an explicit port survives a resume."""
    return (address,) if host_port is None else (address, host_port)
