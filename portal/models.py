"""Tables the portal owns itself; each domain package keeps its own ``models.py``."""

from __future__ import annotations

from datetime import datetime

from advanced_alchemy.base import convention
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

metadata = MetaData(naming_convention=convention)


class Base(DeclarativeBase):
    metadata = metadata


class CatalogVersion(Base):
    """A plan version as the portal first saw it in the catalog.

    The fingerprint is a digest of the version's content. Recording it the first time the
    version appears lets the portal notice, and refuse, a published version edited in
    place: customers hold plan versions, so a new price must be a new version.
    """

    __tablename__ = "catalog_versions"

    plan_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(DateTimeUTC())
