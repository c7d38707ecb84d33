"""Docker SDK exceptions, translated into the provisioner's error tree.

Every engine call of a backend runs inside :meth:`EngineErrors.translated`, so whatever
the SDK raises (its own errors, or requests' connection errors) leaves the backend as a
:class:`~provisioner.errors.BackendError` whose reason names the instance or workload,
what went wrong, and what to do about it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import docker.errors

from provisioner.errors import (
    BackendError,
    EngineUnavailable,
    ImageNotFound,
    PortConflict,
    ProvisioningError,
    WorkloadFailed,
)

HTTP_CONFLICT = 409  # a name already taken: the object exists

# What the engine says when the host port it was asked to publish on is taken: the
# first from its own port allocator, the second from the proxy binding the port.
_PORT_TAKEN = ("port is already allocated", "address already in use")
_NO_VERSION = "Error while fetching server API version"
# The operating system's words inside requests' long messages: "[Errno 111] Connection
# refused" (TCP), "FileNotFoundError(2, 'No such file or directory')" (a Unix socket).
_OS_ERROR = re.compile(r"\[Errno -?\d+\] [^'\")]+|\w+Error\(-?\d+, '[^']+'\)")


class EngineErrors:
    def __init__(self, docker_url: str | None) -> None:
        self.engine = (
            f"the Docker engine at {docker_url}"
            if docker_url
            else "the local Docker engine (DOCKER_HOST or /var/run/docker.sock)"
        )

    @contextmanager
    def translated(self, subject: str, *, image: str | None = None) -> Iterator[None]:
        """Run engine calls about ``subject`` (e.g. ``instance i0a1b2``).

        ``image`` names the image for an ImageNotFound; callers that expect a "no such
        container" catch ``docker.errors.NotFound`` themselves, inside the block.
        """
        try:
            yield
        except ProvisioningError:
            raise
        except docker.errors.ImageNotFound as error:
            raise self.image_missing(subject, image or explanation(error)) from error
        except docker.errors.APIError as error:
            raise self.refused(subject, explanation(error)) from error
        except docker.errors.DockerException as error:
            # The SDK raises its base class when it cannot even ask the engine's version.
            if _NO_VERSION in str(error):
                raise self.unavailable(subject, error) from error
            raise BackendError(f"{subject}: the Docker client failed: {error}") from error
        except OSError as error:
            # requests' ConnectionError and Timeout are OSErrors (and so is a missing
            # socket file); APIError is one too, which is why it is caught above.
            raise self.unavailable(subject, error) from error

    def unavailable(self, subject: str, error: BaseException) -> EngineUnavailable:
        return EngineUnavailable(
            f"{subject}: {self.engine} does not answer ({short_cause(error)}); start it "
            "(`make services` does on a development machine) or set DOCKYARD_DOCKER_URL "
            "to an engine that runs"
        )

    def image_missing(self, subject: str, image: str) -> ImageNotFound:
        return ImageNotFound(
            f"{subject}: image {image!r} is not on {self.engine}; build or load it there "
            "(the demo images: infra/demo-app/build.sh), or correct the plan's image"
        )

    def refused(self, subject: str, text: str) -> BackendError:
        if any(marker in text for marker in _PORT_TAKEN):
            return PortConflict(
                f"{subject}: the port to publish on is taken ({text}); the engine picks "
                "another one when the workload starts again: retry, or free the port"
            )
        return BackendError(f"{subject}: {self.engine} refused: {text}")


def gone(workload_id: str) -> WorkloadFailed:
    return WorkloadFailed(
        f"workload {workload_id} no longer exists on the engine; "
        "the reconciler creates the instance's workload again"
    )


def explanation(error: docker.errors.APIError) -> str:
    """The engine's own message, without the SDK's HTTP preamble."""
    text = getattr(error, "explanation", None)
    return str(text) if text else str(error)


def short_cause(error: BaseException) -> str:
    """The short reason of a connection failure, e.g. ``[Errno 111] Connection refused``."""
    text = str(error)
    found = _OS_ERROR.search(text)
    if found:
        return found.group(0).strip()
    first = text.splitlines()[0] if text else type(error).__name__
    return first[:200]
