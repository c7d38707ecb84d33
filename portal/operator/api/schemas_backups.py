"""What ``/api/v1`` gives about instances' backups."""

from __future__ import annotations

from datetime import datetime

from portal.operator.api.schemas import Out
from provisioner import Backup, RestoreOutcome


class BackupOut(Out):
    id: str
    instance_id: str
    kind: str  # scheduled, before_update or manual
    status: str  # running, succeeded or failed
    started_at: datetime
    finished_at: datetime | None
    size_bytes: int | None  # of the stored archive
    sha256: str | None  # of the stored archive, checked before every restore
    compressed: bool  # gzip (tar.gz), else a plain tar
    error: str | None  # why it failed
    actor: str

    @classmethod
    def of(cls, backup: Backup) -> BackupOut:
        return cls(
            id=backup.id,
            instance_id=backup.instance_id,
            kind=backup.kind,
            status=backup.status,
            started_at=backup.started_at,
            finished_at=backup.finished_at,
            size_bytes=backup.size_bytes,
            sha256=backup.sha256,
            compressed=backup.compressed,
            error=backup.error,
            actor=backup.actor,
        )


class RestoreOut(Out):
    instance_id: str
    backup_id: str
    restored: bool  # false: the data is back, but the application did not become healthy
    detail: str

    @classmethod
    def of(cls, outcome: RestoreOutcome) -> RestoreOut:
        return cls(
            instance_id=outcome.instance_id,
            backup_id=outcome.backup_id,
            restored=outcome.restored,
            detail=outcome.detail,
        )
