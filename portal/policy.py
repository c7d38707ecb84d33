"""The rule that spans billing and provisioning: what a subscription means for its instance.

billing and provisioner never import each other; the portal, which composes them, owns
this one rule and nothing else decides it:

    active, trialing, past_due  →  running   (dunning still in progress: keep serving)
    suspended                   →  stopped   (kept, not running; resumed when lifted)
    pending                     →  absent    (nothing paid for yet)
    cancelled / ended           →  stopped within ``grace`` of the end, then absent
"""

from __future__ import annotations

from datetime import datetime, timedelta

from billing import SubscriptionState
from provisioner import DesiredState

_RUNNING = frozenset(
    {SubscriptionState.ACTIVE, SubscriptionState.TRIALING, SubscriptionState.PAST_DUE}
)


def desired_instance_state(
    subscription_state: str, ended_at: datetime | None, now: datetime, grace: timedelta
) -> DesiredState:
    """The state an instance should be in for its subscription's state at ``now``.

    An ``ended_at`` that has come counts as ended whatever the state says (the state may
    lag behind, e.g. until the next roll). An ended subscription's instance is stopped
    during ``grace`` (so a mistaken end can be undone without losing anything), then
    absent. Raises ValueError for a state billing does not define.
    """
    state = SubscriptionState(subscription_state)
    if (ended_at is not None and ended_at <= now) or state is SubscriptionState.CANCELLED:
        if ended_at is not None and now < ended_at + grace:
            return DesiredState.STOPPED
        return DesiredState.ABSENT
    if state in _RUNNING:
        return DesiredState.RUNNING
    if state is SubscriptionState.SUSPENDED:
        return DesiredState.STOPPED
    return DesiredState.ABSENT  # pending
