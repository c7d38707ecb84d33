"""Reaching inside a workload: a process run in its container, and its data volume's
directory on this host. What the portal's SSH gateway is built on.

Shared by both backends (a mixin): a Swarm service's task runs a container like any
other, found on this node by the engine's service label. Only this node's containers
and volumes can be reached: on a multi-node Swarm the gateway must run on the node the
instance is pinned to.
"""

from __future__ import annotations

import contextlib
import io
import socket
from typing import Any

import docker.errors

from provisioner.backends.base import ExecStream
from provisioner.backends.engine_errors import EngineErrors, gone
from provisioner.backends.engine_terms import Json, volume_name
from provisioner.backends.sessions import hang_up_session
from provisioner.errors import BackendError

SWARM_SERVICE_LABEL = "com.docker.swarm.service.id"


class WorkloadAccess:
    """``exec`` and ``volume_path`` for a backend that has ``_api`` and ``_errors``."""

    name: str
    _api: Any
    _errors: EngineErrors

    def exec(
        self,
        workload_id: str,
        command: list[str],
        *,
        tty: bool,
        size: tuple[int, int] | None,
        environment: dict[str, str],
    ) -> ExecStream:
        """Start ``command`` in the workload's container, stdin attached; ``size`` is the
        terminal's (columns, rows), ``environment`` added to the container's. Raises
        WorkloadFailed or BackendError if it has no running container."""
        with self._errors.translated(f"workload {workload_id}"):
            container = self._container(workload_id)
            try:
                created: Json = self._api.exec_create(
                    container,
                    command,
                    stdin=True,
                    tty=tty,
                    stdout=True,
                    stderr=True,
                    environment=environment or None,
                )
            except docker.errors.NotFound as error:
                raise gone(workload_id) from error
            except docker.errors.APIError as error:  # e.g. 409: the container is not running
                raise BackendError(f"workload {workload_id} cannot run a command now") from error
            exec_id: str = created["Id"]
            attached = self._api.exec_start(exec_id, tty=tty, socket=True)
            if tty and size is not None:
                # API 1.41 creates the terminal without a size: it is set once running. A
                # command quick enough to have ended already needs none.
                with contextlib.suppress(docker.errors.APIError):
                    self._api.exec_resize(exec_id, height=size[1], width=size[0])
        # The SDK hands back a SocketIO around the hijacked connection: the socket itself
        # is what an event loop can watch.
        raw: socket.socket = getattr(attached, "_sock", attached)
        wrapper = attached if isinstance(attached, io.RawIOBase) else None
        return ExecStream(exec_id, raw, tty, wrapper)

    def resize_exec(self, exec_id: str, columns: int, rows: int) -> None:
        with self._errors.translated(f"exec {exec_id}"):
            self._api.exec_resize(exec_id, height=rows, width=columns)

    def exec_exit_code(self, exec_id: str) -> int | None:
        """The process's exit status, or None while it runs (or if the engine forgot it)."""
        with self._errors.translated(f"exec {exec_id}"):
            try:
                found: Json = self._api.exec_inspect(exec_id)
            except docker.errors.NotFound:
                return None
        code = found.get("ExitCode")
        return None if found.get("Running") or code is None else int(code)

    def hang_up(self, exec_id: str) -> int:
        """What closing a terminal does: SIGHUP to every process of the exec's session
        (its shell and what runs in it), which Docker's API cannot send. Works where the
        engine's processes are visible (the gateway on the engine's host); returns how
        many processes were signalled."""
        with self._errors.translated(f"exec {exec_id}"):
            try:
                found: Json = self._api.exec_inspect(exec_id)
            except docker.errors.NotFound:
                return 0
        leader = int(found.get("Pid") or 0)
        if not found.get("Running") or leader <= 0:
            return 0
        return hang_up_session(leader)

    def volume_path(self, instance_id: str, volume: str) -> str:
        """The host directory holding the instance's named volume (on this node)."""
        name = volume_name(instance_id, volume)
        with self._errors.translated(f"instance {instance_id}"):
            try:
                found: Json = self._api.inspect_volume(name)
            except docker.errors.NotFound as error:
                raise BackendError(f"instance {instance_id} has no volume {volume!r}") from error
        return str(found["Mountpoint"])

    def _container(self, workload_id: str) -> str:
        if self.name != "swarm":
            return workload_id  # the Docker backend's workload is its container
        found: list[Json] = self._api.containers(
            filters={"label": f"{SWARM_SERVICE_LABEL}={workload_id}"}
        )
        if not found:
            raise BackendError(f"workload {workload_id} has no running container on this node")
        return str(found[0]["Id"])
