"""The declarative base of the tables the portal owns itself (accounts, sessions); each
domain package keeps its own ``models.py``."""

from __future__ import annotations

from advanced_alchemy.base import convention
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

metadata = MetaData(naming_convention=convention)


class Base(DeclarativeBase):
    metadata = metadata
