"""Backends on the real engine, for the contract tests: one fixture per backend kind."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import docker
import pytest

from provisioner.backends import create_backend
from provisioner.backends.base import Backend
from provisioner.settings import BackendKind, ProvisionerSettings
from tests.fixtures.docker import (
    EngineObjects,
    engine_client,
    ensure_demo_images,
    remove_everything_of,
    require_swarm,
)

# Quick to give up: a test that waits that long has failed anyway.
CONTRACT_SETTINGS = ProvisionerSettings(
    stop_timeout_seconds=2, health_timeout_seconds=30, health_interval_seconds=1
)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    client = engine_client()
    ensure_demo_images(client)
    yield client
    client.close()


@pytest.fixture(
    scope="module",
    params=[BackendKind.DOCKER, pytest.param(BackendKind.SWARM, marks=pytest.mark.swarm)],
)
def backend_kind(request: pytest.FixtureRequest) -> BackendKind:
    kind: BackendKind = request.param
    return kind


@pytest.fixture(scope="module")
def backend(backend_kind: BackendKind, docker_client: docker.DockerClient) -> Backend:
    if backend_kind is BackendKind.SWARM:
        require_swarm(docker_client)
    settings = ProvisionerSettings(
        backend=backend_kind,
        stop_timeout_seconds=CONTRACT_SETTINGS.stop_timeout_seconds,
        health_timeout_seconds=CONTRACT_SETTINGS.health_timeout_seconds,
        health_interval_seconds=CONTRACT_SETTINGS.health_interval_seconds,
    )
    return create_backend(settings, docker_client)


@pytest.fixture
def objects(docker_client: docker.DockerClient) -> Iterator[EngineObjects]:
    """This test's names; everything created under them is removed afterwards."""
    created = EngineObjects(docker_client)
    try:
        yield created
    finally:
        created.remove_all()


@pytest.fixture
def run_id(engine_client: docker.DockerClient) -> Iterator[str]:
    """A namespace for what the CLI makes, cleaned up after the test."""
    run = f"t{secrets.token_hex(3)}"
    yield run
    remove_everything_of(engine_client, run)
