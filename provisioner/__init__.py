"""The provisioner: each customer's instances on a Docker engine or a Swarm, kept as the
database says (a reconciler), updated health-gated, reachable at their own port.

This is its public face: the portal imports these names from ``provisioner`` and nothing
from its modules (an import-linter contract holds it to that).
"""

from __future__ import annotations

from provisioner.at_a_glance import instance_counts, instance_or_none, instances
from provisioner.backends import create_backend
from provisioner.backends.base import ExecStream
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
    InvalidDomain,
    ProvisioningError,
    ProxyUnavailable,
    UnknownBackup,
    UnknownInstance,
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
from provisioner.proxy.cli import proxy_group
from provisioner.proxy.custom_domains import DnsRecord
from provisioner.proxy.routing import may_serve, routes_loaded
from provisioner.proxy.settings import ProxySettings, TlsIssuer
from provisioner.replacement import UpdateOutcome
from provisioner.rollout import FleetReport
from provisioner.service import InstanceView, Provisioner
from provisioner.settings import ProvisionerSettings
from provisioner.shell import InstanceShell

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
    "DnsRecord",
    "EngineUnavailable",
    "ExecStream",
    "FleetReport",
    "Instance",
    "InstanceEvent",
    "InstanceShell",
    "InstanceState",
    "InstanceView",
    "InvalidDomain",
    "Provisioner",
    "ProvisionerContext",
    "ProvisionerSettings",
    "ProvisioningError",
    "ProxySettings",
    "ProxyUnavailable",
    "RestoreOutcome",
    "ScheduleReport",
    "SuspensionReason",
    "TlsIssuer",
    "UnknownBackup",
    "UnknownInstance",
    "UpdateOutcome",
    "UpdateStatus",
    "create_backend",
    "instance_counts",
    "instance_or_none",
    "instances",
    "instances_group",
    "may_serve",
    "proxy_group",
    "routes_loaded",
]
