"""Backends facing an engine that does not answer: EngineUnavailable, saying what to do."""

from __future__ import annotations

import docker
import pytest

from provisioner.backends import create_backend
from provisioner.backends.docker import DockerBackend
from provisioner.backends.swarm import SwarmBackend
from provisioner.errors import EngineUnavailable
from provisioner.settings import BackendKind, ProvisionerSettings

UNREACHABLE = "tcp://127.0.0.1:1"  # nothing listens on port 1


@pytest.mark.parametrize("backend_class", [DockerBackend, SwarmBackend])
def test_an_unreachable_engine_is_engine_unavailable(
    backend_class: type[DockerBackend] | type[SwarmBackend],
) -> None:
    # A pinned API version: the client then makes no call before the backend's first.
    client = docker.DockerClient(base_url=UNREACHABLE, version="1.41", timeout=2)
    unreachable = backend_class(client, ProvisionerSettings(docker_url=UNREACHABLE))

    with pytest.raises(EngineUnavailable, match=r"tcp://127\.0\.0\.1:1 does not answer"):
        unreachable.ping()
    with pytest.raises(EngineUnavailable, match="Connection refused"):
        unreachable.list_workloads()


@pytest.mark.parametrize("kind", list(BackendKind))
def test_create_backend_reports_an_unreachable_engine(kind: BackendKind) -> None:
    with pytest.raises(EngineUnavailable, match="DOCKYARD_DOCKER_URL"):
        create_backend(ProvisionerSettings(backend=kind, docker_url=UNREACHABLE))
