"""The pure decision: what to do about one instance given what the engine shows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from provisioner.backends.base import Health, RunState, Workload
from provisioner.drift import Action, current_and_stale, decide
from provisioner.models import DesiredState
from provisioner.reconciler import parse_engine_time


def workload(state: RunState = RunState.RUNNING, revision: int = 1) -> Workload:
    return Workload(
        id=f"c{revision}", name=f"dockyard-i1-r{revision}", instance_id="i1",
        customer_ref="acme", revision=revision, image="dockyard-demo:1", state=state,
        health=Health.HEALTHY, host_port=32768, created_at="2026-11-21T20:00:00Z",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("desired", "seen", "expected"),
    [
        (DesiredState.RUNNING, None, Action.CREATE),
        (DesiredState.RUNNING, RunState.STOPPED, Action.START),
        (DesiredState.RUNNING, RunState.FAILED, Action.START),
        (DesiredState.RUNNING, RunState.RUNNING, Action.OBSERVE),
        (DesiredState.STOPPED, RunState.RUNNING, Action.STOP),
        (DesiredState.STOPPED, RunState.STOPPED, Action.OBSERVE),
        (DesiredState.STOPPED, None, Action.OBSERVE),
        (DesiredState.ABSENT, RunState.RUNNING, Action.REMOVE),
        (DesiredState.ABSENT, RunState.STOPPED, Action.REMOVE),
        (DesiredState.ABSENT, None, Action.OBSERVE),
    ],
)
def test_decide(desired: DesiredState, seen: RunState | None, expected: Action) -> None:
    assert decide(desired, workload(seen) if seen else None) is expected


def test_leftover_revisions_are_stale() -> None:
    old, current, aborted = workload(revision=1), workload(revision=2), workload(revision=3)

    found, stale = current_and_stale([old, current, aborted], revision=2)

    assert found is current
    assert stale == [old, aborted]


def test_no_current_revision() -> None:
    found, stale = current_and_stale([workload(revision=1)], revision=2)

    assert found is None
    assert [w.revision for w in stale] == [1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-21T20:45:19.123456789Z", datetime(2026, 11, 21, 20, 45, 19, 123456, tzinfo=UTC)),
        ("2026-11-21T20:45:19Z", datetime(2026, 11, 21, 20, 45, 19, tzinfo=UTC)),
        ("1763757919", datetime(2025, 11, 21, 20, 45, 19, tzinfo=UTC)),
    ],
)
def test_engine_timestamps(text: str, expected: datetime) -> None:
    assert parse_engine_time(text) == expected


def test_unreadable_engine_timestamp() -> None:
    with pytest.raises(ValueError, match="unreadable engine timestamp"):
        parse_engine_time("yesterday")
