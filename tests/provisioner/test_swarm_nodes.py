"""Where a swarm's nodes are reached: this node through the publish address, another at
its own address, asked once."""

from __future__ import annotations

from typing import Any

import docker.errors

from provisioner.backends.swarm_nodes import NodeAddresses


class FakeManager:
    """The two calls NodeAddresses makes, answered as a Swarm manager does."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def info(self) -> dict[str, Any]:
        return {"Swarm": {"NodeID": "self-node", "NodeAddr": "10.0.0.1"}}

    def inspect_node(self, node_id: str) -> dict[str, Any]:
        self.asked.append(node_id)
        if node_id == "gone":
            raise docker.errors.NotFound("node gone not found")
        return {"ID": node_id, "Status": {"State": "ready", "Addr": "10.0.0.7"}}


def test_this_node_has_no_address_of_its_own_and_others_are_asked_once() -> None:
    manager = FakeManager()
    nodes = NodeAddresses(manager)

    assert nodes.address("self-node") is None
    assert nodes.address("") is None
    assert nodes.address("node-b") == "10.0.0.7"
    assert nodes.address("node-b") == "10.0.0.7"
    assert manager.asked == ["node-b"]
    # A node the manager cannot tell of: the publish address is the best guess, for now.
    assert nodes.address("gone") is None
    assert nodes.address("gone") is None
    assert manager.asked == ["node-b", "gone", "gone"]
