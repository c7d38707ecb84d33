"""Sign-in identities. A customer's user points at billing's customer; staff have none."""

from __future__ import annotations

import enum
from datetime import datetime

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Integer, LargeBinary, String
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
    # Wrong passwords in a row, from any address, and until when that slows sign-ins from
    # browsers this account never signed in from (portal.accounts.throttle).
    failed_signins: Mapped[int] = mapped_column(Integer, default=0)
    signin_locked_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)


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


class WebSession(Base):
    """A signed-in browser: the server-side record its session cookie names. Deleting it
    signs that browser out, whatever the cookie says (portal.accounts.session_store)."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie's id
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC())
    last_seen_at: Mapped[datetime] = mapped_column(DateTimeUTC())
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(), index=True)
