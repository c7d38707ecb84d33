"""The provisioner: each customer's instances on a Docker engine or a Swarm, kept as the
database says (a reconciler), updated health-gated, reachable at their own port.

This is its public face: the portal imports these names from ``provisioner`` and nothing
from its modules (an import-linter contract holds it to that).
"""

from __future__ import annotations

from provisioner.at_a_glance import instance_counts, instances
from provisioner.backends import create_backend
from provisioner.backups.restoring import RestoreOutcome
from provisioner.backups.schedule import ScheduleReport
from provisioner.backups.service import BackupDownload, Backups
from provisioner.cli import instances_group
from provisioner.context import Clock, ProvisionerContext
from provisioner.errors import (
    BackupBusy,
    BackupCorrupt,
    BackupError,
    EngineUnavailable,
    ProvisioningError,
    UnknownBackup,
)
from provisioner.models import (
    Backup,
    BackupKind,
    BackupStatus,
    DesiredState,
    Instance,
    InstanceEvent,
    InstanceState,
    SuspensionReason,
    UpdateStatus,
)
from provisioner.replacement import UpdateOutcome
from provisioner.rollout import FleetReport
from provisioner.service import InstanceView, Provisioner
from provisioner.settings import ProvisionerSettings

__all__ = [
    "Backup",
    "BackupBusy",
    "BackupCorrupt",
    "BackupDownload",
    "BackupError",
    "BackupKind",
    "BackupStatus",
    "Backups",
    "Clock",
    "DesiredState",
    "EngineUnavailable",
    "FleetReport",
    "Instance",
    "InstanceEvent",
    "InstanceState",
    "InstanceView",
    "Provisioner",
    "ProvisionerContext",
    "ProvisionerSettings",
    "ProvisioningError",
    "RestoreOutcome",
    "ScheduleReport",
    "SuspensionReason",
    "UnknownBackup",
    "UpdateOutcome",
    "UpdateStatus",
    "create_backend",
    "instance_counts",
    "instances",
    "instances_group",
]
