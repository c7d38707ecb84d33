"""Sign-in identities. A customer's user points at billing's customer; staff have none."""

from __future__ import annotations

import enum
from datetime import datetime

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models import Base


class Role(enum.StrEnum):
    CUSTOMER = "customer"
    OPERATOR = "operator"
    FINANCE = "finance"


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    # billing's customers.id (another package's table, so no foreign key across metadata).
    customer_id: Mapped[str | None] = mapped_column(String(32), index=True, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC())
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)


class ApiToken(Base):
    """A bearer token for ``/api/v1``; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)


class PasswordReset(Base):
    """A one-time link mailed to a user who forgot their password; only its hash is kept."""

    __tablename__ = "password_resets"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC())
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC())
    used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
