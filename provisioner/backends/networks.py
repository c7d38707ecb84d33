"""One network per customer: created on first use, removed once nothing uses it.

The Docker backend gives each customer a bridge network, the Swarm backend an attachable
overlay network; the engine keeps networks apart, so one customer's workloads cannot
reach another's. Both are found by name and carry Dockyard's labels.
"""

from __future__ import annotations

from typing import Any

import docker.errors

from provisioner.backends.engine_errors import HTTP_CONFLICT, explanation
from provisioner.backends.engine_terms import Json, network_labels, network_name
from provisioner.errors import BackendError

# What the engine answers when a network still has members: local containers
# ("active endpoints") or, on Swarm, services and tasks ("in use").
_IN_USE = ("active endpoints", "in use")


def ensure_network(api: Any, customer_ref: str, *, driver: str, **options: Any) -> str:
    """The customer's network, created if missing; returns its name.

    Raises BackendError if a network of that name exists with another driver (the
    other backend's, on an engine where both were used).
    """
    name = network_name(customer_ref)
    try:
        found: Json = api.inspect_network(name)
    except docker.errors.NotFound:
        try:
            api.create_network(
                name,
                driver=driver,
                labels=network_labels(customer_ref),
                check_duplicate=True,
                **options,
            )
        except docker.errors.APIError as error:
            # Another worker created it first: that is the same network.
            if error.status_code != HTTP_CONFLICT:
                raise
        return name
    if found.get("Driver") != driver:
        raise BackendError(
            f"customer {customer_ref}: network {name} exists with driver "
            f"{found.get('Driver')!r}, not {driver!r}; remove it (docker network rm {name}) "
            "once nothing uses it"
        )
    return name


def remove_network(api: Any, customer_ref: str) -> None:
    """Remove the customer's network unless something still uses it; gone is fine."""
    try:
        found: Json = api.inspect_network(network_name(customer_ref))
    except docker.errors.NotFound:
        return
    if found.get("Containers"):
        return  # still in use: removing the customer's last workload gets it next time
    try:
        api.remove_network(found["Id"])
    except docker.errors.NotFound:
        return
    except docker.errors.APIError as error:
        # Something joined between the inspect and the removal, or (Swarm) a service or
        # a task on another node still uses it.
        if not any(marker in explanation(error) for marker in _IN_USE):
            raise
