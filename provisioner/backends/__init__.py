"""Where instances run: the Docker engine or a Docker Swarm, behind one Backend protocol."""

from __future__ import annotations

# Names from the SDK, not the module: importing the sibling module provisioner.backends.docker
# binds "docker" in this package's namespace, over the SDK.
from docker import DockerClient, from_env

from provisioner.backends.base import Backend
from provisioner.backends.docker import DockerBackend
from provisioner.backends.engine_errors import EngineErrors
from provisioner.backends.swarm import SwarmBackend
from provisioner.context import ENGINE_THREADS
from provisioner.settings import BackendKind, ProvisionerSettings

# Seconds an engine call may take before it counts as unanswered. Stops add their own
# grace period to it (the SDK does), and a stats sample takes about one second.
ENGINE_TIMEOUT_SECONDS = 15

__all__ = ["Backend", "DockerBackend", "SwarmBackend", "create_backend"]


def create_backend(settings: ProvisionerSettings, client: DockerClient | None = None) -> Backend:
    """The backend ``settings.backend`` names, on ``client`` or one built from settings.

    Without a client: ``settings.docker_url``, else the environment (``DOCKER_HOST``, the
    local socket). Raises EngineUnavailable, with what to do, if the engine (or, for
    Swarm, a manager) does not answer.
    """
    if client is None:
        client = _connect(settings)
    backend: Backend
    if settings.backend is BackendKind.SWARM:
        backend = SwarmBackend(client, settings)
    else:
        backend = DockerBackend(client, settings)
    backend.ping()
    return backend


def _connect(settings: ProvisionerSettings) -> DockerClient:
    # Building a client asks the engine for its API version: that is the first call that
    # can find the engine missing.
    with EngineErrors(settings.docker_url).translated("connecting to the engine"):
        if settings.docker_url:
            return DockerClient(
                base_url=settings.docker_url,
                timeout=ENGINE_TIMEOUT_SECONDS,
                max_pool_size=ENGINE_THREADS,  # a connection per engine thread, kept
            )
        return from_env(timeout=ENGINE_TIMEOUT_SECONDS, max_pool_size=ENGINE_THREADS)
