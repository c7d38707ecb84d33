"""What a WorkloadSpec becomes on the engine: names, labels, limits, times."""

from __future__ import annotations

from dataclasses import replace

import pytest

from provisioner.backends.base import WorkloadSpec
from provisioner.backends.engine_terms import (
    added_capabilities,
    engine_moment,
    engine_time,
    memory_bytes,
    nano_cpus,
    network_name,
    volume_name,
    workload_labels,
    workload_name,
)

SPEC = WorkloadSpec(
    instance_id="i0a1b2c3d4",
    customer_ref="cus_42",
    revision=3,
    image="dockyard-demo:2",
    port=8080,
    health_path="/healthz",
    cpu_millis=500,
    memory_mb=128,
    max_processes=256,
    hostname="i0a1b2c3d4.dockyard.localhost",
    plan="app-starter@1",
    extra_labels=(("team", "blue"),),
)


def test_names_per_revision_network_per_customer_volume_per_instance() -> None:
    assert workload_name(SPEC) == "dockyard-i0a1b2c3d4-r3"
    assert network_name("cus_42") == "dockyard-cus_42"
    assert volume_name("i0a1b2c3d4", "data") == "dockyard-i0a1b2c3d4-data"


def test_labels_identify_the_workload_and_route_its_hostname() -> None:
    labels = workload_labels(SPEC, "prod")

    assert labels["dockyard.managed"] == "true"
    assert labels["dockyard.namespace"] == "prod"
    assert labels["dockyard.instance"] == "i0a1b2c3d4"
    assert labels["dockyard.customer"] == "cus_42"
    assert labels["dockyard.revision"] == "3"
    assert labels["dockyard.plan"] == "app-starter@1"
    assert labels["team"] == "blue"
    assert labels["dockyard.hostname"] == "i0a1b2c3d4.dockyard.localhost"
    # Routes live in the proxy's configuration (provisioner.proxy), not in labels.
    assert not [key for key in labels if key.startswith("traefik.")]


def test_extra_labels_cannot_override_dockyards_own() -> None:
    spec = replace(SPEC, extra_labels=(("dockyard.instance", "other"),))

    assert workload_labels(spec, "prod")["dockyard.instance"] == "i0a1b2c3d4"


def test_no_hostname_no_hostname_label() -> None:
    spec = replace(SPEC, hostname="")

    assert "dockyard.hostname" not in workload_labels(spec, "prod")


def test_limits_in_engine_units() -> None:
    assert nano_cpus(SPEC) == 500_000_000
    assert memory_bytes(SPEC) == 128 * 1024 * 1024


@pytest.mark.parametrize(("port", "added"), [(8080, []), (1024, []), (80, ["NET_BIND_SERVICE"])])
def test_only_a_privileged_port_gets_a_capability_back(port: int, added: list[str]) -> None:
    assert added_capabilities(replace(SPEC, port=port)) == added


@pytest.mark.parametrize(
    "value",
    [
        1763757984,
        "2025-11-21T20:46:24.844044653Z",
        "2025-11-21T20:46:24Z",
        "2025-11-21T21:46:24+01:00",
    ],
)
def test_engine_times_read_alike_from_listings_and_inspections(value: str | int) -> None:
    assert engine_time(value) == "2025-11-21T20:46:24+00:00"


def test_engine_moments_order_by_time_not_by_text() -> None:
    # As text, ".8Z" sorts after ".84Z"; as time it is earlier.
    assert engine_moment("2025-11-21T20:46:24.8Z") < engine_moment("2025-11-21T20:46:24.84Z")
