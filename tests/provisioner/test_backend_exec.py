"""Reaching inside a workload, on every backend: a process run in its container (what the
SSH gateway's sessions are), and the data volume's directory on this host (its SFTP)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from portal.ssh.output import FrameReader
from provisioner.backends.base import Backend, ExecStream, RunState, VolumeMount, Workload
from provisioner.errors import ProvisioningError
from tests.fixtures.docker import EngineObjects, container_of, wait_for

pytestmark = pytest.mark.docker

DATA = (VolumeMount("data", "/data"),)


@pytest.fixture(scope="module")
def server(backend: Backend, docker_client: docker.DockerClient) -> Iterator[Workload]:
    objects = EngineObjects(docker_client)
    try:
        spec = objects.spec("exec", image="dockyard-server:1", volumes=DATA, health_path=None)
        created = backend.create(spec)
        workload = wait_for(lambda: running(backend, created.id), "the server running", 60)
        container_of(docker_client, backend.name, workload.id)  # a Swarm task's, once it runs
        yield workload
    finally:
        objects.remove_all()


def running(backend: Backend, workload_id: str) -> Workload | None:
    found = backend.inspect(workload_id)
    return found if found is not None and found.state is RunState.RUNNING else None


def everything(stream: ExecStream) -> bytes:
    stream.sock.settimeout(20)
    chunks = []
    while chunk := stream.sock.recv(65536):
        chunks.append(chunk)
    stream.close()
    return b"".join(chunks)


def exit_code(backend: Backend, stream: ExecStream) -> int:
    return wait_for(lambda: backend.exec_exit_code(stream.exec_id), "an exit status", 10)


def test_a_command_runs_inside_with_its_output_apart_and_its_exit_status(
    backend: Backend, server: Workload
) -> None:
    stream = backend.exec(
        server.id,
        ["/bin/busybox", "sh", "-c", "read line; echo out $line; echo err >&2; exit 3"],
        tty=False,
        size=None,
        environment={},
    )
    stream.sock.sendall(b"given\n")
    stream.sock.shutdown(socket.SHUT_WR)

    frames = FrameReader().feed(everything(stream))

    assert sorted(frames) == [(1, b"out given\n"), (2, b"err\n")]  # stdout, stderr apart
    assert exit_code(backend, stream) == 3


def test_a_terminal_gets_its_size_and_type(backend: Backend, server: Workload) -> None:
    stream = backend.exec(
        server.id,
        ["/bin/busybox", "sh", "-c", "sleep 0.5; stty size; echo $TERM"],  # sized once running
        tty=True,
        size=(100, 30),
        environment={"TERM": "xterm-256color"},
    )

    assert everything(stream) == b"30 100\r\nxterm-256color\r\n"
    assert exit_code(backend, stream) == 0


def test_the_data_volume_is_a_directory_on_this_host(backend: Backend, server: Workload) -> None:
    stream = backend.exec(
        server.id,
        ["/bin/busybox", "sh", "-c", "echo written inside > /data/proof"],
        tty=False,
        size=None,
        environment={},
    )
    everything(stream)

    path = Path(backend.volume_path(server.instance_id, "data"))

    assert (path / "proof").read_text() == "written inside\n"


def test_a_workload_that_is_gone_cannot_run_anything(
    backend: Backend, objects: EngineObjects
) -> None:
    with pytest.raises(ProvisioningError):
        backend.exec("dockyard-nothing-here", ["/bin/busybox", "true"], tty=False, size=None,
                     environment={})  # fmt: skip
    with pytest.raises(ProvisioningError, match="has no volume 'data'"):
        backend.volume_path(objects.spec().instance_id, "data")
