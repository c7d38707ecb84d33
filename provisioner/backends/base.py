"""What every backend does: run one customer's workload and report what it sees.

A *workload* is one revision of an instance: a container on the Docker engine, a
service on Swarm. Replacing an instance (an update, a plan change that cannot be
applied live) creates the next revision beside the old one, so the old one keeps
serving until the new one is healthy. Backends are synchronous (the docker SDK is);
callers run them in a thread.
"""

from __future__ import annotations

import enum
import io
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from provisioner.backends.volume_archive import VolumeArchive

LABEL_PREFIX = "dockyard."
MANAGED_LABEL = "dockyard.managed"
INSTANCE_LABEL = "dockyard.instance"
CUSTOMER_LABEL = "dockyard.customer"
REVISION_LABEL = "dockyard.revision"
PLAN_LABEL = "dockyard.plan"
# The name the reverse proxy serves it at (for people reading `docker ps`; the proxy's
# routes come from the database, provisioner.proxy).
HOSTNAME_LABEL = "dockyard.hostname"
# Several Dockyard deployments (staging and production, or parallel test runs) may share
# an engine: each one lists, repairs and removes only the workloads of its namespace.
NAMESPACE_LABEL = "dockyard.namespace"


def managed_filter(namespace: str, instance_id: str | None = None) -> list[str]:
    """The label filter that selects one deployment's workloads (or one instance's)."""
    labels = [f"{MANAGED_LABEL}=true", f"{NAMESPACE_LABEL}={namespace}"]
    return labels if instance_id is None else [*labels, f"{INSTANCE_LABEL}={instance_id}"]


class Health(enum.StrEnum):
    NONE = "none"  # no health check defined
    STARTING = "starting"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"


class RunState(enum.StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"  # created or exited: exists but does not run
    FAILED = "failed"  # died on its own (non-zero exit, OOM, task rejected)


@dataclass(frozen=True, slots=True)
class VolumeMount:
    name: str  # the plan's volume name; backends derive the engine volume name from it
    path: str


@dataclass(frozen=True, slots=True)
class WorkloadSpec:
    """Everything a backend needs to run one revision of an instance."""

    instance_id: str
    customer_ref: str
    revision: int
    image: str  # full reference, e.g. "dockyard-demo:2"
    port: int  # container port, published on the host at ``host_port``
    health_path: str | None  # HTTP path probed inside the container; None: no check
    cpu_millis: int
    memory_mb: int
    max_processes: int
    environment: tuple[tuple[str, str], ...] = ()
    volumes: tuple[VolumeMount, ...] = ()
    hostname: str = ""  # <instance>.<base domain>, for the reverse proxy's routing labels
    plan: str = ""  # "<plan id>@<version>", a label for operators
    extra_labels: tuple[tuple[str, str], ...] = field(default=())
    # The instance's own host port, the same at every start (its address); None: one
    # the engine picks (a revision under test beside the one serving, before it takes over).
    host_port: int | None = None


@dataclass(frozen=True, slots=True)
class Workload:
    """A workload as the engine reports it."""

    id: str  # container id or service id
    name: str
    instance_id: str
    customer_ref: str
    revision: int
    image: str
    state: RunState
    health: Health
    host_port: int | None  # where 127.0.0.1 reaches it, when running
    created_at: str  # engine timestamp (RFC 3339), for orphan grace periods
    detail: str = ""  # why it stopped or failed, as the engine says
    # The node its port is published on, when that is not the engine's host (a task on
    # another node of a swarm); None: DOCKYARD_PUBLISH_ADDRESS reaches it.
    host_address: str | None = None

    @property
    def serving(self) -> bool:
        return self.state is RunState.RUNNING and self.health in (Health.HEALTHY, Health.NONE)


@dataclass(frozen=True, slots=True)
class Usage:
    cpu_percent: float
    memory_bytes: int
    memory_limit_bytes: int
    processes: int


@dataclass(frozen=True, slots=True)
class ExecStream:
    """A process started in a workload's container, its stdin and output on ``sock``.

    With a terminal the socket carries the terminal's bytes as they are; without one the
    engine multiplexes stdout and stderr in frames (see ``portal.ssh`` for the reading).
    """

    exec_id: str
    sock: socket.socket
    tty: bool
    # The SDK's file object around ``sock``: the socket is really closed once both are.
    attachment: io.RawIOBase | None = None

    def close(self) -> None:
        if self.attachment is not None:
            self.attachment.close()
        self.sock.close()


class Backend(Protocol):
    name: str
    volume_archive: VolumeArchive  # the instance's volumes as a tar, out and back in

    def ping(self) -> None:
        """Raise EngineUnavailable unless the engine answers."""

    def list_workloads(self, instance_id: str | None = None) -> list[Workload]:
        """Every Dockyard workload on the engine (or one instance's), in one label-filtered
        listing: the engine filters, so one instance's costs the same however large the
        fleet."""

    def create(self, spec: WorkloadSpec) -> Workload:
        """Create and start a revision: network, volumes, limits, labels, published port.

        Idempotent: if this revision already exists it is started and returned.
        """

    def inspect(self, workload_id: str) -> Workload | None:
        """The workload now, or None if it is gone."""

    def start(self, workload_id: str) -> Workload: ...

    def stop(self, workload_id: str) -> None: ...

    def restart(self, workload_id: str) -> Workload: ...

    def remove(self, workload_id: str) -> None:
        """Stop and remove the workload; its volumes stay. Gone already is fine."""

    def update_limits(self, workload_id: str, spec: WorkloadSpec) -> bool:
        """Apply the spec's CPU, memory and process limits in place.

        Returns False when the engine cannot change them live; the caller then replaces
        the workload with a new revision.
        """

    def remove_volumes(self, instance_id: str) -> int:
        """Delete the instance's data volumes (purge). Returns how many were removed."""

    def prepare_network(self, customer_ref: str) -> None:
        """Make the customer's network now if it is missing, ahead of their first workload
        (the engine makes networks one at a time, a second or more each)."""

    def remove_network(self, customer_ref: str) -> None:
        """Delete the customer's network once none of their workloads uses it."""

    def logs(self, workload_id: str, tail: int = 100) -> str: ...

    def usage(self, workload_id: str) -> Usage: ...

    def exec(
        self,
        workload_id: str,
        command: list[str],
        *,
        tty: bool,
        size: tuple[int, int] | None,
        environment: dict[str, str],
    ) -> ExecStream:
        """Start ``command`` in the workload's running container, stdin attached (with a
        terminal of ``size``, columns and rows, when ``tty``)."""

    def resize_exec(self, exec_id: str, columns: int, rows: int) -> None: ...

    def exec_exit_code(self, exec_id: str) -> int | None:
        """The exit status of a process ``exec`` started; None while it runs."""

    def hang_up(self, exec_id: str) -> int:
        """SIGHUP to the exec's process session (its client went away); how many."""

    def volume_path(self, instance_id: str, volume: str) -> str:
        """Where the instance's named volume lives on this host (its mountpoint)."""
