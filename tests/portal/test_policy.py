"""The cross-domain rule: a subscription's state → its instance's desired state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.models import SubscriptionState
from portal.policy import desired_instance_state
from provisioner.models import DesiredState

NOW = datetime(2027, 3, 1, 12, tzinfo=UTC)
GRACE = timedelta(days=7)

LIVE = {
    SubscriptionState.PENDING: DesiredState.ABSENT,
    SubscriptionState.TRIALING: DesiredState.RUNNING,
    SubscriptionState.ACTIVE: DesiredState.RUNNING,
    SubscriptionState.PAST_DUE: DesiredState.RUNNING,  # dunning still in progress
    SubscriptionState.SUSPENDED: DesiredState.STOPPED,
}


def test_every_state_is_covered() -> None:
    assert set(LIVE) | {SubscriptionState.CANCELLED} == set(SubscriptionState)


@pytest.mark.parametrize(("state", "expected"), LIVE.items())
def test_live_states(state: SubscriptionState, expected: DesiredState) -> None:
    assert desired_instance_state(state.value, None, NOW, GRACE) == expected
    # Not ended yet: an end in the future changes nothing.
    assert desired_instance_state(state.value, NOW + timedelta(days=1), NOW, GRACE) == expected


@pytest.mark.parametrize("state", list(SubscriptionState))
@pytest.mark.parametrize(
    ("ended", "expected"),
    [
        (NOW, DesiredState.STOPPED),  # just ended: kept stopped during the grace
        (NOW - GRACE + timedelta(seconds=1), DesiredState.STOPPED),
        (NOW - GRACE, DesiredState.ABSENT),  # grace over: removed
        (NOW - timedelta(days=400), DesiredState.ABSENT),
    ],
)
def test_an_end_that_has_come_wins_over_any_state(
    state: SubscriptionState, ended: datetime, expected: DesiredState
) -> None:
    assert desired_instance_state(state.value, ended, NOW, GRACE) == expected


def test_cancelled_without_an_end_date_is_absent() -> None:
    assert desired_instance_state("cancelled", None, NOW, GRACE) == DesiredState.ABSENT


def test_zero_grace_removes_at_once() -> None:
    assert desired_instance_state("cancelled", NOW, NOW, timedelta(0)) == DesiredState.ABSENT


def test_the_answer_compares_as_the_instance_column_stores_it() -> None:
    assert desired_instance_state("active", None, NOW, GRACE) == "running"
    assert desired_instance_state("suspended", None, NOW, GRACE) == "stopped"
    assert desired_instance_state("cancelled", None, NOW, GRACE) == "absent"


def test_an_unknown_state_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match="'frozen'"):
        desired_instance_state("frozen", None, NOW, GRACE)


@given(
    state=st.sampled_from(list(SubscriptionState)),
    ended_offset=st.none() | st.integers(-(10**7), 10**7),
    grace_seconds=st.integers(0, 10**7),
)
def test_monotone_in_time(
    state: SubscriptionState, ended_offset: int | None, grace_seconds: int
) -> None:
    """As time passes an instance never comes back: running → stopped → absent only."""
    order = [DesiredState.RUNNING, DesiredState.STOPPED, DesiredState.ABSENT]
    ended = None if ended_offset is None else NOW + timedelta(seconds=ended_offset)
    grace = timedelta(seconds=grace_seconds)
    earlier = desired_instance_state(state.value, ended, NOW, grace)
    later = desired_instance_state(state.value, ended, NOW + timedelta(days=30), grace)
    if state is not SubscriptionState.PENDING:
        assert order.index(later) >= order.index(earlier)
    if ended is not None and ended + grace <= NOW:
        assert earlier is DesiredState.ABSENT
