"""One catalog file: ``plans:`` is a list of plan versions; ``x-*`` keys hold YAML anchors."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from plans import reader as r
from plans.model import (
    DEFAULT_BACKUPS,
    ApplicationHostingPlan,
    Availability,
    Interval,
    Plan,
    PlanKind,
    ServerHostingPlan,
    ServiceBilling,
    ServicePlan,
    SourceRef,
    SupportPlan,
    Visibility,
)
from plans.parse_backups import parse_backups
from plans.parse_hosting import parse_application, parse_maintenance, parse_resources, parse_server
from plans.parse_pricing import parse_pricing
from plans.parse_support import parse_coverage, parse_service_terms, parse_support_terms
from plans.yaml_source import Mapping, Value

PLAN_ID = r"[a-z][a-z0-9-]{1,62}"
COMMON_KEYS = (
    "id", "kind", "version", "name", "description", "features", "visibility", "available",
    "migrate_existing_from", "pricing",
)  # fmt: skip
KIND_KEYS = {
    PlanKind.SERVER_HOSTING: ("server", "resources", "backups"),
    PlanKind.APPLICATION_HOSTING: ("application", "resources", "maintenance", "backups"),
    PlanKind.SUPPORT: ("support", "coverage"),
    PlanKind.SERVICE: ("service",),
}
RECURRING = (Interval.MONTH, Interval.YEAR)


def parse_file(tree: Value | None, ctx: r.Context) -> list[Plan]:
    """Every valid plan in a file; problems with the rest go to ``ctx``."""
    if tree is None:
        return []  # empty file, or already reported as unreadable
    top = r.Field(ctx, tree, "")
    if not isinstance(tree, Mapping):
        top.fail("a catalog file is a mapping with a 'plans:' list")
        return []
    allowed = ["plans"] + [key.text for key, _ in tree.entries if key.text.startswith("x-")]
    section = r.Section(top, allowed)
    entries = section.field("plans")
    if entries is None:
        section.require("plans", r.boolean, "a catalog file lists its plans under 'plans:'")
        return []
    if not isinstance(entries.node, r.Sequence):
        entries.fail("expected a list of plans")
        return []
    plans = []
    starts: list[tuple[int, str]] = []
    for index, node in enumerate(entries.node.items):
        plan = parse_plan(r.Field(ctx, node, ""), index)
        starts.append((node.mark.line, ctx.plan or f"#{index + 1}"))
        ctx.plan = None
        if plan is not None:
            plans.append(plan)
    # Top-level keys written after the list are not part of its last plan.
    after = [key.mark.line for key, _ in tree.entries if key.mark.line > entries.node.mark.line]
    _attribute_to_plans(ctx, starts, min(after, default=None))
    return plans


def _attribute_to_plans(ctx: r.Context, starts: list[tuple[int, str]], end: int | None) -> None:
    """Problems found while reading the raw YAML (duplicate keys, tags) get their plan."""
    for position, problem in enumerate(ctx.problems):
        if problem.plan is not None or (end is not None and problem.line >= end):
            continue
        owners = [label for line, label in starts if line <= problem.line]
        if owners:
            ctx.problems[position] = replace(problem, plan=owners[-1])


def parse_plan(where: r.Field, index: int) -> Plan | None:
    ctx = where.ctx
    ctx.plan = f"#{index + 1}"
    plan_id = _peek(where, "id", r.text(PLAN_ID, "a lower-case id such as app-starter"))
    ctx.plan = plan_id or f"#{index + 1}"
    kind = _peek(where, "kind", r.choice(PlanKind))
    if kind is None:
        r.Section(where, (*COMMON_KEYS, *(k for keys in KIND_KEYS.values() for k in keys)))
        return None
    section = r.Section(where, (*COMMON_KEYS, *KIND_KEYS[kind]), _misplaced(kind))
    return _build(section, kind, where, plan_id)


def _build(section: r.Section, kind: PlanKind, where: r.Field, plan_id: str | None) -> Plan | None:
    if not section.has("id"):  # a present but invalid id was reported by _peek
        section.require("id", r.text(PLAN_ID))
    common: dict[str, Any] = {
        "id": plan_id,
        "version": section.require("version", r.integer(1, 10_000)),
        "name": section.require("name", r.text(description="a name customers read")),
        "description": section.optional("description", r.text(), ""),
        "features": section.optional("features", r.sequence(r.text()), ()),
        "visibility": section.optional("visibility", r.choice(Visibility), Visibility.PUBLIC),
        "availability": section.optional("available", _availability, Availability()),
        "migrate_existing_from": section.optional("migrate_existing_from", r.day, None),
    }
    specific = _kind_fields(section, kind)
    if specific is None or any(
        value is None for key, value in common.items() if key != "migrate_existing_from"
    ):
        return None
    if common["migrate_existing_from"] is not None and common["version"] == 1:
        moved = section.field("migrate_existing_from")
        assert moved is not None
        moved.fail("version 1 has no earlier version whose customers could move to it")
        return None
    source = SourceRef(where.ctx.file, where.node.mark.line, where.node.mark.column)
    cls = _CLASSES[kind]
    return cls(**common, **specific, source=source)


def _kind_fields(section: r.Section, kind: PlanKind) -> dict[str, Any] | None:
    currency = _currency_of(section)
    fields: dict[str, Any]
    if kind is PlanKind.SERVICE:
        terms = section.require("service", parse_service_terms)
        intervals: tuple[Interval, ...] = (
            (Interval.HOUR, Interval.ONCE)  # terms unreadable: billing unknown, don't guess
            if terms is None
            else (Interval.HOUR,)
            if terms.billing is ServiceBilling.PER_HOUR
            else (Interval.ONCE,)
        )
        fields = {"terms": terms}
    else:
        intervals = RECURRING
        fields = {}
    fields["pricing"] = section.require("pricing", lambda f: parse_pricing(f, intervals))
    if kind is PlanKind.SERVER_HOSTING:
        fields["server"] = section.require("server", parse_server)
        fields["resources"] = section.require("resources", parse_resources)
        fields["backups"] = section.optional("backups", parse_backups, DEFAULT_BACKUPS)
    elif kind is PlanKind.APPLICATION_HOSTING:
        fields["application"] = section.require("application", parse_application)
        fields["resources"] = section.require("resources", parse_resources)
        fields["maintenance"] = section.require(
            "maintenance", parse_maintenance, "maintenance is included: say when it happens"
        )
        fields["backups"] = section.optional("backups", parse_backups, DEFAULT_BACKUPS)
    elif kind is PlanKind.SUPPORT:
        fields["terms"] = section.require("support", lambda f: parse_support_terms(f, currency))
        fields["coverage"] = section.require("coverage", parse_coverage)
    return None if any(value is None for value in fields.values()) else fields


def _currency_of(section: r.Section) -> str | None:
    """The plan's currency, for amounts outside ``pricing`` (reported there if wrong)."""
    pricing = section.field("pricing")
    if pricing is None or not isinstance(pricing.node, Mapping):
        return None
    for key, value in pricing.node.entries:
        if key.text == "currency":
            return r.currency(r.Field(r.Context("<peek>"), value, ""))
    return None


def _availability(where: r.Field) -> Availability | None:
    section = r.Section(where, ("from", "until"))
    starts = section.optional("from", r.day, None)
    ends = section.optional("until", r.day, None)
    if starts and ends and ends <= starts:
        until = section.field("until")
        assert until is not None
        until.fail(f"{ends} is not after 'from' ({starts}); the window would be empty")
        return None
    if (section.has("from") and starts is None) or (section.has("until") and ends is None):
        return None
    return Availability(starts, ends)


def _peek(where: r.Field, key: str, parse: r.Parser[Any]) -> Any:
    """Read one key before the plan's full key set is known (id and kind decide it)."""
    if not isinstance(where.node, Mapping):
        return None
    for name, value in where.node.entries:
        if name.text == key:
            return parse(where.child(value, key))
    if key == "kind":
        kinds = ", ".join(kind.value for kind in PlanKind)
        where.ctx.report(where.node, key, f"required field is missing; allowed: {kinds}")
    return None


def _misplaced(kind: PlanKind) -> dict[str, str]:
    owners: dict[str, list[str]] = {}
    for other, keys in KIND_KEYS.items():
        for key in keys:
            if key not in KIND_KEYS[kind]:
                owners.setdefault(key, []).append(other.value)
    return {
        key: f"only {' and '.join(kinds)} plans have '{key}'; this plan is {kind.value}"
        for key, kinds in owners.items()
    }


_CLASSES: dict[PlanKind, type[Plan]] = {
    PlanKind.SERVER_HOSTING: ServerHostingPlan,
    PlanKind.APPLICATION_HOSTING: ApplicationHostingPlan,
    PlanKind.SUPPORT: SupportPlan,
    PlanKind.SERVICE: ServicePlan,
}
