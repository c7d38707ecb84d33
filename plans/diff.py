"""What changed between two catalogs, and whether existing customers feel it."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from plans.catalog import Catalog
from plans.model import Plan

# Fields that change how a plan is offered to new customers, not what holders get.
PRESENTATION_FIELDS = ("name", "description", "features", "visibility", "availability")
UPDATE_FIELDS = ("application.image.version",)


class ChangeKind(enum.StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    old: object
    new: object


@dataclass(frozen=True, slots=True)
class Change:
    kind: ChangeKind
    plan_id: str
    version: int
    affects_existing: bool
    impact: str
    fields: tuple[FieldChange, ...] = ()


def diff_catalogs(old: Catalog, new: Catalog) -> list[Change]:
    old_plans = {plan.key: plan for plan in old}
    new_plans = {plan.key: plan for plan in new}
    changes = []
    for key in sorted(old_plans.keys() | new_plans.keys()):
        before, after = old_plans.get(key), new_plans.get(key)
        if before is None and after is not None:
            changes.append(_added(after, old))
        elif after is None and before is not None:
            changes.append(_removed(before))
        elif before is not None and after is not None and before != after:
            changes.append(_changed(before, after))
    return changes


def _added(plan: Plan, old: Catalog) -> Change:
    if plan.id not in old:
        impact = "new plan: no existing customers"
        return Change(ChangeKind.ADDED, plan.id, plan.version, False, impact)
    if plan.migrate_existing_from is not None:
        impact = (
            f"customers on earlier versions move to version {plan.version} "
            f"from {plan.migrate_existing_from}"
        )
        return Change(ChangeKind.ADDED, plan.id, plan.version, True, impact)
    impact = "new version for new customers; existing customers keep theirs (grandfathered)"
    return Change(ChangeKind.ADDED, plan.id, plan.version, False, impact)


def _removed(plan: Plan) -> Change:
    impact = (
        "customers holding this version lose its definition; keep it in the catalog and "
        "close it with available.until instead"
    )
    return Change(ChangeKind.REMOVED, plan.id, plan.version, True, impact)


def _changed(before: Plan, after: Plan) -> Change:
    old_fields, new_fields = before.describe(), after.describe()
    fields = tuple(
        FieldChange(name, old_fields.get(name), new_fields.get(name))
        for name in sorted(old_fields.keys() | new_fields.keys())
        if old_fields.get(name) != new_fields.get(name)
    )
    names = {change.field for change in fields}
    material = {name for name in names if not name.startswith(PRESENTATION_FIELDS)}
    if not material:
        impact = "only how the plan is offered changed; existing customers are not affected"
        affected = False
    elif material <= set(UPDATE_FIELDS):
        impact = "existing instances are updated to the new application version (included)"
        affected = True
    else:
        impact = (
            f"existing customers on version {before.version} are affected at once "
            f"({', '.join(sorted(material))}); publish version {before.version + 1} instead "
            "to grandfather them"
        )
        affected = True
    return Change(ChangeKind.CHANGED, before.id, before.version, affected, impact, fields)
