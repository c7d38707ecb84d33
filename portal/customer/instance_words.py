"""What happened to an instance, in its owner's words.

The event log is written for operators: image tags, revisions, CLI commands, the
engine's own errors. A customer reads the same history told for them: what changed for
their service and whether they need to do anything. Events that are the provider's own
housekeeping (a leftover revision removed) are not shown to them at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from provisioner import (
    DesiredState,
    Instance,
    InstanceEvent,
    InstanceState,
    SuspensionReason,
    UpdateStatus,
)

# (desired, actual) pairs where nothing more is going to happen by itself: a page showing
# anything else refreshes itself.
SETTLED = {
    (DesiredState.RUNNING.value, InstanceState.RUNNING.value),
    (DesiredState.STOPPED.value, InstanceState.STOPPED.value),
    (DesiredState.ABSENT.value, InstanceState.TERMINATED.value),
    (DesiredState.ABSENT.value, InstanceState.PURGED.value),
}

_WORDS: dict[str, str | None] = {
    "created": "Ordered.",
    "running": "Up and running.",
    "update_started": "An update started.",
    "update_succeeded": "Updated. Your data stayed where it was.",
    "update_failed": (
        "An update could not be applied; the version you had kept running. "
        "We are looking into it: nothing for you to do."
    ),
    "update_deferred": "An update waits: it is applied when your instance next starts.",
    "plan_changed": "Moved to your new plan's resources.",
    "backup_taken": "Your data was backed up.",
    "backup_failed": "A backup of your data failed; we are told, and the next one is due soon.",
    "restored": "Your data was restored from a backup.",
    "restore_failed": "Restoring your data did not finish; we are told and are looking into it.",
    "restarted": "Restarted.",
    "repaired": "Restarted after a problem; nothing for you to do.",
    "recovered": "Running again after a problem; nothing for you to do.",
    "failed": "Starting it failed; we keep trying and are told when it fails.",
    "resumed": "Resumed.",
    "resume_refused": "Payment received; it stays suspended by our team: please contact support.",
    "terminating": "Ending.",
    "purged": "Its data was removed at the end of the retention period.",
    "cleaned": None,  # the provider's housekeeping
}
_KEPT_UNTIL = re.compile(r"data kept until (\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True, slots=True)
class CustomerEvent:
    at: datetime
    text: str


def _suspended(event: InstanceEvent) -> str:
    # Billing suspends as "billing" (portal.fleet_sync); anyone else is our team.
    if event.actor == SuspensionReason.BILLING.value:
        return "Suspended: a payment is overdue. Paying the open invoice resumes it."
    return "Suspended by our team. Please contact support to know why."


def customer_event(event: InstanceEvent) -> CustomerEvent | None:
    """The event as its owner reads it; None for the provider's housekeeping."""
    if event.kind == "suspended":
        return CustomerEvent(event.at, _suspended(event))
    if event.kind == "terminated":
        kept = _KEPT_UNTIL.search(event.message)
        until = f" Your data is kept until {kept.group(1)}." if kept else ""
        return CustomerEvent(event.at, f"Ended.{until}")
    text = _WORDS.get(event.kind, "")
    if text is None:
        return None
    return CustomerEvent(event.at, text or event.kind.replace("_", " ").capitalize() + ".")


def customer_events(events: list[InstanceEvent]) -> list[CustomerEvent]:
    """Newest first, without housekeeping."""
    told = (customer_event(event) for event in reversed(events))
    return [event for event in told if event is not None]


def status_words(instance: Instance) -> str | None:
    """Why the instance is as it is, for its owner (the operator's reason stays theirs)."""
    if instance.suspension_reason == SuspensionReason.BILLING.value:
        return "Suspended: a payment is overdue. Paying the open invoice resumes it."
    if instance.suspension_reason == SuspensionReason.MANUAL.value:
        return "Suspended by our team. Please contact support to know why."
    if instance.state == "failed":
        return "Starting it failed; we keep trying and are told when it fails."
    if instance.update_status == UpdateStatus.FAILED.value:
        return "The last update could not be applied; the version you had keeps running."
    return None


def settled(instance: Instance) -> bool:
    """Whether the instance reached its desired state (so a page may stop refreshing)."""
    return (instance.desired_state, instance.state) in SETTLED
