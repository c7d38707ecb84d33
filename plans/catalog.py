"""The immutable catalog: every plan version, and the rules for which one applies."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

from plans.errors import PlanUnavailable, UnknownPlan
from plans.model import Plan, PlanKind, Visibility


@dataclass(frozen=True, slots=True)
class Catalog:
    plans: tuple[Plan, ...]
    _by_id: MappingProxyType[str, tuple[Plan, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(
            sorted(
                self.plans,
                key=lambda plan: (list(PlanKind).index(plan.kind), plan.id, plan.version),
            )
        )
        grouped: dict[str, list[Plan]] = {}
        for plan in ordered:
            grouped.setdefault(plan.id, []).append(plan)
        object.__setattr__(self, "plans", ordered)
        object.__setattr__(
            self, "_by_id", MappingProxyType({key: tuple(group) for key, group in grouped.items()})
        )

    def __iter__(self) -> Iterator[Plan]:
        return iter(self.plans)

    def __len__(self) -> int:
        return len(self.plans)

    def __contains__(self, plan_id: object) -> bool:
        return plan_id in self._by_id

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._by_id)

    def versions(self, plan_id: str) -> tuple[Plan, ...]:
        try:
            return self._by_id[plan_id]
        except KeyError:
            raise UnknownPlan(plan_id) from None

    def get(self, plan_id: str, version: int | None = None) -> Plan:
        """A plan version; without ``version``, the newest one."""
        versions = self.versions(plan_id)
        if version is None:
            return versions[-1]
        for plan in versions:
            if plan.version == version:
                return plan
        raise UnknownPlan(plan_id, version)

    def current(self, plan_id: str, on: date) -> Plan:
        """The newest version of a plan open on ``on``, hidden or not (operators assign those)."""
        open_versions = [plan for plan in self.versions(plan_id) if plan.availability.is_open(on)]
        if not open_versions:
            raise PlanUnavailable(plan_id, on)
        return open_versions[-1]

    def offered(self, on: date, kind: PlanKind | None = None) -> tuple[Plan, ...]:
        """What a new customer can buy on ``on``: the newest open public version of each plan."""
        offered = []
        for versions in self._by_id.values():
            open_versions = [plan for plan in versions if plan.availability.is_open(on)]
            if not open_versions:
                continue
            newest = open_versions[-1]
            if newest.visibility is Visibility.PUBLIC and (kind is None or newest.kind is kind):
                offered.append(newest)
        return tuple(offered)

    def version_for_holder(self, plan_id: str, held_version: int, on: date) -> Plan:
        """The version a customer who bought ``held_version`` is on at ``on``.

        Customers keep what they bought (grandfathering) unless a newer version says
        existing customers move to it from a date that has come.
        """
        current = self.get(plan_id, held_version)
        for plan in self.versions(plan_id):
            moves = plan.migrate_existing_from
            if plan.version > current.version and moves is not None and moves <= on:
                current = plan
        return current
