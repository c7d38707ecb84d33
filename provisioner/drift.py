"""What to do about one instance, given what it should be and what the engine shows.

Pure: no engine, no database. The reconciler executes the answer.
"""

from __future__ import annotations

import enum

from provisioner.backends.base import RunState, Workload
from provisioner.models import DesiredState


class Action(enum.StrEnum):
    CREATE = "create"  # missing: create (or re-create) the current revision
    START = "start"  # exists but does not run
    STOP = "stop"  # runs but should be suspended
    REMOVE = "remove"  # terminated: remove the workload, keep the data
    OBSERVE = "observe"  # as it should be: record port and health


def decide(desired: DesiredState, current: Workload | None) -> Action:
    if desired is DesiredState.ABSENT:
        return Action.REMOVE if current is not None else Action.OBSERVE
    if desired is DesiredState.STOPPED:
        running = current is not None and current.state is RunState.RUNNING
        return Action.STOP if running else Action.OBSERVE
    if current is None:
        return Action.CREATE
    if current.state is not RunState.RUNNING:
        return Action.START
    return Action.OBSERVE


def current_and_stale(
    workloads: list[Workload], revision: int
) -> tuple[Workload | None, list[Workload]]:
    """Split an instance's workloads into its current revision and leftovers.

    Leftovers are old revisions an interrupted update did not remove, or a new revision
    whose update died with its worker; either way nothing serves from them.
    """
    current = next((workload for workload in workloads if workload.revision == revision), None)
    return current, [workload for workload in workloads if workload is not current]
