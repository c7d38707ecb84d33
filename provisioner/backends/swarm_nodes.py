"""Where a swarm's other nodes are reached, for a task's port published on its own node.

Ports are published in host mode (``swarm_spec.endpoint_spec``), on the task's node only.
A task on this node (the engine Dockyard talks to) is reached at
``DOCKYARD_PUBLISH_ADDRESS``; one on another node at that node's address as the swarm
knows it (``Status.Addr``). Addresses are asked once per node and kept: nodes keep them.
"""

from __future__ import annotations

from typing import Any

import docker.errors


class NodeAddresses:
    def __init__(self, api: Any) -> None:
        self._api = api
        self._local: str | None = None
        self._known: dict[str, str | None] = {}

    def address(self, node_id: str) -> str | None:
        """None for this node, and for one the manager cannot place (the publish address
        is then the best guess)."""
        if not node_id or node_id == self._local_node():
            return None
        if node_id not in self._known:
            try:
                node: dict[str, Any] = self._api.inspect_node(node_id)
            except docker.errors.APIError:
                return None  # asked again next time
            self._known[node_id] = (node.get("Status") or {}).get("Addr") or None
        return self._known[node_id]

    def _local_node(self) -> str:
        if self._local is None:
            try:
                info: dict[str, Any] = self._api.info()
            except docker.errors.APIError:
                return ""
            self._local = str((info.get("Swarm") or {}).get("NodeID", ""))
        return self._local
