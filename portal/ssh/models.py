"""The ``ssh_keys`` table: the public keys a customer may log in to their servers with."""

from __future__ import annotations

from datetime import datetime

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.models import Base


class SshKey(Base):
    __tablename__ = "ssh_keys"
    # A key once per customer; two customers may hold the same one (a shared admin's).
    __table_args__ = (UniqueConstraint("customer_id", "fingerprint"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # billing's customers.id (another package's table, so no foreign key across metadata).
    customer_id: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(100))
    algorithm: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[str] = mapped_column(Text)  # OpenSSH's one-line form
    # "SHA256:<base64>": how the gateway finds a key's owners at login.
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC())
