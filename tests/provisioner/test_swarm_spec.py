"""The Swarm service spec a WorkloadSpec becomes."""

from __future__ import annotations

from dataclasses import replace

from provisioner.backends.base import VolumeMount, WorkloadSpec
from provisioner.backends.swarm_spec import endpoint_spec, placement, task_template
from provisioner.settings import ProvisionerSettings

SPEC = WorkloadSpec(
    instance_id="i1",
    customer_ref="acme",
    revision=1,
    image="dockyard-demo:1",
    port=8080,
    health_path="/",
    cpu_millis=500,
    memory_mb=64,
    max_processes=100,
    volumes=(VolumeMount("data", "/data"),),
)


def test_limits_reservations_and_hardening() -> None:
    template = task_template(SPEC, "dockyard-acme", ProvisionerSettings(), {})

    assert template["Resources"] == {
        "Limits": {"NanoCPUs": 500_000_000, "MemoryBytes": 64 * 1024 * 1024, "Pids": 100},
        "Reservations": {"NanoCPUs": 500_000_000, "MemoryBytes": 64 * 1024 * 1024},
    }
    container = template["ContainerSpec"]
    assert (container["Init"], container["CapabilityDrop"]) == (True, ["ALL"])
    assert "CapabilityAdd" not in container
    assert container["StopGracePeriod"] == 5_000_000_000
    assert template["Networks"] == [{"Target": "dockyard-acme"}]


def test_a_privileged_port_gets_its_capability_back() -> None:
    template = task_template(replace(SPEC, port=80), "n", ProvisionerSettings(), {})

    assert template["ContainerSpec"]["CapabilityAdd"] == ["NET_BIND_SERVICE"]


def test_volumes_are_named_per_instance_and_labelled() -> None:
    [mount] = task_template(SPEC, "n", ProvisionerSettings(), {})["ContainerSpec"]["Mounts"]

    assert (mount["Type"], mount["Source"], mount["Target"]) == (
        "volume",
        "dockyard-i1-data",
        "/data",
    )
    assert mount["VolumeOptions"]["Labels"]["dockyard.instance"] == "i1"


def test_placement_takes_constraints_and_spread() -> None:
    assert placement((), ()) == {}
    assert placement(["node.labels.dockyard==yes"], ["node.labels.zone"]) == {
        "Constraints": ["node.labels.dockyard==yes"],
        "Preferences": [{"Spread": {"SpreadDescriptor": "node.labels.zone"}}],
    }


def test_the_port_is_published_on_the_tasks_node_without_a_virtual_ip() -> None:
    assert endpoint_spec(SPEC) == {
        "Mode": "dnsrr",
        "Ports": [{"Protocol": "tcp", "TargetPort": 8080, "PublishMode": "host"}],
    }
