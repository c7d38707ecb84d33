"""Errors raised by the provisioner.

ProvisioningError             base of everything this package raises
├── BackendError              the engine refused or failed; ``reason`` is for operators
│   ├── EngineUnavailable     the Docker engine (or Swarm manager) does not answer
│   ├── ImageNotFound         the plan's image is not on the engine
│   ├── PortConflict          the published port is taken
│   └── WorkloadFailed        the workload died at start or never became healthy
├── UnknownInstance           no instance with that id (for that customer)
├── UnknownBackup             no backup with that id (of that instance, for that customer)
├── InvalidTransition         e.g. resuming a terminated instance
├── ProxyUnavailable          the reverse proxy's admin API does not answer or refuses
├── InvalidDomain             a custom domain that cannot be attached (``reason`` says why)
└── BackupError               a backup or restore could not be done; the message says why
    ├── BackupBusy            another backup or restore of the instance is under way
    └── BackupCorrupt         the archive's size or checksum is not what was recorded
"""

from __future__ import annotations


class ProvisioningError(Exception):
    """Base class for provisioner errors."""


class BackendError(ProvisioningError):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class EngineUnavailable(BackendError):
    pass


class ImageNotFound(BackendError):
    pass


class PortConflict(BackendError):
    pass


class WorkloadFailed(BackendError):
    pass


class UnknownInstance(ProvisioningError, LookupError):
    def __init__(self, instance_id: str) -> None:
        self.instance_id = instance_id
        super().__init__(f"no instance {instance_id!r}")


class InvalidTransition(ProvisioningError):
    pass


class ProxyUnavailable(ProvisioningError):
    pass


class InvalidDomain(ProvisioningError, ValueError):
    def __init__(self, domain: str, reason: str) -> None:
        self.domain = domain
        self.reason = reason
        super().__init__(f"{domain!r}: {reason}")


class BackupError(ProvisioningError):
    pass


class UnknownBackup(ProvisioningError, LookupError):
    def __init__(self, backup_id: str) -> None:
        self.backup_id = backup_id
        super().__init__(f"no backup {backup_id!r}")


class BackupBusy(BackupError):
    pass


class BackupCorrupt(BackupError):
    pass
