"""Errors the portal itself raises (the domains keep theirs: billing.errors,
provisioner.errors, plans.errors). One base, so the web layer answers them in one place.

PortalError
├── InvalidRollout  a rollout request refused field by field (also ValueError: 400)
├── MissingReason   a suspension without a reason (also ValueError: 400)
├── UnknownRollout  no such rollout (also LookupError: 404)
├── RolloutRefused  one runs already for that plan (409)
└── PlanChangeHeld  an instance's plan change waits for an operator after a failed one
"""

from __future__ import annotations


class PortalError(Exception):
    """Base class for the portal's own errors."""


class InvalidRollout(PortalError, ValueError):
    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{name}: {problem}" for name, problem in problems.items()))


class MissingReason(PortalError, ValueError):
    def __init__(self) -> None:
        super().__init__("reason: say why the subscription is suspended")


class UnknownRollout(PortalError, LookupError):
    def __init__(self, rollout_id: str) -> None:
        super().__init__(f"no rollout {rollout_id!r} (finished ones are kept until a restart)")


class RolloutRefused(PortalError):
    """A rollout that cannot start now; the message says why."""


class PlanChangeHeld(PortalError):
    def __init__(self, instance_id: str, plan_id: str, version: int, why: str | None) -> None:
        super().__init__(
            f"instance {instance_id} should move to {plan_id} v{version}, but its last update "
            f"failed ({why or 'no detail'}): retry it by hand once the cause is fixed"
        )
