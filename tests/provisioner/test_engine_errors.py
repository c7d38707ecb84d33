"""SDK exceptions leave a backend as the provisioner's errors, saying what to do.

The port conflicts cannot be provoked through a backend: the engine picks every host
port itself, and skips a port something else holds. The messages below are the engine's
own (Docker 20.10), captured by publishing two containers on one fixed port.
"""

from __future__ import annotations

import docker.errors
import pytest
import requests

from provisioner.backends.engine_errors import EngineErrors
from provisioner.errors import (
    BackendError,
    EngineUnavailable,
    ImageNotFound,
    PortConflict,
    ProvisioningError,
)

ALLOCATED = (
    "driver failed programming external connectivity on endpoint q2 (276c85e2d4a5): "
    "Bind for 127.0.0.1:39999 failed: port is already allocated"
)
IN_USE = (
    "driver failed programming external connectivity on endpoint q3 (d919a9d29bc9): "
    "Error starting userland proxy: listen tcp4 127.0.0.1:39998: bind: address already in use"
)
errors = EngineErrors("tcp://engine.example:2375")


def translated(error: Exception, image: str | None = None) -> ProvisioningError:
    with pytest.raises(ProvisioningError) as raised, errors.translated("instance i1", image=image):
        raise error
    return raised.value


@pytest.mark.parametrize("message", [ALLOCATED, IN_USE])
def test_a_taken_port_is_a_port_conflict(message: str) -> None:
    error = translated(docker.errors.APIError("500 Server Error", explanation=message))

    assert isinstance(error, PortConflict)
    assert error.reason.startswith("instance i1: the port to publish on is taken")
    assert "retry" in error.reason


def test_a_missing_image_is_named() -> None:
    error = translated(docker.errors.ImageNotFound("404", explanation="No such image"), "demo:9")

    assert isinstance(error, ImageNotFound)
    assert "instance i1: image 'demo:9' is not on the Docker engine at tcp://engine.example" in str(
        error
    )
    assert "infra/demo-app/build.sh" in str(error)


@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.ConnectionError("[Errno 111] Connection refused"),
        requests.exceptions.ReadTimeout("read timed out"),
        docker.errors.DockerException("Error while fetching server API version: refused"),
    ],
)
def test_an_engine_that_does_not_answer_is_unavailable(failure: Exception) -> None:
    error = translated(failure)

    assert isinstance(error, EngineUnavailable)
    assert "tcp://engine.example:2375 does not answer" in error.reason
    assert "DOCKYARD_DOCKER_URL" in error.reason


def test_other_refusals_keep_the_engines_words() -> None:
    error = translated(docker.errors.APIError("400", explanation="invalid mount config"))

    assert type(error) is BackendError
    assert error.reason.endswith("refused: invalid mount config")


def test_the_provisioners_own_errors_pass_through() -> None:
    original = ImageNotFound("already translated")

    assert translated(original) is original
