"""Errors raised by the catalog.

CatalogError                 base of everything this package raises
├── CatalogInvalid           the YAML broke one or more rules; carries every Problem
├── UnknownPlan              asked for a plan id or version the catalog does not hold
└── PlanUnavailable          the plan exists but no version of it is open on that day
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One thing wrong in a catalog file, located to the character."""

    file: str
    line: int
    column: int
    plan: str | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}: "
        plan = f"plan {self.plan!r}: " if self.plan else ""
        field = f"{self.field}: " if self.field else ""
        return f"{where}{plan}{field}{self.message}"


class CatalogError(Exception):
    """Base class for catalog errors."""


class CatalogInvalid(CatalogError):
    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(sorted(problems))
        count = len(self.problems)
        summary = f"{count} problem{'s' if count != 1 else ''} in the catalog"
        super().__init__("\n".join([summary, *map(str, self.problems)]))


class UnknownPlan(CatalogError, LookupError):
    def __init__(self, plan_id: str, version: int | None = None) -> None:
        self.plan_id = plan_id
        self.version = version
        what = f"plan {plan_id!r}" + (f" version {version}" if version is not None else "")
        super().__init__(f"{what} is not in the catalog")


class PlanUnavailable(CatalogError):
    def __init__(self, plan_id: str, on: object) -> None:
        self.plan_id = plan_id
        super().__init__(f"plan {plan_id!r} has no version available on {on}")
