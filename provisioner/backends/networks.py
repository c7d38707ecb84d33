"""One network per customer: created on first use, removed once nothing uses it.

The Docker backend gives each customer a bridge network, the Swarm backend an attachable
overlay network; the engine keeps networks apart, so one customer's workloads cannot
reach another's. Both are found by name and carry Dockyard's labels.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker.errors

from provisioner.backends.engine_errors import HTTP_CONFLICT, explanation
from provisioner.backends.engine_terms import Json, network_labels, network_name
from provisioner.errors import BackendError

# What the engine answers when a network still has members: local containers
# ("active endpoints") or, on Swarm, services and tasks ("in use").
_IN_USE = ("active endpoints", "in use")
# The Swarm backend's customer networks: containers of services and tasks can join them.
OVERLAY: Json = {"driver": "overlay", "attachable": True, "scope": "swarm"}
_NAME_TAKEN = "name conflicts with an existing object"
# The engine makes networks one at a time (about a second each on a host with many
# bridges: every one adds iptables rules). Twenty asked at once would wait in the engine
# for up to twenty seconds, past the client's read timeout; they wait here instead.
_CREATING = threading.BoundedSemaphore(2)


def ensure_network(
    api: Any, customer_ref: str, namespace: str, *, driver: str, **options: Any
) -> str:
    """The customer's network, created if missing; returns its id.

    Docker no longer refuses a second network of the same name (``CheckDuplicate`` is
    ignored from API 1.44 on), so two workers creating it at once (the web process and
    the worker beside it) make two, and a name that names two attaches to neither. So
    creating it is serialised on this host (`_held`); a duplicate made anyway (a worker
    on another host using the same engine) is settled on the oldest, others removed.

    Raises BackendError if the network exists with another driver (the other backend's,
    on an engine where both were used).
    """
    name = network_name(customer_ref)
    made = _made(api, name, driver)
    if made is not None:
        return made
    with _held(api, name):
        return _ensure(api, customer_ref, namespace, name, driver, options)


def _made(api: Any, name: str, driver: str) -> str | None:
    """The network's id if exactly one of that name exists with ``driver``: one inspect
    by name, where listing by name makes the engine match against every network (50 ms
    against 18 ms with 800 networks), then an inspect. Anything else (none, two of one
    name, another driver, one Swarm is still making) takes the careful path."""
    try:
        found: Json = api.inspect_network(name)
    except docker.errors.APIError:  # not found, or ambiguous: two of that name
        return None
    if found.get("Name") != name or found.get("Driver") != driver:
        return None
    network_id: str = found["Id"]
    return network_id


def _ensure(
    api: Any, customer_ref: str, namespace: str, name: str, driver: str, options: Json
) -> str:
    found = _named(api, name)
    if not found:
        try:
            with _CREATING:
                api.create_network(
                    name,
                    driver=driver,
                    labels=network_labels(customer_ref, namespace),
                    check_duplicate=True,
                    **options,
                )
        except docker.errors.APIError as error:
            # Another worker created it first (engines that still refuse, and Swarm, which
            # answers 500 "name conflicts with an existing object"): the same network.
            if error.status_code != HTTP_CONFLICT and _NAME_TAKEN not in explanation(error):
                raise
        found = _named(api, name)
    if not found:
        raise BackendError(f"customer {customer_ref}: network {name} vanished as it was made")
    kept, *extra = found
    for duplicate in extra:
        # In use by a racer that has not settled yet: it will, on the same oldest one.
        with contextlib.suppress(docker.errors.APIError):
            api.remove_network(duplicate["Id"])
    # The listing can show a network Swarm is still making without its driver: ask it.
    kept = api.inspect_network(kept["Id"])
    if kept.get("Driver") != driver:
        raise BackendError(
            f"customer {customer_ref}: network {name} exists with driver "
            f"{kept.get('Driver')!r}, not {driver!r}; remove it (docker network rm {name}) "
            "once nothing uses it"
        )
    network_id: str = kept["Id"]
    return network_id


@contextlib.contextmanager
def _held(api: Any, name: str) -> Iterator[None]:
    """One creator or remover of this engine's network ``name`` at a time on this host.

    Settling duplicates afterwards is not enough: a racer that lists before the other's
    network is visible keeps its own and attaches to it, and the other, finding its own
    older, keeps that; both stay in use. An advisory file lock (``flock``, per open file,
    so it also holds between threads) makes the second racer find the first's network.
    """
    engine = str(getattr(api, "base_url", ""))
    key = hashlib.sha256(f"{engine}\0{name}".encode()).hexdigest()[:32]
    folder = Path(tempfile.gettempdir()) / "dockyard-network-locks"
    folder.mkdir(exist_ok=True)
    with (folder / f"{key}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _named(api: Any, name: str) -> list[Json]:
    """The networks called exactly ``name`` (the engine's filter matches parts), oldest
    first."""
    listed: list[Json] = api.networks(names=[name])
    exact = [network for network in listed if network.get("Name") == name]
    return sorted(exact, key=lambda network: (_created(network), network["Id"]))


def _created(network: Json) -> str:
    """The engine's creation time, comparable as text: its RFC 3339 fraction drops
    trailing zeros ("...:39.03Z" is earlier than "...:39.0345Z"), so pad it to 9 digits."""
    stamp = str(network.get("Created", "")).removesuffix("Z")
    whole, _, fraction = stamp.partition(".")
    zone = ""
    for sign in ("+", "-"):
        if sign in fraction:
            fraction, _, zone = fraction.partition(sign)
            zone = sign + zone
    return f"{whole}.{fraction.ljust(9, '0')}{zone}"


def remove_network(api: Any, customer_ref: str) -> None:
    """Remove the customer's network unless something still uses it; gone is fine."""
    name = network_name(customer_ref)
    with _held(api, name):
        _remove(api, name)


def _remove(api: Any, name: str) -> None:
    try:
        found: Json = api.inspect_network(name)
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
