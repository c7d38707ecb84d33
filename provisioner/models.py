"""The provisioner's tables: instances, their event history and their backups.

An instance is one customer's running application or server. ``desired_state`` is what
it should be (set by lifecycle actions, and by the portal from the subscription);
``state`` is what Dockyard last saw and did. The reconciler moves the second towards the
first, whatever happened in between.
"""

from __future__ import annotations

import enum
from datetime import datetime

from advanced_alchemy.base import convention
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

metadata = MetaData(naming_convention=convention)


class Base(DeclarativeBase):
    metadata = metadata


class DesiredState(enum.StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"  # suspended: kept, not running
    ABSENT = "absent"  # terminated: removed, data kept until the retention period ends


class InstanceState(enum.StrEnum):
    PENDING = "pending"
    PROVISIONING = "provisioning"
    RUNNING = "running"
    STOPPED = "stopped"
    TERMINATED = "terminated"
    PURGED = "purged"  # data volumes removed; the row stays for history
    FAILED = "failed"  # with a reason; retried with backoff


class SuspensionReason(enum.StrEnum):
    BILLING = "billing"
    MANUAL = "manual"


class UpdateStatus(enum.StrEnum):
    ROLLING = "rolling"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def _enum(kind: type[enum.StrEnum]) -> String:
    # Stored as plain strings: portable, readable in psql, and new members need no DDL.
    return String(max(len(member.value) for member in kind) + 8)


class Instance(Base):
    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_ref: Mapped[str] = mapped_column(String(64), index=True)
    plan_id: Mapped[str] = mapped_column(String(64), index=True)
    plan_version: Mapped[int] = mapped_column(Integer)
    image: Mapped[str] = mapped_column(String(255))
    image_version: Mapped[str] = mapped_column(String(128))
    # The version served before the last successful update: what a rollback returns to.
    previous_image_version: Mapped[str | None] = mapped_column(String(128), default=None)
    cpu_millis: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    disk_gb: Mapped[int] = mapped_column(Integer)
    max_processes: Mapped[int] = mapped_column(Integer)

    desired_state: Mapped[str] = mapped_column(_enum(DesiredState))
    state: Mapped[str] = mapped_column(_enum(InstanceState), index=True)
    suspension_reason: Mapped[str | None] = mapped_column(_enum(SuspensionReason), default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)  # why failed or suspended

    revision: Mapped[int] = mapped_column(Integer, default=1)
    workload_id: Mapped[str | None] = mapped_column(String(128), default=None)
    # Where it is reachable while running (None otherwise), as the engine reports it.
    host_port: Mapped[int | None] = mapped_column(Integer, default=None)
    # The swarm node it is published on when that is not the engine's host; None: it is
    # reached at DOCKYARD_PUBLISH_ADDRESS.
    host_address: Mapped[str | None] = mapped_column(String(255), default=None)
    # Its own port on the host, kept across resume and update so the address never
    # moves; given at creation, released at termination. None: the engine picks one.
    address_port: Mapped[int | None] = mapped_column(Integer, default=None, unique=True)
    health: Mapped[str] = mapped_column(String(16), default="none")

    update_status: Mapped[str | None] = mapped_column(_enum(UpdateStatus), default=None)
    update_detail: Mapped[str | None] = mapped_column(Text, default=None)

    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    terminated_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    purge_after: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    # A worker holds a lease while it acts on the instance, so two workers never race.
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC())
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC())

    events: Mapped[list[InstanceEvent]] = relationship(
        back_populates="instance", order_by="InstanceEvent.id", cascade="all, delete-orphan"
    )


class InstanceEvent(Base):
    __tablename__ = "instance_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(
        ForeignKey("instances.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(DateTimeUTC())
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128), default="system")

    instance: Mapped[Instance] = relationship(back_populates="events")


class InstanceDomain(Base):
    """A customer's own name for an instance (``shop.example.com``), served by the proxy
    beside ``<instance>.<base domain>``. A name belongs to one instance at most."""

    __tablename__ = "instance_domains"

    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    instance_id: Mapped[str] = mapped_column(
        ForeignKey("instances.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC())


class BackupKind(enum.StrEnum):
    SCHEDULED = "scheduled"
    BEFORE_UPDATE = "before_update"
    MANUAL = "manual"


class BackupStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Backup(Base):
    """One archive of an instance's volumes, in the backup storage under ``key``."""

    __tablename__ = "backups"
    __table_args__ = (Index("ix_backups_instance_started", "instance_id", "started_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(_enum(BackupKind))
    status: Mapped[str] = mapped_column(_enum(BackupStatus))
    started_at: Mapped[datetime] = mapped_column(DateTimeUTC())
    finished_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    key: Mapped[str] = mapped_column(String(255))  # where the storage keeps the archive
    compressed: Mapped[bool] = mapped_column(Boolean, default=False)  # tar.gz, else tar
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)  # of the stored file
    # Of the uncompressed tar: the same data always gives the same tar, so this tells
    # whether the volumes changed since (a failed update's rollback asks).
    data_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    actor: Mapped[str] = mapped_column(String(128), default="system")
