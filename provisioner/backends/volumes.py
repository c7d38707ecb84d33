"""An instance's named volumes: found by label, removed when its data is purged.

Volumes are per instance, not per revision (``dockyard-<instance>-<name>``), so the data
survives updates; they carry the instance's label so a purge finds every one of them.
"""

from __future__ import annotations

from typing import Any

import docker.errors

from provisioner.backends.base import INSTANCE_LABEL, MANAGED_LABEL
from provisioner.backends.engine_errors import explanation
from provisioner.backends.engine_terms import Json
from provisioner.errors import BackendError


def remove_instance_volumes(api: Any, instance_id: str) -> int:
    """Delete the instance's volumes on this engine; returns how many were removed."""
    found: Json = api.volumes(
        filters={"label": [f"{MANAGED_LABEL}=true", f"{INSTANCE_LABEL}={instance_id}"]}
    )
    removed = 0
    for volume in found.get("Volumes") or []:
        try:
            api.remove_volume(volume["Name"])
        except docker.errors.NotFound:
            continue
        except docker.errors.APIError as error:
            raise BackendError(
                f"instance {instance_id}: volume {volume['Name']} cannot be removed "
                f"({explanation(error)}); remove the instance's workloads first"
            ) from error
        removed += 1
    return removed
